"""Combining the evidence of config, queue, logs and live probes into ranked causes. Pure.

Observations about the same host and the same kind of fault (connect, DNS, TLS, ...)
merge into one cause; each source adds to its score. A live probe that fails the same way
weighs most: it shows the fault now, not in the past.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from smtpdoctor.catalogue import CauseCode, describe
from smtpdoctor.diagnose.cause import Severity
from smtpdoctor.doctor.model import Evidence, LogSummary, ProbeOutcome, RankedCause
from smtpdoctor.doctor.tls_policy import TlsConflict
from smtpdoctor.finding import Finding
from smtpdoctor.mta.findings import ConfigReport
from smtpdoctor.mta.shape import QueueShape

_FAMILIES: dict[CauseCode, str] = {
    CauseCode.CONNECT_TIMEOUT: "connect",
    CauseCode.PORT25_BLOCKED: "connect",
    CauseCode.HOST_UNREACHABLE: "connect",
    CauseCode.NETWORK_UNREACHABLE: "connect",
    CauseCode.CONNECT_REFUSED: "connect",
    CauseCode.DNS_TIMEOUT: "dns",
    CauseCode.DNS_SERVFAIL: "dns",
    CauseCode.DNS_SLOW: "dns",
    CauseCode.DNS_NXDOMAIN: "dns",
    CauseCode.DNS_NO_ADDRESS: "dns",
    CauseCode.TLS_MODE_MISMATCH: "tls",
    CauseCode.TLS_HANDSHAKE_TIMEOUT: "tls",
    CauseCode.TLS_FAILED: "tls",
    CauseCode.TLS_CERT_INVALID: "tls",
    CauseCode.STARTTLS_MISSING: "tls",
}
# Within a family, the more specific code wins when sources disagree.
_SPECIFICITY = {
    CauseCode.PORT25_BLOCKED: 3,
    CauseCode.TLS_MODE_MISMATCH: 3,
    CauseCode.CONNECT_TIMEOUT: 2,
}
_SOURCE_RANK = {"probe": 4, "logs": 3, "queue": 2, "firewall": 1, "config": 0}
_HOST = re.compile(r"\[([^\]]+)\]|^([^\s\[:]+)")


def host_key(text: str) -> str:
    """The host of 'name[1.2.3.4]:25', '[1.2.3.4]:25', 'host:587' or a domain, lower case."""
    text = text.strip()
    m = _HOST.search(text)
    if m is None:
        return text.lower()
    return (m.group(1) or m.group(2) or "").lower()


@dataclass
class _Candidate:
    code: CauseCode
    code_source: str
    subject: str
    score: float = 0.0
    severity: Severity = Severity.WARNING
    evidence: list[Evidence] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    summary: str = ""


class Ranker:
    """Collects observations, then ranks them."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], _Candidate] = {}

    def add(
        self,
        code: CauseCode,
        subject: str,
        source: str,
        text: str,
        score: float,
        *,
        severity: Severity = Severity.WARNING,
        fixes: tuple[str, ...] = (),
        summary: str = "",
        supports: bool = True,
        lead: bool = False,
    ) -> None:
        """One observation of code at subject from source."""
        family = _FAMILIES.get(code, code.value)
        key = (family, host_key(subject) if subject else "")
        cand = self._by_key.get(key)
        if cand is None:
            cand = self._by_key[key] = _Candidate(code, source, subject)
        elif supports and self._better(code, source, cand):
            cand.code, cand.code_source = code, source
        if subject and (not cand.subject or source in ("probe", "queue")):
            cand.subject = cand.subject or subject
        cand.score += score if supports else -score
        if severity is Severity.ERROR:
            cand.severity = Severity.ERROR
        cand.evidence.append(Evidence(source, text, supports))
        new_fixes = [f for f in fixes if f and f not in cand.fixes]
        cand.fixes = new_fixes + cand.fixes if lead else cand.fixes + new_fixes
        if summary and (not cand.summary or source == "probe" or lead):
            cand.summary = summary

    @staticmethod
    def _better(code: CauseCode, source: str, cand: _Candidate) -> bool:
        new = (_SPECIFICITY.get(code, 1), _SOURCE_RANK[source])
        old = (_SPECIFICITY.get(cand.code, 1), _SOURCE_RANK[cand.code_source])
        return new > old

    def sources_of(self, code: CauseCode, subject: str) -> set[str]:
        """The sources already seen for the cause that code at subject merges into."""
        cand = self._by_key.get((_FAMILIES.get(code, code.value), host_key(subject)))
        return {e.source for e in cand.evidence} if cand else set()

    def ranked(self) -> list[RankedCause]:
        """Causes by score, highest first; the catalogue's fixes after the specific ones."""
        out = []
        for cand in self._by_key.values():
            if cand.score <= 0:
                continue
            info = describe(cand.code)
            fixes = tuple(cand.fixes) + tuple(f for f in info.fixes if f not in cand.fixes)
            summary = cand.summary or f"{info.title}" + (
                f": {cand.subject}" if cand.subject else ""
            )
            out.append(
                RankedCause(
                    cand.code,
                    cand.subject,
                    round(cand.score, 1),
                    cand.severity,
                    summary,
                    tuple(cand.evidence),
                    fixes,
                )
            )
        return sorted(out, key=lambda c: (-c.score, c.code.value))


