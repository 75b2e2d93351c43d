"""The ambiguous end of data: messages a relay may have received twice, counted per relay.

When a relay accepts DATA and the body but never answers the final dot, the client
cannot know whether the relay took the message (RFC 1047). Postfix defers it and says
so ("timed out while sending end of data -- message may be sent more than once"); Exim
logs "SMTP timeout after end of data". The retry goes out again (through the backup,
when failover moved the route): at-least-once delivery. These lines are counted per
relay from the MTA's log, read incrementally from a remembered offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AmbiguousCounter", "match_relay"]

_POSTFIX = re.compile(
    r"(?:conversation with|relay=)\s*(?P<host>[^\s\[]*)"
    r"\[(?P<addr>[0-9A-Fa-f:.]+)\](?::(?P<port>\d+))?"
    r".*end of data -- message may be sent more than once"
)
_EXIM = re.compile(
    r"\[(?P<addr>[0-9A-Fa-f:.]+)\](?::(?P<port>\d+))?.*SMTP timeout after end of data"
)


def match_relay(line: str, addresses: Mapping[str, str]) -> str | None:
    """The relay name an ambiguous end-of-data log line is about, or None.

    `addresses` maps "host", "host:port" (host: a name or an address) of each relay to
    its name; the most specific match wins.
    """
    found = _POSTFIX.search(line) or _EXIM.search(line)
    if found is None:
        return None
    host = found.groupdict().get("host") or ""
    addr, port = found.group("addr"), found.group("port")
    for key in (f"{addr}:{port}", f"{host}:{port}", addr, host):
        if key in addresses:
            return addresses[key]
    return None


@dataclass
class AmbiguousCounter:
    """Counts per relay, reading only what was appended since the last call."""

    path: Path
    addresses: Mapping[str, str]
    offset: int = 0
    max_read: int = 16 * 1024 * 1024  # a huge backlog is read in slices, never at once

    def poll(self, counts: dict[str, int]) -> dict[str, int]:
        """Add new ambiguous lines to counts (returned); a rotated log restarts at 0."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return counts
        if size < self.offset:
            self.offset = 0
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read(self.max_read)
        end = chunk.rfind(b"\n")
        if end < 0:
            return counts
        self.offset += end + 1
        for relay in _relays(
            chunk[: end + 1].decode(errors="replace").splitlines(), self.addresses
        ):
            counts[relay] = counts.get(relay, 0) + 1
        return counts


def _relays(lines: Iterable[str], addresses: Mapping[str, str]) -> Iterable[str]:
    for line in lines:
        if "end of data" in line:
            relay = match_relay(line, addresses)
            if relay is not None:
                yield relay
