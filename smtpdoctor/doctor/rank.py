"""Combining the evidence of config, queue, logs and live probes into ranked causes. Pure.

Observations about the same host and the same kind of fault (connect, DNS, TLS, ...)
merge into one cause; each source adds to its score. A live probe that fails the same way
weighs most: it shows the fault now, not in the past.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from smtpdoctor.catalogue import CauseCode, describe
from smtpdoctor.doctor.model import DoctorReport, LogSummary, ProbeOutcome, RankedFinding
from smtpdoctor.doctor.tls_policy import TlsConflict
from smtpdoctor.finding import Evidence, Finding, Severity, Source, Verdict, decide_verdict
from smtpdoctor.logs.model import LogGroup
from smtpdoctor.mta.findings import ConfigFinding, ConfigReport
from smtpdoctor.mta.shape import QueueShape
from smtpdoctor.phases import Phase

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
    # What a connect attempt ended in: equally specific, so the source that saw it
    # decides (a queue that says "refused" beats a config finding coded as a timeout).
    CauseCode.CONNECT_TIMEOUT: 2,
    CauseCode.CONNECT_REFUSED: 2,
    CauseCode.HOST_UNREACHABLE: 2,
    CauseCode.NETWORK_UNREACHABLE: 2,
}
_SOURCE_RANK = {
    Source.PROBE: 4,
    Source.LOGS: 3,
    Source.QUEUE: 2,
    Source.FIREWALL: 1,
    Source.CONFIG: 0,
}
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
    code_source: Source
    subject: str
    score: float = 0.0
    severity: Severity = Severity.WARNING
    phase: Phase | None = None
    evidence: list[Evidence] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    summary: str = ""


class Ranker:
    """Merges Findings from every source by fault family and host, then ranks them."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], _Candidate] = {}

    def add(self, finding: Finding, score: float, *, lead: bool = False) -> None:
        """One source's observation: a Finding whose evidence comes from that source.

        Evidence that argues against the finding (``supports`` False) lowers the score.
        Only a live probe's summary is kept (it says what happens now), unless the finding
        leads: it explains the cause, so its summary and fixes come before the others'.
        """
        if not finding.evidence:
            raise ValueError(f"a {finding.code} finding without evidence cannot be ranked")
        source = finding.evidence[0].source
        supports = all(e.supports for e in finding.evidence)
        subject = finding.subject
        family = _FAMILIES.get(finding.code, finding.code.value)
        key = (family, host_key(subject) if subject else "")
        cand = self._by_key.get(key)
        if cand is None:
            cand = self._by_key[key] = _Candidate(finding.code, source, subject)
        elif supports and self._better(finding.code, source, cand):
            cand.code, cand.code_source = finding.code, source
        if subject and not cand.subject:
            cand.subject = subject
        cand.score += score if supports else -score
        if finding.severity is Severity.ERROR:
            cand.severity = Severity.ERROR
        if cand.phase is None:
            cand.phase = finding.phase
        cand.evidence.extend(finding.evidence)
        new_fixes = [f for f in finding.fixes if f and f not in cand.fixes]
        cand.fixes = new_fixes + cand.fixes if lead else cand.fixes + new_fixes
        if finding.summary and (source is Source.PROBE or lead):
            cand.summary = finding.summary

    @staticmethod
    def _better(code: CauseCode, source: Source, cand: _Candidate) -> bool:
        new = (_SPECIFICITY.get(code, 1), _SOURCE_RANK[source])
        old = (_SPECIFICITY.get(cand.code, 1), _SOURCE_RANK[cand.code_source])
        return new > old

    def sources_of(self, code: CauseCode, subject: str) -> set[Source]:
        """The sources already seen for the cause that code at subject merges into."""
        cand = self._by_key.get((_FAMILIES.get(code, code.value), host_key(subject)))
        return {e.source for e in cand.evidence} if cand else set()

    def ranked(self) -> list[RankedFinding]:
        """Findings by score, highest first; the catalogue's fixes after the specific ones."""
        out = []
        for cand in self._by_key.values():
            if cand.score <= 0:
                continue
            info = describe(cand.code)
            fixes = tuple(cand.fixes)
            # A cause seen only in a setting is fixed by the setting's own command: the
            # catalogue's fixes (firewall rules, traceroutes) are for a fault seen on the wire.
            settings_only = bool(fixes) and all(e.source is Source.CONFIG for e in cand.evidence)
            if not settings_only:
                fixes += tuple(f for f in info.fixes if f not in cand.fixes)
            summary = cand.summary or f"{info.title}" + (
                f": {cand.subject}" if cand.subject else ""
            )
            finding = Finding(
                code=cand.code,
                severity=cand.severity,
                summary=summary,
                subject=cand.subject,
                phase=cand.phase,
                evidence=tuple(cand.evidence),
                fixes=fixes,
            )
            out.append(RankedFinding(finding, round(cand.score, 1)))
        return sorted(out, key=lambda r: (-r.score, r.code.value))