def add_queue(ranker: Ranker, shape: QueueShape, flush_hint: str) -> None:
    """Each reason group: scored by its share of the waiting recipients."""
    waiting = sum(g.recipients for g in shape.reasons) or 1
    for group in shape.reasons:
        if group.cause is None:
            continue
        share = group.recipients / waiting
        where = group.relay or ", ".join(group.domains[:3])
        text = (
            f"{group.recipients} queued recipient(s) ({share:.0%} of those waiting) in "
            f"{group.messages} message(s) for {len(group.domains)} domain(s) deferred with "
            f'{group.cause.value} via {where}: "{group.sample_reason[:120]}"'
        )
        subject = group.relay or (group.domains[0] if group.domains else "")
        ranker.add(
            group.cause,
            subject,
            "queue",
            text,
            10 + 40 * share,
            severity=Severity.ERROR if share >= 0.5 else Severity.WARNING,
            fixes=(flush_hint,) if flush_hint else (),
        )
    for insight in shape.insights:
        if insight.cause is not None and insight.kind in (
            "relay_host",
            "all_destinations",
            "one_destination",
        ):
            ranker.add(insight.cause, insight.subject, "queue", f"queue shape: {insight.text}", 5)


def add_config(ranker: Ranker, report: ConfigReport, relay: str | None) -> None:
    """Config and firewall findings with a cause code."""
    weights = {Severity.ERROR: 15.0, Severity.WARNING: 8.0, Severity.INFO: 2.0}
    for finding in report.findings:
        if finding.cause is None:
            continue
        subject = finding.subject
        if (
            finding.area == "postfix"
            and finding.subject
            in (
                "smtp_fallback_relay",
                "smtp_tls_wrappermode",
                "relayhost",
                "smtp_tls_security_level",
            )
            and relay
        ):
            subject = relay
        if finding.area == "firewall" and relay and host_key(relay) in finding.current:
            subject = relay
        source = "firewall" if finding.area == "firewall" else "config"
        text = finding.summary
        if finding.current and finding.area != "firewall" and finding.current not in text:
            text += f" (now {finding.current})"
        # A stopped MTA comes first: nothing in the queue moves until it runs again.
        stopped = finding.cause is CauseCode.MTA_STOPPED
        weight = 100.0 if stopped else weights[finding.severity]
        ranker.add(
            finding.cause,
            subject,
            source,
            text,
            weight,
            severity=finding.severity,
            fixes=(finding.command,) if finding.command else (),
            summary=finding.summary if stopped else "",
        )


