"""The aggregator's joins on real Postfix line shapes, through both input paths."""

from __future__ import annotations

from datetime import datetime

import pytest

from smtpdoctor.logs.aggregate import Aggregator
from smtpdoctor.logs.model import LogReport
from smtpdoctor.logs.timestamps import StampParser

LOCAL = datetime.now().astimezone().tzinfo

# Postfix 3.7 as logged in test_postfix_real.py: the first MX is dropped, the second
# takes the message; the failed address gets its own line from the same process.
MULTI_MX = """\
Nov 27 23:29:17 mx postfix/qmgr[31102]: AC2DD1640E4: from=<s@example.org>, size=319, nrcpt=1 (queue active)
Nov 27 23:29:19 mx postfix/smtp[31133]: connect to mx1.multi.test[198.51.100.25]:25: Connection timed out
Nov 27 23:29:19 mx postfix/smtp[31133]: AC2DD1640E4: to=<user@multi.test>, relay=mx2.multi.test[198.51.100.27]:25, delay=2, delays=0/0.01/2/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X)
Nov 27 23:29:19 mx postfix/qmgr[31102]: AC2DD1640E4: removed
Nov 27 23:29:20 mx postfix/smtp[31134]: connect to 198.51.100.25[198.51.100.25]:25: Connection timed out
Nov 27 23:29:20 mx postfix/smtp[31134]: C52B5164022: to=<user@dropped.test>, relay=none, delay=2.1, delays=0.02/0.03/2/0, dsn=4.4.1, status=deferred (connect to 198.51.100.25[198.51.100.25]:25: Connection timed out)
"""  # noqa: E501


def _both(text: str) -> tuple[LogReport, LogReport]:
    by_line, by_block = Aggregator(), Aggregator()
    for line in text.splitlines():
        by_line.feed_line(line)
    by_block.feed_chunks([text])
    return by_line.report(), by_block.report()


def test_failed_address_lines_join_their_status_line() -> None:
    for report in _both(MULTI_MX):
        found = {(g.destination, g.cause, g.relay, g.count) for g in report.groups}
        assert found == {
            ("multi.test", "connect_timeout", "mx1.multi.test[198.51.100.25]:25", 1),
            ("dropped.test", "connect_timeout", "198.51.100.25[198.51.100.25]:25", 1),
        }
        assert report.totals["timeouts"] == 2
        assert report.totals["deliveries"] == 1
        assert report.messages.delivered_first_try == 1
        assert report.messages.pending == 1


def test_since_takes_the_full_path() -> None:
    now = datetime(2026, 11, 28, tzinfo=LOCAL)  # syslog stamps have no year
    since = datetime(2026, 11, 27, 23, 29, 20, tzinfo=LOCAL)
    agg = Aggregator(since, stamps=StampParser(now=now))
    agg.feed_chunks([MULTI_MX])
    report = agg.report()
    assert [g.destination for g in report.groups] == ["dropped.test"]
    assert report.totals["deliveries"] == 0
    assert report.totals["before_since"] == 3


def _generated(lines: int) -> str:
    import sys
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from logs_bench import generate  # the benchmark's busy-relay log

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mail.log"
        generate(path, lines)
        return path.read_text()


def test_fast_and_full_paths_agree_on_a_busy_log() -> None:
    text = _generated(20_000) + MULTI_MX
    now = datetime(2026, 11, 28, tzinfo=LOCAL)
    for since in (None, datetime(2026, 11, 1, 0, 8, tzinfo=LOCAL)):
        by_line = Aggregator(since, stamps=StampParser(now=now), max_messages=500)
        for line in text.splitlines():
            by_line.feed_line(line)
        by_block = Aggregator(since, stamps=StampParser(now=now), max_messages=500)
        by_block.feed_chunks([text[i : i + 7919] for i in range(0, len(text), 7919)])
        a, b = by_line.report(), by_block.report()
        assert a.totals == b.totals
        assert a.groups == b.groups
        assert a.messages == b.messages
        assert a.histogram == b.histogram
        assert a.totals["deliveries"] > 500 and a.totals["before_since"] < 15_000


MULTI_RCPT = """\
Nov 27 10:00:00 mx postfix/smtp[1]: MR1: to=<a@ok.example>, relay=mx.ok.example[192.0.2.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
Nov 27 10:00:00 mx postfix/smtp[2]: MR1: to=<b@slow.example>, relay=mx.slow.example[192.0.2.2]:25, delay=31, delays=0/0/1/30, dsn=4.4.2, status=deferred (conversation with mx.slow.example[192.0.2.2] timed out while sending RCPT TO)
Nov 27 10:10:00 mx postfix/smtp[3]: MR1: to=<b@slow.example>, relay=mx.slow.example[192.0.2.2]:25, delay=601, delays=0/600/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
Nov 27 10:10:00 mx postfix/qmgr[4]: MR1: removed
"""  # noqa: E501


