"""The phases of an SMTP transaction, in order: one vocabulary for probes, logs and queues."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """One step of sending mail, in the order a client walks them."""

    RESOLVE = "resolve"
    CONNECT = "connect"
    TLS = "tls"  # implicit TLS (port 465): the handshake right after connect
    GREETING = "greeting"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    BODY = "body"
    EOD = "eod"
    QUIT = "quit"

    @property
    def order(self) -> int:
        """Position of the phase in a transaction (resolve is 0)."""
        return list(Phase).index(self)


PHASE_DESCRIPTIONS: dict[Phase, str] = {
    Phase.RESOLVE: "resolving the name to addresses",
    Phase.CONNECT: "opening the TCP connection",
    Phase.TLS: "the implicit TLS handshake (port 465)",
    Phase.GREETING: "waiting for the 220 greeting",
    Phase.EHLO: "EHLO / HELO",
    Phase.STARTTLS: "STARTTLS and its TLS handshake",
    Phase.AUTH: "AUTH",
    Phase.MAIL: "MAIL FROM",
    Phase.RCPT: "RCPT TO",
    Phase.DATA: "the DATA command",
    Phase.BODY: "sending the message body",
    Phase.EOD: "waiting for the reply to the end of data",
    Phase.QUIT: "QUIT",
}
