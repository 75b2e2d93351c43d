"""Exim queue: `exim -bp` listing to QueuedMessage. Pure parsing plus a thin reader.

Format (Exim spec, chapter "The -bp option"): a header line per message,
`AGE SIZE ID <SENDER> [*** frozen ***]`, then one indented line per recipient,
`D ` in front of those already delivered, and a blank line between messages.
Exim does not list the deferral reason there; it is in the message log (`exim -Mvl ID`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from smtpdoctor.logs.classify import domain_of
from smtpdoctor.mta.model import Mta, QueuedMessage, QueuedRecipient, QueueSnapshot
from smtpdoctor.mta.runner import find_tool, stream_lines

_HEADER = re.compile(
    r"^\s*(?P<age>\d+[smhdw])\s+(?P<size>[\d.]+[KMG]?)\s+"
    r"(?P<id>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4})\s+<(?P<sender>[^>]*)>"
    r"(?P<frozen>\s+\*\*\* frozen \*\*\*)?"
)
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024 * 1024, "G": 1024**3}


def _size(text: str) -> int:
    unit = text[-1] if text[-1] in "KMG" else ""
    number = text[:-1] if unit else text
    return int(float(number) * _SIZE_UNITS[unit])


def parse_listing(lines: Iterable[str], now: datetime) -> Iterator[QueuedMessage]:
    """Every message in `exim -bp` output; ages are turned into arrival times from now."""
    header: re.Match[str] | None = None
    recipients: list[QueuedRecipient] = []

    def finish(m: re.Match[str]) -> QueuedMessage:
        age = m.group("age")
        seconds = int(age[:-1]) * _AGE_UNITS[age[-1]]
        return QueuedMessage(
            queue_id=m.group("id"),
            queue_name="frozen" if m.group("frozen") else "queued",
            arrival=now - timedelta(seconds=seconds),
            size=_size(m.group("size")),
            sender=m.group("sender"),
            recipients=tuple(recipients),
        )

    for line in lines:
        m = _HEADER.match(line)
        if m:
            if header is not None:
                yield finish(header)
            header, recipients = m, []
            continue
        text = line.strip()
        if header is None or not text:
            continue
        if text.startswith("D "):
            continue  # already delivered
        address = text[2:].strip() if text.startswith("+D ") else text
        recipients.append(QueuedRecipient(address=address, domain=sys.intern(domain_of(address))))
    if header is not None:
        yield finish(header)


def exim_binary(path: str | None = None) -> str | None:
    """exim or exim4 (Debian's name), from PATH."""
    return find_tool("exim4", path) or find_tool("exim", path)


def read_queue(
    binary: str, config_args: list[str] | None = None, timeout: float = 60.0
) -> QueueSnapshot:
    """The queue as `exim -bp` lists it; ToolError if it cannot run."""
    now = datetime.now(UTC)
    argv = [binary, *(config_args or []), "-bp"]
    messages = tuple(parse_listing(stream_lines(argv, timeout), now))
    return QueueSnapshot(mta=Mta.EXIM, taken_at=now, messages=messages, source=" ".join(argv))
