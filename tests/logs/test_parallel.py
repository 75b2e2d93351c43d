"""Byte ranges parsed in worker processes give exactly the report of one pass."""

from __future__ import annotations

import itertools
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs import parallel, parser
from smtpdoctor.logs.aggregate import Aggregator
from smtpdoctor.logs.api import analyze
from smtpdoctor.logs.model import LogReport
from smtpdoctor.logs.reader import text_chunks

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "logs"


@pytest.fixture
def big_log(tmp_path: Path) -> Path:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import logs_bench  # the failure-heavy generator: real reasons, fresh IDs
    finally:
        sys.path.pop(0)
    log = tmp_path / "mail.log"
    logs_bench.generate_failures(log, 30_000)
    with log.open("ab") as f:  # other MTAs, NUL runs and junk in between
        for name in ("exim-testsuite.log", "postfix-grok-patterns.log"):
            f.write(b"\x00" * 500 + (DATA / name).read_bytes())
        f.write(b"not a log line\n" * 20)
    return log


def _one_pass_and_workers(log: Path, **caps: int) -> tuple[LogReport, LogReport]:
    """The report of one pass over log and the one through the workers, both with the
    same capped Aggregator settings."""
    one, many = Aggregator(**caps), Aggregator(**caps)  # type: ignore[arg-type]
    with log.open("rb") as f:
        one.feed_chunks(text_chunks(f))
    parallel.feed_file(many, log)
    return one.report(), many.report()