def _observation(
    code: CauseCode,
    subject: str,
    source: Source,
    text: str,
    *,
    severity: Severity = Severity.WARNING,
    fixes: tuple[str, ...] = (),
    summary: str = "",
    supports: bool = True,
) -> Finding:
    """One source's Finding with one line of evidence."""
    return Finding(
        code=code,
        severity=severity,
        summary=summary,
        subject=subject,
        evidence=(Evidence(source, text, supports),),
        fixes=fixes,
    )


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
        finding = _observation(
            group.cause,
            subject,
            Source.QUEUE,
            text,
            severity=Severity.ERROR if share >= 0.5 else Severity.WARNING,
            fixes=(flush_hint,) if flush_hint else (),
        )
        ranker.add(replace(finding, phase=group.phase), 10 + 40 * share)
    for insight in shape.insights:
        if insight.cause is not None and insight.kind in (
            "relay_host",
            "all_destinations",
            "one_destination",
        ):
            text = f"queue shape: {insight.text}"
            ranker.add(_observation(insight.cause, insight.subject, Source.QUEUE, text), 5)


_RELAY_PARAMETERS = frozenset(
    {"smtp_fallback_relay", "smtp_tls_wrappermode", "relayhost", "smtp_tls_security_level"}
)
_CONFIG_WEIGHT = {Severity.ERROR: 15.0, Severity.WARNING: 8.0, Severity.INFO: 2.0}
_STOPPED_WEIGHT = 100.0


def add_config(ranker: Ranker, report: ConfigReport, relay: str | None) -> None:
    """Config and firewall findings with a cause code; those about the relay merge with it."""
    for config_finding in report.findings:
        finding = config_finding.to_finding()
        if finding is None:
            continue
        about_relay = (
            config_finding.area == "postfix" and config_finding.subject in _RELAY_PARAMETERS
        ) or (config_finding.area == "firewall" and host_key(relay or "") in config_finding.current)
        if relay and about_relay:
            finding = replace(finding, subject=relay)
        if finding.code is CauseCode.MTA_STOPPED:
            # A stopped MTA comes first, in its own words: nothing in the queue moves until
            # it runs again.
            ranker.add(finding, _STOPPED_WEIGHT, lead=True)
        else:
            ranker.add(finding, _CONFIG_WEIGHT[finding.severity])


_SYSLOG_HEAD = re.compile(r"^.*?\[\d+\]: ")


def log_reason(line: str, limit: int = 160) -> str:
    """The part of a log line that says why: from Postfix's ``status=`` on, else the
    message after the syslog header; cut at ``limit`` with an ellipsis."""
    at = line.find(" status=")
    if at >= 0:
        text = line[at + 1 :]
    else:
        head = _SYSLOG_HEAD.match(line)
        text = line[head.end() :] if head else line
    return text if len(text) <= limit else text[: limit - 1] + "…"


