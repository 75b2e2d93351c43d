"""Sans-IO SMTP client state: matches replies to what was sent, in order (pipelining).

Every reply answers the oldest thing still waiting for one: the greeting first, then each
command, then the end of data. A reply when nothing is waiting (a server's 421 before it
hangs up, say) comes out as an explicit Unsolicited event instead of being mistaken for
the answer to the next command.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from smtpdoctor.proto.commands import Command
from smtpdoctor.proto.reply import Reply, ReplyParser

GREETING = "GREETING"
END_OF_DATA = "EOD"


@dataclass(frozen=True)
class ReplyEvent:
    """A reply to something the client sent (or to the connection: the greeting)."""

    answers: str  # GREETING, END_OF_DATA or the command verb
    reply: Reply


@dataclass(frozen=True)
class Unsolicited:
    """A reply that answers nothing the client is waiting for."""

    reply: Reply


Event = ReplyEvent | Unsolicited


class ClientProtocol:
    """The client's view of one SMTP session, with no IO."""

    def __init__(self, parser: ReplyParser | None = None, expect_greeting: bool = True):
        self._parser = parser or ReplyParser()
        self._waiting: deque[str] = deque([GREETING] if expect_greeting else [])

    @property
    def waiting(self) -> tuple[str, ...]:
        """What is still waiting for a reply, oldest first."""
        return tuple(self._waiting)

    @property
    def parser(self) -> ReplyParser:
        """The reply parser (for its flags, such as bare_lf_seen)."""
        return self._parser

    def send(self, command: Command) -> bytes:
        """Record that a command is sent; returns its bytes."""
        self._waiting.append(command.verb)
        return command.wire

    def send_pipelined(self, commands: list[Command]) -> bytes:
        """Several commands in one write (RFC 2920 PIPELINING)."""
        return b"".join(self.send(c) for c in commands)

    def send_message(self, body: bytes) -> bytes:
        """Record that message content ending in CRLF.CRLF is sent; returns it."""
        self._waiting.append(END_OF_DATA)
        return body

    def expect_continuation(self, label: str) -> None:
        """Wait for another reply with no command sent (e.g. a 334 challenge answer)."""
        self._waiting.append(label)

    def receive(self, data: bytes) -> None:
        """Feed bytes from the server (raises ProtocolViolation on garbage)."""
        self._parser.receive(data)

    def next_event(self) -> Event | None:
        """The next reply event, or None when more bytes are needed."""
        reply = self._parser.next_reply()
        if reply is None:
            return None
        if not self._waiting:
            return Unsolicited(reply)
        return ReplyEvent(self._waiting.popleft(), reply)
