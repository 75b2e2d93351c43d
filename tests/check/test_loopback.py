"""Faults on this machine's own loopback (issue 10, point 4): the words and fixes follow
what loopback can and cannot do (no routers, no MTU, the host is up)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest

from tests.check.helpers import BadFactory, check
from tests.support.certs import CertSet


@pytest.fixture
def full_listener() -> Iterator[int]:
    """A port whose listener never accepts, with its accept queue filled up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.settimeout(0.3)
        with contextlib.suppress(OSError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_full_accept_queue_on_loopback_is_not_blamed_on_a_firewall(full_listener: int) -> None:
    run = check(f"127.0.0.1:{full_listener}", "--timeout", "connect=1", "--starttls", "never")
    assert run.codes == ["connect_timeout"]
    cause = run.cause("connect_timeout")
    assert cause["summary"] == (
        f"Connecting to 127.0.0.1:{full_listener} got no answer within 1 s. On loopback no "
        "router drops packets and the host is up: something listens on the port but does "
        "not accept connections (its accept queue is full: overloaded or stuck), or a "
        "firewall rule on lo drops them."
    )
    assert cause["fix"][0].startswith(f"`ss -ltn 'sport = :{full_listener}'`")
    assert not any("trace" in fix or "whoever runs" in fix for fix in cause["fix"])


def test_tls_stall_on_loopback_does_not_suspect_the_mtu(bad: BadFactory, certs: CertSet) -> None:
    server = bad("starttls-stall", cert="valid")
    run = check(server.target, "--cafile", str(certs.ca_pem), "--timeout", "starttls=1")
    cause = run.cause("tls_handshake_timeout")
    assert cause["fix"][0].startswith("The path is loopback, where no MTU problem exists")
    assert not any("MTU first" in fix for fix in cause["fix"])


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_nothing_on_ipv6_loopback_does_not_say_no_server_runs(bad: BadFactory) -> None:
    server = bad("normal")  # serves 127.0.0.1 only
    run = check(f"[::1]:{server.port}", "--starttls", "never")
    cause = run.cause("connect_refused")
    assert cause["summary"].startswith(f"Nothing listens on [::1]:{server.port} ")
    assert "No mail server is running" not in cause["summary"]
    assert cause["fix"][0].startswith(
        f"Check IPv4 loopback too: `smtpdoctor check 127.0.0.1:{server.port}`"
    )