def add_logs(ranker: Ranker, logs: LogSummary) -> None:
    """Log groups: scored by their share of the problem events."""
    total = sum(n for _, _, _, n, _ in logs.groups) or 1
    for cause, destination, relay, count, sample in logs.groups:
        share = count / total
        text = (
            f"{count} log event(s) of {cause.value} for {destination or '?'} via "
            f"{relay or '?'}, e.g. {sample[:140]}"
        )
        ranker.add(cause, relay or destination, "logs", text, 5 + 20 * share)


def add_probe(ranker: Ranker, probe: ProbeOutcome) -> None:
    """A live check: its causes weigh most; a passing check argues against the target's faults."""
    if probe.verdict == "ok" or not probe.causes:
        ranker.add(
            CauseCode.CONNECT_TIMEOUT,
            probe.target,
            "probe",
            f"live check of {probe.target} ({probe.why}) passed just now: the fault is "
            "intermittent or already gone",
            20,
            supports=False,
        )
        return
    for cause in probe.causes:
        weight = 40.0 if cause.severity is Severity.ERROR else 15.0
        where = cause.address or cause.host or probe.target
        port = f":{cause.port}" if cause.port else ""
        text = f"live check of {probe.target} ({probe.why}) now: {cause.summary}"
        subject = f"[{where}]{port}" if cause.address else probe.target
        ranker.add(
            cause.code,
            subject if cause.address else probe.target,
            "probe",
            text,
            weight,
            severity=cause.severity,
            fixes=tuple(cause.fix),
            summary=cause.summary,
        )


def add_tls_conflict(ranker: Ranker, conflict: TlsConflict, relay: str) -> None:
    """The TLS level against the relay: the config and the probe, side by side.

    Scored like a failing live probe plus an error-level finding: the relay refuses what
    Postfix insists on, so nothing goes through until one side changes.
    """
    ranker.add(
        conflict.code,
        relay,
        "config",
        conflict.config_evidence,
        15,
        severity=Severity.ERROR,
        fixes=conflict.fixes,
    )
    ranker.add(
        conflict.code,
        relay,
        "probe",
        conflict.probe_evidence,
        40,
        severity=Severity.ERROR,
        summary=conflict.summary,
    )


def add_finding(ranker: Ranker, finding: Finding) -> None:
    """A `smtpdoctor.finding.Finding` (e.g. from doctor.mta_view), evidence by evidence.

    It explains the MTA's own evidence of the same fault: its summary and fixes lead, and
    its restatements of queue or log evidence the cause already has are left out.
    """
    weights = {"error": 15.0, "warning": 8.0, "info": 2.0}
    severity = Severity(finding.severity.value)
    had = ranker.sources_of(finding.code, finding.subject)
    evidence = [e for e in finding.evidence if e.source.value not in had or e.source == "config"]
    for index, item in enumerate(evidence):
        ranker.add(
            finding.code,
            finding.subject,
            item.source.value,
            item.text,
            weights[finding.severity.value] if index == 0 else 0.0,
            severity=severity,
            fixes=finding.fixes if index == 0 else (),
            summary=finding.summary,
            supports=item.supports,
            lead=True,
        )


def rank(
    config: ConfigReport | None,
    queue: QueueShape | None,
    logs: LogSummary | None,
    probes: tuple[ProbeOutcome, ...],
    relay: str | None,
    flush_hint: str = "",
    tls_conflicts: tuple[TlsConflict, ...] = (),
    findings: tuple[Finding, ...] = (),
) -> list[RankedCause]:
    """All sources into one ranked list."""
    ranker = Ranker()
    if config is not None:
        add_config(ranker, config, relay)
    if queue is not None:
        add_queue(ranker, queue, flush_hint)
    if logs is not None:
        add_logs(ranker, logs)
    for probe in probes:
        add_probe(ranker, probe)
    for conflict in tls_conflicts:  # last: its summary says more than the probe's alone
        add_tls_conflict(ranker, conflict, relay or "")
    for finding in findings:  # last: each explains evidence added above
        add_finding(ranker, finding)
    return ranker.ranked()
