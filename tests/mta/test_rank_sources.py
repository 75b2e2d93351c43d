"""doctor's merge of observations about one host: the source that saw an outcome decides it.

Pure: Findings as config, queue and logs produce them; no MTA.
"""

from __future__ import annotations

from smtpdoctor.catalogue import CauseCode, describe
from smtpdoctor.doctor.rank import Ranker, log_reason
from smtpdoctor.finding import Evidence, Finding, Severity, Source
from smtpdoctor.phases import Phase

RELAY = "[127.0.0.1]:9"


def _seen(code: CauseCode, source: Source, text: str, severity: Severity) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        summary=text,
        subject=RELAY,
        phase=Phase.CONNECT,
        evidence=(Evidence(source, text),),
    )


def test_a_refusal_the_queue_saw_is_not_renamed_a_timeout_by_a_config_finding() -> None:
    ranker = Ranker()
    # The "one relay host, no fallback" warning is coded connect_timeout (what it risks).
    config = _seen(
        CauseCode.CONNECT_TIMEOUT,
        Source.CONFIG,
        f"all mail goes through one relay host ({RELAY}) with no fallback",
        Severity.WARNING,
    )
    queue = _seen(
        CauseCode.CONNECT_REFUSED,
        Source.QUEUE,
        "3 queued recipient(s) deferred with connect_refused via 127.0.0.1[127.0.0.1]:9",
        Severity.ERROR,
    )
    ranker.add(config, 8)
    ranker.add(queue, 20)
    [merged] = ranker.ranked()
    assert merged.code is CauseCode.CONNECT_REFUSED
    assert merged.finding.sources == (Source.QUEUE, Source.CONFIG)


def test_a_firewall_rule_still_makes_a_timeout_port25_blocked() -> None:
    ranker = Ranker()
    ranker.add(
        _seen(CauseCode.CONNECT_TIMEOUT, Source.QUEUE, "deferred: timed out", Severity.ERROR),
        20,
    )
    ranker.add(
        _seen(CauseCode.PORT25_BLOCKED, Source.FIREWALL, "tcp dport 25 drop", Severity.ERROR),
        15,
    )
    [merged] = ranker.ranked()
    assert merged.code is CauseCode.PORT25_BLOCKED


def test_a_log_sample_shows_the_reason_not_the_header() -> None:
    line = (
        "Mar  3 08:00:00 oldmx postfix/smtp[311]: 8F1A2B3C4D: to=<bob@far.example.net>, "
        "relay=none, delay=31, status=deferred (connect to mx.far.example.net[192.0.2.77]: "
        "Connection timed out)"
    )
    assert log_reason(line) == (
        "status=deferred (connect to mx.far.example.net[192.0.2.77]: Connection timed out)"
    )
    exim = "2026-11-27 10:00:00 1r5XYZ-000ABC-DE == u@example.com R=dnslookup defer (-53)"
    assert log_reason(exim) == exim  # no syslog header: the whole line
    long = "Nov 27 23:10:01 mx postfix/smtp[123]: " + "x" * 300
    assert log_reason(long) == "x" * 159 + "…"


def test_a_cause_seen_only_in_a_setting_gets_the_setting_s_fix_alone() -> None:
    fix = "postconf -e 'smtp_connect_timeout = 30s' && postfix reload"
    setting = Finding(
        code=CauseCode.CONNECT_TIMEOUT,
        severity=Severity.ERROR,
        summary="smtp_connect_timeout = 1s is below 10s",
        subject="smtp_connect_timeout",
        evidence=(Evidence(Source.CONFIG, "smtp_connect_timeout = 1s is below 10s"),),
        fixes=(fix,),
    )
    ranker = Ranker()
    ranker.add(setting, 15)
    [alone] = ranker.ranked()
    assert alone.finding.fixes == (fix,)
    # Seen on the wire too (the queue): the catalogue's fixes for the fault follow.
    wire = Finding(
        code=CauseCode.CONNECT_TIMEOUT,
        severity=Severity.ERROR,
        summary="",
        subject="smtp_connect_timeout",
        evidence=(Evidence(Source.QUEUE, "deferred: Connection timed out"),),
    )
    ranker.add(wire, 20)
    [both] = ranker.ranked()
    assert both.finding.fixes == (fix, *describe(CauseCode.CONNECT_TIMEOUT).fixes)