def _count_merges(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """merge_part's answers, in order (True: merged; False: the range folded here)."""
    outcomes: list[bool] = []
    merge = parallel.merge_part

    def counting(agg: Aggregator, part: parallel.RangePart) -> bool:
        outcomes.append(merge(agg, part))
        return outcomes[-1]

    monkeypatch.setattr(parallel, "merge_part", counting)
    return outcomes


def test_ranges_cover_the_file_at_line_starts(big_log: Path) -> None:
    data = big_log.read_bytes()
    cuts = parallel.ranges(big_log, size=100_000)
    assert len(cuts) > 20
    assert cuts[0][0] == 0 and cuts[-1][1] == len(data)
    for (_, end), (start, _) in itertools.pairwise(cuts):
        assert end == start and data[start - 1 : start] == b"\n"


def test_parallel_report_equals_one_pass(big_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_SIZE", 0)
    monkeypatch.setattr(parallel, "RANGE_SIZE", 200_000)
    assert parallel.worth_it(big_log)
    assert len(parallel.ranges(big_log)) > 20
    one = analyze([big_log], parallel=False)
    many = analyze([big_log])
    assert many.groups == one.groups
    assert many.totals == one.totals
    assert many.messages == one.messages
    assert many.delays == one.delays
    assert many.histogram == one.histogram
    assert many.coverage == one.coverage
    assert many.insights == one.insights
    assert one.coverage.binary == 2 and one.coverage.unparsed == 20
    assert len(one.groups) > 100


def test_parallel_equals_one_pass_when_the_group_table_fills(
    big_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "RANGE_SIZE", 200_000)
    a, b = _one_pass_and_workers(big_log, max_groups=40)
    assert [g.destination for g in a.groups].count("(other)") > 5
    assert b.groups == a.groups
    assert (b.totals, b.messages, b.coverage) == (a.totals, a.messages, a.coverage)


def test_ranges_past_the_group_cap_merge_instead_of_being_folded_again(
    big_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first range alone holds more groups than the cap: the worker ships the
    sample of each entry that may open an "(other)" group, so the parent merges it
    (no range is folded twice) and the report is still the one of one pass."""
    monkeypatch.setattr(parallel, "RANGE_SIZE", 1_000_000)
    outcomes = _count_merges(monkeypatch)
    a, b = _one_pass_and_workers(big_log, max_groups=300)
    assert len(outcomes) > 3 and all(outcomes)
    assert [g.destination for g in a.groups].count("(other)") > 5
    assert b.groups == a.groups
    assert (b.totals, b.messages, b.histogram) == (a.totals, a.messages, a.histogram)


def test_ranges_folded_in_workers_merge_exactly_across_seams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy relay's log (per-attempt `connect to` lines held until their status line,
    messages whose lines straddle ranges) cut into many small ranges: the merged
    worker folds equal one pass, and both the merge and the parent's own fold of a
    range whose start depends on what came before are taken."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import logs_bench
    finally:
        sys.path.pop(0)
    log = tmp_path / "busy.log"
    logs_bench.generate(log, 40_000)
    monkeypatch.setattr(parallel, "MIN_SIZE", 0)
    monkeypatch.setattr(parallel, "RANGE_SIZE", 3_000)
    outcomes = _count_merges(monkeypatch)
    one = analyze([log], parallel=False)
    many = analyze([log])
    assert True in outcomes and False in outcomes
    assert many.groups == one.groups
    assert many.totals == one.totals
    assert many.messages == one.messages
    assert many.delays == one.delays
    assert many.histogram == one.histogram
    assert many.coverage == one.coverage
    assert many.insights == one.insights
    # the held `connect to` line gave its status line (relay=none) the relay
    held = [g for g in one.groups if g.cause is CauseCode.CONNECT_TIMEOUT]
    assert held and all(g.relay for g in held)


def test_parallel_equals_one_pass_with_since(
    big_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--since is applied in the workers' folds as in one pass."""
    monkeypatch.setattr(parallel, "MIN_SIZE", 0)
    monkeypatch.setattr(parallel, "RANGE_SIZE", 200_000)
    first = analyze([big_log], parallel=False).first_seen
    assert first is not None
    since = first + timedelta(hours=4)
    one = analyze([big_log], since=since, parallel=False)
    many = analyze([big_log], since=since)
    assert 0 < one.totals["before_since"] < one.totals["parsed"]
    assert (many.groups, many.totals, many.messages) == (one.groups, one.totals, one.messages)
    assert (many.delays, many.histogram) == (one.delays, one.histogram)


def _reused_ids_log(path: Path) -> None:
    """A relay whose short queue IDs come back after their removal line (Postfix reuses
    them), whose messages are retried up to four times, and where a third of the
    removal lines are missing (those messages stay in the per-message table)."""

    def stamp(second: int) -> str:
        return f"Nov  1 {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"

    lines = []
    for n in range(1500):
        qid = f"{0xA00 + n % 200:X}"  # 200 IDs, each used 7 or 8 times
        rcpt, dom = f"u{n}@d{n % 7}.example", f"mx.d{n % 7}.example"
        for attempt in range(n % 5):  # 0 to 4 deferrals before the final status
            lines.append(
                f"{stamp(n * 2 + attempt * 60)} mx postfix/smtp[{100 + attempt}]: {qid}: "
                f"to=<{rcpt}>, relay={dom}[192.0.2.{attempt + 1}]:25, delay={attempt * 60}, "
                f"delays=0/0/0/0, dsn=4.0.0, status=deferred (host {dom}[192.0.2.{attempt + 1}]"
                " said: 451 4.7.1 Try again later (in reply to RCPT TO command))"
            )
        bounced = n % 11 == 0
        lines.append(
            f"{stamp(n * 2 + 300)} mx postfix/smtp[200]: {qid}: to=<{rcpt}>, relay={dom}"
            f"[192.0.2.9]:25, delay={n % 5 * 60 + 1}, delays=0/0/0/1, "
            f"dsn={'5.1.1' if bounced else '2.0.0'}, status={'bounced' if bounced else 'sent'} "
            f"({'host x said: 550 5.1.1 no such user' if bounced else '250 ok'})"
        )
        if n % 3:
            lines.append(f"{stamp(n * 2 + 300)} mx postfix/qmgr[99]: {qid}: removed")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("max_messages", [100_000, 30, 10])
def test_join_summaries_equal_one_pass_with_reused_ids_and_a_full_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_messages: int
) -> None:
    """Per-message summaries merge exactly: queue IDs reused within a range, messages
    retried up to five times, removal lines missing; with a table that never fills,
    one that fills (ranges refused by fits() and folded here, or sent attempt by
    attempt once the table is over half full)."""
    log = tmp_path / "reused.log"
    _reused_ids_log(log)
    monkeypatch.setattr(parallel, "MIN_SIZE", 0)
    monkeypatch.setattr(parallel, "RANGE_SIZE", 20_000)
    outcomes: list[tuple[bool, bool]] = []
    merge = parallel.merge_part

    def counting(agg: Aggregator, part: parallel.RangePart) -> bool:
        outcomes.append((merge(agg, part), part.joins is None))
        return outcomes[-1][0]

    monkeypatch.setattr(parallel, "merge_part", counting)
    a, b = _one_pass_and_workers(log, max_messages=max_messages)
    assert len(outcomes) > 10
    if max_messages == 100_000:
        # Summaries throughout; a range whose first-try messages reuse an ID the
        # table still holds (its removal line was missing) is folded here instead.
        assert not any(in_ops for _, in_ops in outcomes)
        assert any(merged for merged, _ in outcomes)
        assert not all(merged for merged, _ in outcomes)
        assert a.messages.evicted == 0
    else:  # the table fills: some ranges refused by fits() or sent attempt by attempt
        assert any(in_ops or not merged for merged, in_ops in outcomes)
        assert a.messages.evicted > 0
    assert b.messages == a.messages
    assert (b.groups, b.totals, b.delays, b.histogram) == (
        a.groups,
        a.totals,
        a.delays,
        a.histogram,
    )
    assert a.messages.bounced > 0 and a.messages.delivered_after_retry > 0
    assert a.messages.max_attempts >= 5


def test_join_summaries_keep_first_and_last_times_of_multi_recipient_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message whose first recipient goes at the first try (no record yet) and whose
    second is retried: its first time comes from the retried recipient's first line,
    its last from the removal line; the times in between are not worked out in the
    merge, and the worst messages (with their first and last times) must not change."""

    def stamp(second: int) -> str:
        return f"Nov  2 {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"

    lines = []
    for n in range(600):
        qid, t = f"{0xB0000 + n:X}", n * 7
        lines.append(
            f"{stamp(t)} mx postfix/smtp[1]: {qid}: to=<a{n}@ok.example>, relay=mx.ok.example"
            "[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)"
        )
        for attempt in range(1 + n % 4):
            lines.append(
                f"{stamp(t + 1 + attempt * 5)} mx postfix/smtp[2]: {qid}: to=<b{n}@slow.example>,"
                f" relay=none, delay={1 + attempt * 5}, delays=0/0/{1 + attempt * 5}/0, "
                "dsn=4.4.1, status=deferred (connect to mx.slow.example[192.0.2.2]:25: "
                "Connection timed out)"
            )
        if n % 5:
            lines.append(f"{stamp(t + 40 + n % 13)} mx postfix/qmgr[3]: {qid}: removed")
    log = tmp_path / "multi.log"
    log.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(parallel, "MIN_SIZE", 0)
    monkeypatch.setattr(parallel, "RANGE_SIZE", 25_000)
    outcomes = _count_merges(monkeypatch)
    a, b = _one_pass_and_workers(log)
    assert len(outcomes) > 5 and all(outcomes)
    assert b.messages == a.messages
    assert a.messages.worst and all(t.first_seen and t.last_seen for t in a.messages.worst)


def test_a_range_whose_other_mta_lines_come_after_folded_blocks_is_sent_whole(
    big_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker folds block by block while the range is all Postfix; at the first Exim
    # line it must start again and send every event of the range, in order.
    monkeypatch.setattr(parallel, "RANGE_BLOCK", 4096)
    data = big_log.read_bytes()
    exim = data.index(b"\x00" * 500)
    start = data.rindex(b"\n", 0, exim - 100_000) + 1
    reference = Aggregator().stamp_reference
    counts, _, got = parallel.parse_range(
        (str(big_log), start, len(data), None, reference, 5000, None, False)
    )
    assert isinstance(got, list)
    events = [parallel._unpack(p) for p in got]
    assert [(e.kind, e.stamp, e.queue_id, e.cause) for e in events] == [
        (e.kind, e.stamp, e.queue_id, e.cause)
        for e in parser.parse_block(data[start:].replace(b"\x00", b"").decode())
    ]
    assert counts[0] == data[start:].count(b"\n") and counts[3] == 2  # two NUL runs
    assert {e.mta for e in events} >= {"postfix", "exim"}