def test_a_message_with_one_slow_recipient() -> None:
    for report in _both(MULTI_RCPT):
        m = report.messages
        assert (m.tracked, m.delivered_first_try, m.delivered_after_retry) == (1, 0, 1)
        assert m.max_attempts == 2
        assert m.worst[0].delay == 601.0
        assert m.worst[0].causes == ("command_timeout",)
        assert report.totals["deliveries"] == 2
        assert report.totals["delayed"] == 1
        assert report.delays.messages == 2  # the deferral and the late delivery
        assert report.delays.in_queue == 300.0


def test_rolling_summary_for_follow() -> None:
    from smtpdoctor.report.logs_terminal import render_rolling

    text = render_rolling(_both(MULTI_RCPT)[1])
    first, second = text.splitlines()
    assert "PROBLEMS: 1 timeouts" in first
    assert "command_timeout rcpt  slow.example via mx.slow.example[192.0.2.2]:25" in second


# The last line of tests/logs/samples/sendmail.log: a failed attempt whose status line
# never came (the log ends, or the process died). It is held for that line.
HELD_AT_END = (
    "Nov 27 10:08:00 mx sendmail[2140]: 4ARA08xD002140: timeout waiting for input from "
    "mx.eod.example.com. during client DATA status\n"
)


def test_an_attempt_still_held_counts_everywhere_and_is_still_matched() -> None:
    for report in _both(HELD_AT_END):
        assert [(g.cause, g.count) for g in report.groups] == [("data_timeout", 1)]
        assert [n for _, n in report.histogram] == [1]
        assert (report.messages.tracked, report.messages.pending) == (1, 1)
        assert [(t.queue_id, t.attempts, t.causes) for t in report.messages.worst] == [
            ("4ARA08xD002140", 1, ("data_timeout",))
        ]
    agg = Aggregator()
    agg.feed_line(HELD_AT_END.rstrip("\n"))
    first = agg.report()
    again = agg.report()  # a snapshot changes nothing: the same counts twice
    assert (again.histogram, again.messages) == (first.histogram, first.messages)


def test_a_stopped_postfix_is_found_in_the_log_by_lines_and_by_blocks() -> None:
    # postqueue's own line on a real Postfix 3.7 whose master was stopped
    line = (
        "Nov 27 10:09:00 mx postfix/postqueue[2150]: fatal: Queue report unavailable - "
        "mail system is down\n"
    )
    for report in _both(line):
        assert [(g.cause, g.phase, g.count) for g in report.groups] == [("mta_stopped", None, 1)]


def test_the_worst_messages_are_the_longest_delayed_of_all_pending_and_finished() -> None:
    # 60 messages still deferred (delay= 1..60 s) and 10 delivered after a deferral
    # (30.5 .. 75.5 s): the 20 longest delays, longest first, whichever kind they are.
    agg = Aggregator()
    deferred = (
        "Nov 27 10:00:00 mx postfix/smtp[1]: {qid}: to=<a@d.example>, relay=none, "
        "delay={delay}, delays=0/0/{delay}/0, dsn=4.4.1, status=deferred "
        "(connect to mx[192.0.2.1]:25: Connection timed out)"
    )
    sent = (
        "Nov 27 10:05:00 mx postfix/smtp[1]: {qid}: to=<a@d.example>, "
        "relay=mx[192.0.2.1]:25, delay={delay}, delays=0/0/0/{delay}, dsn=2.0.0, status=sent "
        "(250 ok)"
    )
    for i in range(1, 61):
        agg.feed_line(deferred.format(qid=f"P{i:03d}", delay=i))
    for i in range(10):
        agg.feed_line(deferred.format(qid=f"F{i:03d}", delay=1))
        agg.feed_line(sent.format(qid=f"F{i:03d}", delay=30.5 + 5 * i))
        agg.feed_line(f"Nov 27 10:05:00 mx postfix/qmgr[2]: F{i:03d}: removed")
    worst = agg.report().messages.worst
    delays = {f"P{i:03d}": float(i) for i in range(1, 61)}
    delays |= {f"F{i:03d}": 30.5 + 5 * i for i in range(10)}
    expected = sorted(delays, key=lambda qid: (-delays[qid], qid))[:20]
    assert [t.queue_id for t in worst] == expected
    assert [t.outcome for t in worst[:3]] == ["delivered", "delivered", "delivered"]
    assert {t.outcome for t in worst} == {"delivered", "pending"}


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [("33", 33), ("\u0663\u0663", 33), ("4\u00b2", None), ("61", None), ("7x", None)],
)
def test_the_seconds_of_a_classic_stamp_in_any_digits(seconds: str, expected: int | None) -> None:
    # '²' is a digit to str.isdigit() but not to int(): a line with it once stopped
    # the whole run. Now it is a line whose time is unknown; Arabic-Indic digits read.
    agg = Aggregator()
    agg.feed_line(
        f"Nov  1 00:00:{seconds} mx postfix/smtp[1]: ABC123: to=<a@b.example>, relay=none, "
        "delay=31, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to "
        "h[192.0.2.1]:25: Connection timed out)"
    )
    (group,) = agg.report().groups
    assert group.count == 1
    if expected is None:
        assert group.first_seen is None
    else:
        assert group.first_seen is not None and group.first_seen.second == expected
