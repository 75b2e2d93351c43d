"""Sans-IO SMTP reply parsing (RFC 5321 section 4.2): bytes in, replies out.

No sockets and no clocks. Memory is bounded: a line longer than ``max_line`` or a
reply with more than ``max_lines`` lines is a protocol violation, raised as soon as
the limit is crossed, so a hostile server cannot make the buffer grow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 5321 4.5.3.1.5 allows 512 octets per reply line; servers in the wild exceed it
# a little (long EHLO keywords), so accept four times that before calling it hostile.
DEFAULT_MAX_LINE = 2048
DEFAULT_MAX_LINES = 256

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)")


class ProtocolViolation(ValueError):
    """The server sent something that is not an SMTP reply."""


@dataclass(frozen=True)
class Reply:
    """One complete (possibly multi-line) SMTP reply."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """All lines' text joined by newlines."""
        return "\n".join(self.lines)

    @property
    def first_line(self) -> str:
        """The first line's text."""
        return self.lines[0] if self.lines else ""

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 enhanced status code of the first line, e.g. '4.7.1'."""
        match = _ENHANCED.match(self.first_line)
        if match is None or int(match.group(1)) != self.code // 100:
            return None
        return f"{match.group(1)}.{match.group(2)}.{match.group(3)}"

    @property
    def is_positive(self) -> bool:
        """2xx or 3xx."""
        return 200 <= self.code < 400

    @property
    def is_transient(self) -> bool:
        """4xx: try again later."""
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        """5xx: do not try again."""
        return self.code >= 500

    def wire_lines(self) -> list[str]:
        """The reply as the server wrote it, one string per line, without CRLF."""
        out = []
        for index, line in enumerate(self.lines):
            sep = " " if index == len(self.lines) - 1 else "-"
            out.append(f"{self.code}{sep}{line}" if line else f"{self.code}{sep}".rstrip())
        return out

    def encode(self) -> bytes:
        """The reply as bytes on the wire (used by tests and the lab servers)."""
        return b"".join(line.encode("utf-8") + b"\r\n" for line in self.wire_lines())

    def __str__(self) -> str:
        return " / ".join(self.wire_lines())


class ReplyParser:
    """Turns a byte stream into Reply objects.

    Feed bytes with ``receive``; take replies with ``next_reply`` until it returns
    None. After a ProtocolViolation the parser is dead: every later call raises it.
    """

    def __init__(self, max_line: int = DEFAULT_MAX_LINE, max_lines: int = DEFAULT_MAX_LINES):
        self._max_line = max_line
        self._max_lines = max_lines
        self._buffer = bytearray()
        self._pending_code: int | None = None
        self._pending_lines: list[str] = []
        self._ready: list[Reply] = []
        self._error: ProtocolViolation | None = None
        self.bare_lf_seen = False

    @property
    def buffered(self) -> int:
        """Bytes held that do not yet form a complete line."""
        return len(self._buffer)

    @property
    def in_reply(self) -> bool:
        """True while a multi-line reply has started but not finished."""
        return self._pending_code is not None or bool(self._buffer)

    def receive(self, data: bytes) -> None:
        """Feed bytes from the server."""
        if self._error is not None:
            raise self._error
        self._buffer += data
        try:
            self._consume_lines()
        except ProtocolViolation as exc:
            self._error = exc
            self._buffer.clear()
            raise

    def next_reply(self) -> Reply | None:
        """The next complete reply, or None if more bytes are needed."""
        if self._ready:
            return self._ready.pop(0)
        if self._error is not None:
            raise self._error
        return None

    def _consume_lines(self) -> None:
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                if len(self._buffer) > self._max_line:
                    raise ProtocolViolation(
                        f"reply line longer than {self._max_line} bytes without an end"
                    )
                return
            raw = bytes(self._buffer[: newline + 1])
            del self._buffer[: newline + 1]
            if len(raw) > self._max_line + 2:
                raise ProtocolViolation(f"reply line longer than {self._max_line} bytes")
            if raw.endswith(b"\r\n"):
                line = raw[:-2]
            else:
                self.bare_lf_seen = True
                line = raw[:-1]
            self._take_line(line)

    def _take_line(self, line: bytes) -> None:
        if len(line) < 3 or not line[:3].isdigit():
            raise ProtocolViolation(f"not an SMTP reply line: {_preview(line)}")
        code = int(line[:3])
        if not 200 <= code <= 599:
            raise ProtocolViolation(f"reply code {code} out of range: {_preview(line)}")
        if len(line) > 3 and line[3:4] not in (b" ", b"-"):
            raise ProtocolViolation(f"bad separator after reply code: {_preview(line)}")
        more = line[3:4] == b"-"
        text = line[4:].decode("utf-8", errors="replace")
        if self._pending_code is not None and code != self._pending_code:
            raise ProtocolViolation(
                f"reply code changed from {self._pending_code} to {code} inside one reply"
            )
        self._pending_code = code
        self._pending_lines.append(text)
        if len(self._pending_lines) > self._max_lines:
            raise ProtocolViolation(f"reply with more than {self._max_lines} lines")
        if not more:
            self._ready.append(Reply(code, tuple(self._pending_lines)))
            self._pending_code = None
            self._pending_lines = []


def _preview(line: bytes, limit: int = 60) -> str:
    text = line[:limit].decode("utf-8", errors="replace")
    return repr(text + ("..." if len(line) > limit else ""))
