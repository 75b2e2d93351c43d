"""A well-behaved SMTP server for tests: aiosmtpd with STARTTLS and AUTH.

``GoodSMTP`` runs an aiosmtpd ``Controller`` on 127.0.0.1 on an ephemeral port,
offers STARTTLS with a trustme certificate and AUTH PLAIN/LOGIN for one known user
(only after TLS: ``auth_require_tls=True``), and keeps the messages it accepted.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

TEST_USER = "alice"
TEST_PASSWORD = "correct horse battery staple"


@dataclass
class Mailbox:
    """What the server accepted."""

    messages: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        """aiosmtpd hook: keep the message."""
        self.messages.append(envelope)
        return "250 2.0.0 Ok: queued"


class _Authenticator:
    def __init__(self, user: str, password: str) -> None:
        self._user = user.encode()
        self._password = password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self._user
            and auth_data.password == self._password
        )
        return AuthResult(success=ok, handled=False)


class _EphemeralController(Controller):
    """A Controller that binds port 0 and learns the port before its self-check."""

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        async def create() -> asyncio.AbstractServer:
            server = await self.loop.create_server(
                self._factory_invoker, host=self.hostname, port=0, ssl=self.ssl_context
            )
            self.port = server.sockets[0].getsockname()[1]
            return server

        return create()


class GoodSMTP:
    """aiosmtpd on loopback with STARTTLS and AUTH; ``start()``/``stop()``."""

    def __init__(
        self,
        tls: ssl.SSLContext,
        user: str = TEST_USER,
        password: str = TEST_PASSWORD,
        host: str = "127.0.0.1",
    ) -> None:
        self.mailbox = Mailbox()
        self.host = host
        self.controller = _EphemeralController(
            self.mailbox,
            hostname=host,
            port=0,
            tls_context=tls,
            require_starttls=False,
            authenticator=_Authenticator(user, password),
            auth_require_tls=True,
            server_hostname="goodsmtp.test",
            ready_timeout=10.0,
        )

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.controller.port)

    @property
    def target(self) -> str:
        """``host:port`` for the command line."""
        return f"{self.host}:{self.port}"

    def start(self) -> GoodSMTP:
        """Start serving in aiosmtpd's thread."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        self.controller.stop()


@contextmanager
def good_smtp(tls: ssl.SSLContext, **kwargs: Any) -> Iterator[GoodSMTP]:
    """A started GoodSMTP, stopped when the block ends."""
    server = GoodSMTP(tls, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()
