"""Sendmail's line for a message whose queue lifetime ran out (savemail.c writes
`QID: BOUNCEQID: sender notify: Cannot send message for 5 days`), read like Postfix's
qmgr `status=expired`: a retry_expired delivery event with status expired.

The lines are real: tests/data/logs/sendmail-ubuntu-forums.log 10-12 (the Ubuntu
Forums thread "Sendmail not sending"; sources in tests/data/README.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smtpdoctor.logs.api import analyze_lines
from smtpdoctor.logs.events import EventKind, Status
from smtpdoctor.logs.parser import parse_block, parse_line

LINES = (
    (Path(__file__).resolve().parents[1] / "data" / "logs" / "sendmail-ubuntu-forums.log")
    .read_text()
    .splitlines()[9:12]
)
EXPIRED = LINES[1]


def test_the_expiry_line_is_a_retry_expired_delivery_event() -> None:
    ev = parse_line(EXPIRED)
    assert ev is not None
    assert (ev.kind, ev.mta, ev.status, ev.cause, ev.phase) == (
        EventKind.DELIVERY,
        "sendmail",
        Status.EXPIRED,
        "retry_expired",
        None,
    )
    # the message that expired, not the bounce it became (mB26PuEl004811)
    assert (ev.queue_id, ev.pid) == ("mAO2tx04010773", "4811")
    assert ev.detail == "Cannot send message for 5 days"


@pytest.mark.parametrize("notice", ["return to sender", "postmaster notify", "DSN"])
def test_every_notice_kind_of_savemail(notice: str) -> None:
    ev = parse_line(EXPIRED.replace("sender notify", notice))
    assert ev is not None
    assert (ev.status, ev.cause) == (Status.EXPIRED, "retry_expired")


def test_other_notices_are_not_expiries() -> None:
    # a DSN for a rejected address repeats the stat= line already read
    assert parse_line(EXPIRED.replace("Cannot send message for 5 days", "User unknown")) is None


def test_a_block_of_the_lines_gives_the_expiry() -> None:
    events = parse_block("\n".join(LINES) + "\n")
    assert parse_line(EXPIRED) in events
    assert events == [ev for ev in map(parse_line, LINES) if ev is not None]


def test_the_last_attempt_and_the_expiry_are_two_groups() -> None:
    report = analyze_lines(LINES)
    found = {(g.cause.value, g.destination, g.count) for g in report.groups}
    assert found == {("connect_timeout", "example.com", 1), ("retry_expired", "", 1)}
    assert report.totals["deliveries"] == 1  # the bounce to the local sender
