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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["AmbiguousCounter", "match_relay", "sent_relay"]

_POSTFIX = re.compile(
    r"(?:conversation with|relay=)\s*(?P<host>[^\s\[]*)"
    r"\[(?P<addr>[0-9A-Fa-f:.]+)\](?::(?P<port>\d+))?"
    r".*end of data -- message may be sent more than once"
)
_SENT = re.compile(
    r"relay=(?P<host>[^\s\[,]*)\[(?P<addr>[0-9A-Fa-f:.]+)\](?::(?P<port>\d+))?,.*status=sent"
)
_EXIM = re.compile(
    r"\[(?P<addr>[0-9A-Fa-f:.]+)\](?::(?P<port>\d+))?.*SMTP timeout after end of data"
)


def match_relay(line: str, addresses: Mapping[str, str]) -> str | None:
    """The relay name an ambiguous end-of-data log line is about, or None.

    `addresses` maps "host", "host:port" (host: a name or an address) of each relay to
    its name; the most specific match wins.
    """
    return _lookup(_POSTFIX.search(line) or _EXIM.search(line), addresses)


def sent_relay(line: str, addresses: Mapping[str, str]) -> str | None:
    """The relay a Postfix "status=sent" delivery line went through, or None."""
    return _lookup(_SENT.search(line), addresses)


def _lookup(found: re.Match[str] | None, addresses: Mapping[str, str]) -> str | None:
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
    delivered: set[str] = field(default_factory=set)  # relays with a delivery in the last poll

    def poll(self, counts: dict[str, int]) -> dict[str, int]:
        """Add new ambiguous lines to counts (returned); a rotated log restarts at 0.

        Also notes in `delivered` the relays that completed a delivery since the last poll
        (what the stall watch needs).
        """
        self.delivered = set()
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
        for line in chunk[: end + 1].decode(errors="replace").splitlines():
            if "end of data" in line:
                relay = match_relay(line, self.addresses)
                if relay is not None:
                    counts[relay] = counts.get(relay, 0) + 1
            elif "status=sent" in line:
                relay = sent_relay(line, self.addresses)
                if relay is not None:
                    self.delivered.add(relay)
        return counts
