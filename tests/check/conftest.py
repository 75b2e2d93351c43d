"""Fixtures for the check tests: certificates, the misbehaving server, aiosmtpd."""

from __future__ import annotations

import socket
import ssl
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.check.helpers import BadFactory
from tests.support.badsmtp import BadConfig, BadSMTPServer
from tests.support.certs import CertSet, make_certs
from tests.support.netns import loopback_namespace
from tests.support.servers import GoodSMTP


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertSet:
    """The CA and the good and bad server certificates."""
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def bad(certs: CertSet) -> Iterator[BadFactory]:
    """Start badsmtp servers: ``bad("stall-after", after="MAIL", cert="valid")``.

    ``cert`` names a certificate from the CertSet (None: no TLS). Every server
    started is stopped at teardown, pass or fail.
    """
    started: list[BadSMTPServer] = []

    def start(
        mode: str = "normal", *, cert: str | None = None, host: str = "127.0.0.1", **kwargs: Any
    ) -> BadSMTPServer:
        tls: ssl.SSLContext | None = certs.server_context(cert) if cert else None
        server = BadSMTPServer(BadConfig(mode=mode, tls=tls, **kwargs), host=host)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def good(certs: CertSet) -> Iterator[GoodSMTP]:
    """aiosmtpd with STARTTLS (CA-signed certificate) and AUTH after TLS."""
    server = GoodSMTP(certs.server_context("valid")).start()
    yield server
    server.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def password_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write a password to a private file and return its path."""

    def write(secret: str) -> Path:
        path = tmp_path / f"pw-{uuid.uuid4().hex[:6]}"
        path.write_text(secret + "\n")
        path.chmod(0o600)
        return path

    return write


@pytest.fixture
def drop_namespace() -> Iterator[str]:
    """A network namespace where 192.0.2.10 is local but SYNs to its SMTP ports vanish.

    The address lives on the namespace's loopback and an nftables input rule drops
    TCP to ports 25, 465 and 587 silently (no RST, no ICMP). Deleted at teardown.
    """
    ruleset = (
        "table inet sdchk {\n chain in {\n  type filter hook input priority 0;\n"
        "  ip daddr 192.0.2.10 tcp dport { 25, 465, 587 } drop\n }\n}\n"
    )
    with loopback_namespace("sdchk-", ("192.0.2.10/24",), ruleset) as name:
        yield name
