"""Queue shape interpretation and the doctor's ranking, on constructed queues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.cause import Severity, make_cause
from smtpdoctor.diagnose.rules import Diagnosis
from smtpdoctor.doctor.model import ProbeOutcome
from smtpdoctor.doctor.rank import host_key, rank
from smtpdoctor.finding import Finding, Verdict
from smtpdoctor.mta.model import Mta, QueuedMessage, QueuedRecipient, QueueSnapshot
from smtpdoctor.mta.shape import QueueFilter, shape_queue
from smtpdoctor.phases import Phase

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _msg(i: int, domain: str, cause: CauseCode | None, relay: str, age_min: float) -> QueuedMessage:
    reason = f"connect to {relay}: Connection timed out" if cause else ""
    return QueuedMessage(
        queue_id=f"Q{i}",
        queue_name="deferred",
        arrival=NOW - timedelta(minutes=age_min),
        size=1000,
        sender="app@example.org",
        recipients=(
            QueuedRecipient(f"u{i}@{domain}", domain, reason, cause, Phase.CONNECT, relay),
        ),
        next_retry=NOW + timedelta(minutes=5),
    )


def _snapshot(messages: list[QueuedMessage]) -> QueueSnapshot:
    return QueueSnapshot(Mta.POSTFIX, NOW, tuple(messages), "postqueue -j")


def _diagnosis(verdict: Verdict, *findings: Finding) -> Diagnosis:
    return Diagnosis(verdict, findings, passed=())


def test_relay_host_shape() -> None:
    relay = "198.51.100.25[198.51.100.25]:25"
    msgs = [
        _msg(i, f"d{i % 4}.example", CauseCode.CONNECT_TIMEOUT, relay, i * 30) for i in range(8)
    ]
    shape = shape_queue(_snapshot(msgs), config_dir=Path("/etc/pf2"))
    assert shape.messages == 8 and shape.total_size == 8000
    assert shape.oldest == NOW - timedelta(minutes=210)
    assert [r.recipients for r in shape.reasons] == [8]
    kinds = [i.kind for i in shape.insights]
    assert "relay_host" in kinds and "growing" in kinds
    assert shape.actions[0].command == "postqueue -c /etc/pf2 -f"
    assert sum(shape.domains[0].buckets) == shape.domains[0].total


def test_one_destination_shape_and_filters() -> None:
    msgs = [
        _msg(i, "stuck.example", CauseCode.CONNECT_TIMEOUT, f"mx{i}.stuck.example", 90)
        for i in range(3)
    ]
    msgs += [_msg(10, "fine.example", None, "", 1)]
    shape = shape_queue(_snapshot(msgs))
    assert any(i.kind == "one_destination" and i.subject == "stuck.example" for i in shape.insights)
    old = shape_queue(_snapshot(msgs), QueueFilter(older_than=timedelta(hours=1)))
    assert old.messages == 3
    timeouts = shape_queue(_snapshot(msgs), QueueFilter(reason="timeout"))
    assert timeouts.messages == 3
    none = shape_queue(_snapshot(msgs), QueueFilter(reason="greylisted"))
    assert none.messages == 0 and none.insights[0].kind == "empty"


def test_exim_actions() -> None:
    snap = QueueSnapshot(
        Mta.EXIM, NOW, (_msg(1, "a.example", CauseCode.CONNECT_TIMEOUT, "x", 5),), "exim -bp"
    )
    commands = [a.command for a in shape_queue(snap).actions]
    assert commands[0] == "exim -qff" and "exim -Rff a.example" in commands
    assert not any("-d" in c.split() for c in commands)


def test_host_key() -> None:
    assert host_key("198.51.100.25[198.51.100.25]:25") == "198.51.100.25"
    assert host_key("[198.51.100.25]:25") == "198.51.100.25"
    assert host_key("relay.example.net:587") == "relay.example.net"


def test_probe_and_queue_merge_on_the_relay_and_rank_first() -> None:
    relay = "198.51.100.25[198.51.100.25]:25"
    msgs = [_msg(i, f"d{i}.example", CauseCode.CONNECT_TIMEOUT, relay, 10) for i in range(5)]
    shape = shape_queue(_snapshot(msgs))
    probe_cause = make_cause(
        CauseCode.CONNECT_TIMEOUT,
        Severity.ERROR,
        "no answer",
        ["SYN unanswered"],
        address="198.51.100.25",
        port=25,
    )
    probe = ProbeOutcome("198.51.100.25:25", "relay host", _diagnosis(Verdict.FAILED, probe_cause))
    dns = make_cause(CauseCode.DNS_SLOW, Severity.WARNING, "slow", [])
    other = ProbeOutcome(
        "@x.example", "top deferred destination", _diagnosis(Verdict.DEGRADED, dns)
    )
    causes = rank(None, shape, None, (probe, other), "198.51.100.25:25")
    top = causes[0]
    assert top.code is CauseCode.CONNECT_TIMEOUT
    assert host_key(top.subject) == "198.51.100.25"
    assert top.sources == ("queue", "probe")
    assert causes[1].code is CauseCode.DNS_SLOW


def test_passing_probe_argues_against_an_old_queue_fault() -> None:
    relay = "198.51.100.25[198.51.100.25]:25"
    msgs = [_msg(1, "a.example", CauseCode.CONNECT_TIMEOUT, relay, 10)]
    shape = shape_queue(_snapshot(msgs))
    with_fail = rank(None, shape, None, (), None)
    passing = ProbeOutcome("198.51.100.25:25", "relay host", _diagnosis(Verdict.OK))
    with_pass = rank(None, shape, None, (passing,), None)
    assert with_pass[0].score < with_fail[0].score
    assert any(not e.supports for e in with_pass[0].evidence)