def log_finding(group: LogGroup) -> Finding:
    """A log group as the Finding doctor ranks (the one conversion from the logs' model)."""
    text = (
        f"{group.count} log event(s) of {group.cause.value} for {group.destination or '?'} "
        f"via {group.relay or '?'}, e.g. {log_reason(group.sample)}"
    )
    finding = _observation(group.cause, group.relay or group.destination, Source.LOGS, text)
    return replace(finding, phase=group.phase)


def add_logs(ranker: Ranker, logs: LogSummary) -> None:
    """Log groups: scored by their share of the problem events."""
    total = sum(g.count for g in logs.groups) or 1
    for group in logs.groups:
        ranker.add(log_finding(group), 5 + 20 * group.count / total)


def add_probe(ranker: Ranker, probe: ProbeOutcome) -> None:
    """A live check: its findings weigh most; a passing check argues against the target's faults."""
    if probe.verdict is Verdict.OK or not probe.findings:
        text = (
            f"live check of {probe.target} ({probe.why}) passed just now: the fault is "
            "intermittent or already gone"
        )
        against = _observation(
            CauseCode.CONNECT_TIMEOUT, probe.target, Source.PROBE, text, supports=False
        )
        ranker.add(against, 20)
        return
    for finding in probe.findings:
        text = f"live check of {probe.target} ({probe.why}) now: {finding.summary}"
        seen = replace(
            finding,
            subject=finding.subject if finding.address else probe.target,
            evidence=(Evidence(Source.PROBE, text),),
        )
        ranker.add(seen, 40.0 if finding.severity is Severity.ERROR else 15.0)


def add_tls_conflict(ranker: Ranker, conflict: TlsConflict, relay: str) -> None:
    """The TLS level against the relay: the config and the probe, side by side.

    Scored like a failing live probe plus an error-level finding: the relay refuses what
    Postfix insists on, so nothing goes through until one side changes.
    """
    error = Severity.ERROR
    config = _observation(
        conflict.code, relay, Source.CONFIG, conflict.config_evidence, severity=error,
        fixes=conflict.fixes,
    )  # fmt: skip
    probe = _observation(
        conflict.code, relay, Source.PROBE, conflict.probe_evidence, severity=error,
        summary=conflict.summary,
    )  # fmt: skip
    ranker.add(config, 15)
    ranker.add(probe, 40)


def add_finding(ranker: Ranker, finding: Finding) -> None:
    """A Finding that explains the MTA's own evidence (e.g. from doctor.mta_view).

    It merges into the MTA's cause for the same fault and host: its summary and fixes lead,
    and its restatements of queue or log evidence the cause already has are left out. Each
    evidence line is its own observation (only the first one scores and brings the fixes),
    so each line's source counts when the sources disagree on the code.
    """
    had = ranker.sources_of(finding.code, finding.subject)
    evidence = [e for e in finding.evidence if e.source not in had or e.source is Source.CONFIG]
    for index, item in enumerate(evidence):
        first = index == 0
        line = replace(finding, evidence=(item,), fixes=finding.fixes if first else ())
        ranker.add(line, _CONFIG_WEIGHT[finding.severity] if first else 0.0, lead=True)


def rank(
    config: ConfigReport | None,
    queue: QueueShape | None,
    logs: LogSummary | None,
    probes: tuple[ProbeOutcome, ...],
    relay: str | None,
    flush_hint: str = "",
    tls_conflicts: tuple[TlsConflict, ...] = (),
    findings: tuple[Finding, ...] = (),
) -> list[RankedFinding]:
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


def report_verdict(report: DoctorReport) -> Verdict:
    """ok, degraded (warnings only) or failed (an error-level finding): decide_verdict.

    An error among the configuration findings that name no cause code (the MTA is not
    running, say) still keeps the verdict from "ok": mail does not flow either way.
    """
    verdict = decide_verdict(r.finding for r in report.causes)
    if verdict is Verdict.OK and _uncoded_errors(report.config.findings if report.config else ()):
        return Verdict.DEGRADED
    return verdict


def _uncoded_errors(findings: Iterable[ConfigFinding]) -> bool:
    return any(f.cause is None and f.severity is Severity.ERROR for f in findings)
