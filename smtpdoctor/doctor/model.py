"""The doctor report: ranked Findings with the evidence from each source side by side."""

from __future__ import annotations

from dataclasses import dataclass

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.rules import Diagnosis
from smtpdoctor.doctor.tls_policy import RelayTls
from smtpdoctor.finding import Evidence, Finding, Severity, Source, Verdict
from smtpdoctor.logs.model import LogGroup
from smtpdoctor.mta.findings import ConfigReport
from smtpdoctor.mta.shape import QueueShape
from smtpdoctor.probe.results import CheckResult

__all__ = [
    "DoctorReport",
    "Evidence",
    "LogSummary",
    "ProbeOutcome",
    "RankedCause",
    "RankedFinding",
]


@dataclass(frozen=True)
class RankedFinding:
    """A merged Finding and the score that ranks it (the sum of its sources' weights)."""

    finding: Finding
    score: float

    @property
    def code(self) -> CauseCode:
        """The finding's cause code."""
        return self.finding.code

    @property
    def subject(self) -> str:
        """The relay host, domain, nameserver or parameter it is about."""
        return self.finding.subject

    @property
    def severity(self) -> Severity:
        """The worst severity any source gave it."""
        return self.finding.severity

    @property
    def summary(self) -> str:
        """One sentence: the live check's words when there was one."""
        return self.finding.summary

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        """Every observation, in the order the sources were read."""
        return self.finding.evidence

    @property
    def fixes(self) -> tuple[str, ...]:
        """The specific fixes first, then the catalogue's."""
        return self.finding.fixes

    @property
    def sources(self) -> tuple[Source, ...]:
        """The distinct sources that support it."""
        return self.finding.sources


# The name before issue 8 (code that other branches wrote against it still imports it).
RankedCause = RankedFinding


@dataclass(frozen=True)
class ProbeOutcome:
    """A live check of one target: its result and its diagnosis."""

    target: str
    why: str  # "relay host" or "top deferred destination"
    diagnosis: Diagnosis
    result: CheckResult | None = None  # None only where a test builds the diagnosis alone
    tls: RelayTls | None = None  # what the session showed about STARTTLS and the certificate

    @property
    def verdict(self) -> Verdict:
        """The check's verdict."""
        return self.diagnosis.verdict

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The check's findings, most severe first."""
        return self.diagnosis.findings


@dataclass(frozen=True)
class LogSummary:
    """What the logs said: the outbound groups doctor ranks on, and the totals."""

    sources: tuple[str, ...]
    groups: tuple[LogGroup, ...]
    totals: dict[str, int]


@dataclass(frozen=True)
class DoctorReport:
    """Everything doctor found: ranked findings first, then each source's own result."""

    causes: tuple[RankedFinding, ...]
    config: ConfigReport | None
    queue: QueueShape | None
    logs: LogSummary | None
    probes: tuple[ProbeOutcome, ...]
    checked: tuple[str, ...]
    not_checked: tuple[str, ...]  # "source: why" for every source that could not be read
