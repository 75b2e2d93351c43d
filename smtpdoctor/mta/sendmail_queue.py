"""Sendmail queue: `mailq` listing to QueuedMessage. Pure parsing plus a thin reader.

Format (sendmail 8.x mailq): a header per message `QID SIZE DOW MON DD HH:MM <SENDER>`,
an optional `(reason)` line such as `(Deferred: Connection timed out with mx.example.)`,
then indented recipients; `Total requests: N` at the end.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.classify import domain_of, os_error_cause
from smtpdoctor.mta.model import Mta, QueuedMessage, QueuedRecipient, QueueSnapshot
from smtpdoctor.mta.runner import stream_lines

_HEADER = re.compile(
    r"^(?P<id>[0-9A-Za-z]{8,20})[*X-]?\s+(?P<size>\d+)\s+"
    r"(?P<when>\w{3} \w{3}\s+\d+ \d\d:\d\d)\s+<(?P<sender>[^>]*)>"
)
_REASON = re.compile(r"^\s+\((?P<reason>.*)\)\s*$")
_WITH = re.compile(r" with (?P<host>[\w.-]+)")


def classify_sendmail_reason(reason: str) -> tuple[CauseCode | None, str]:
    """Cause and relay host for a sendmail `(Deferred: ...)` text."""
    cause = os_error_cause(reason)
    if cause is None and "host name lookup failure" in reason.lower():
        cause = CauseCode.DNS_TIMEOUT
    m = _WITH.search(reason)
    return cause, m.group("host") if m else ""


def parse_mailq(lines: Iterable[str], now: datetime) -> Iterator[QueuedMessage]:
    """Every message in sendmail's `mailq` output."""
    current: dict[str, str] | None = None
    recipients: list[QueuedRecipient] = []
    reason = ""

    def finish(fields: dict[str, str]) -> QueuedMessage:
        try:
            when = datetime.strptime(f"{now.year} {fields['when']}", "%Y %a %b %d %H:%M")
            arrival: datetime | None = when.replace(tzinfo=UTC)
        except ValueError:
            arrival = None
        return QueuedMessage(
            queue_id=fields["id"],
            queue_name="deferred" if reason else "queued",
            arrival=arrival,
            size=int(fields["size"]),
            sender=fields["sender"],
            recipients=tuple(recipients),
        )

    for line in lines:
        m = _HEADER.match(line)
        if m:
            if current is not None:
                yield finish(current)
            current, recipients, reason = m.groupdict(), [], ""
            continue
        if current is None or "Total requests" in line:
            continue
        rm = _REASON.match(line)
        if rm:
            reason = sys.intern(rm.group("reason"))
            continue
        address = line.strip().strip("<>")
        if "@" in address:
            cause, relay = classify_sendmail_reason(reason)
            recipients.append(
                QueuedRecipient(
                    address=address,
                    domain=sys.intern(domain_of(address)),
                    reason=reason,
                    cause=cause,
                    relay=relay,
                )
            )
    if current is not None:
        yield finish(current)


def read_queue(binary: str, timeout: float = 60.0) -> QueueSnapshot:
    """The queue as sendmail's `mailq` lists it; ToolError if it cannot run."""
    now = datetime.now(UTC)
    messages = tuple(parse_mailq(stream_lines([binary], timeout), now))
    return QueueSnapshot(mta=Mta.SENDMAIL, taken_at=now, messages=messages, source=binary)
