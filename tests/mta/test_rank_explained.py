"""doctor's ranking of a stopped MTA and of a Finding that explains the MTA's own evidence.

Pure: constructed queues and config reports, no MTA. The lab tests
(tests/lab/test_doctor_mta_view.py, tests/cli/test_mail_system_down.py) run the same paths
on a real Postfix.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.doctor.model import DoctorReport
from smtpdoctor.doctor.rank import rank, report_verdict
from smtpdoctor.finding import Evidence, Finding, Severity, Source, Verdict
from smtpdoctor.mta.findings import AuditSection, ConfigFinding, ConfigReport
from smtpdoctor.mta.model import Mta, QueuedMessage, QueuedRecipient, QueueSnapshot
from smtpdoctor.mta.shape import QueueShape, shape_queue
from smtpdoctor.phases import Phase

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
RELAY = "relay.example.net"
REASON = f"Host or domain name not found. Name service error for name={RELAY} type=A: Host not found, try again"  # noqa: E501
FLUSH = "after the fix, retry the queue now: `postqueue -f`"


def _queue(cause: CauseCode, phase: Phase, messages: int = 3) -> QueueShape:
    msgs = tuple(
        QueuedMessage(
            queue_id=f"Q{i}",
            queue_name="deferred",
            arrival=NOW - timedelta(minutes=20),
            size=1000,
            sender="app@example.org",
            recipients=(
                QueuedRecipient(f"u{i}@d{i}.example", f"d{i}.example", REASON, cause, phase, RELAY),
            ),
            next_retry=NOW + timedelta(minutes=5),
        )
        for i in range(messages)
    )
    return shape_queue(QueueSnapshot(Mta.POSTFIX, NOW, msgs, "postqueue -j"))


def _chroot_finding() -> Finding:
    return Finding(
        code=CauseCode.DNS_TIMEOUT,
        severity=Severity.ERROR,
        summary="Postfix's smtp client runs chrooted in /var/spool/postfix, where "
        "/etc/resolv.conf is missing: it cannot resolve relay.example.net, though this "
        "machine can",
        subject=f"[{RELAY}]:25",
        phase=Phase.RESOLVE,
        evidence=(
            Evidence(Source.CONFIG, "master.cf: smtp/unix runs chrooted (chroot column y)"),
            Evidence(Source.QUEUE, f"the queue says dns_timeout: {REASON}"),
            Evidence(Source.PROBE, f"live check of [{RELAY}]:25 from here resolved and reached it"),
        ),
        fixes=("mkdir -p /var/spool/postfix/etc && cp -p /etc/resolv.conf ...", "or run smtp ..."),
    )


def test_the_explaining_finding_merges_into_the_mtas_cause_and_leads() -> None:
    queue = _queue(CauseCode.DNS_TIMEOUT, Phase.RESOLVE)
    alone = rank(None, queue, None, (), RELAY, FLUSH)
    explained = _chroot_finding()
    causes = rank(None, queue, None, (), RELAY, FLUSH, findings=(explained,))

    assert len(causes) == len(alone) == 1
    top = causes[0]
    assert top.code is CauseCode.DNS_TIMEOUT
    assert top.summary == explained.summary
    assert top.fixes[:3] == (*explained.fixes, FLUSH)
    # The queue already said it: the explaining finding's restatement is left out.
    assert [e.source for e in top.evidence] == [
        Source.QUEUE,
        Source.QUEUE,
        Source.CONFIG,
        Source.PROBE,
    ]
    assert top.evidence[:2] == alone[0].evidence
    assert top.evidence[2:] == (explained.evidence[0], explained.evidence[2])
    assert top.score == alone[0].score + 15.0  # an error-level explanation, scored once
    assert top.severity is Severity.ERROR and top.finding.phase is Phase.RESOLVE


def test_an_explaining_finding_alone_keeps_every_line() -> None:
    explained = _chroot_finding()
    (only,) = rank(None, None, None, (), RELAY, findings=(explained,))
    assert only.evidence == explained.evidence
    assert only.summary == explained.summary and only.score == 15.0


def test_a_stopped_mta_ranks_first_in_its_own_words() -> None:
    stopped = ConfigFinding(
        "postfix",
        "master",
        Severity.ERROR,
        CauseCode.MTA_STOPPED,
        "Postfix is not running: nothing delivers the queue",
        "stopped",
        "running",
        "no master process for this instance",
        "postfix start",
    )
    config = ConfigReport((AuditSection("postfix", ("main.cf",), (), (stopped,)),))
    queue = _queue(CauseCode.CONNECT_TIMEOUT, Phase.CONNECT, messages=8)
    causes = rank(config, queue, None, (), RELAY, FLUSH)

    top = causes[0]
    assert top.code is CauseCode.MTA_STOPPED
    assert top.score == 100.0 > causes[1].score
    assert top.summary == "Postfix is not running: nothing delivers the queue"
    assert top.fixes[0] == "postfix start"
    assert [e.text for e in top.evidence] == [
        "Postfix is not running: nothing delivers the queue (now stopped)"
    ]
    report = DoctorReport(tuple(causes), config, queue, None, (), ("config: postfix",), ())
    assert report_verdict(report) is Verdict.FAILED
