"""The doctor report: ranked causes with the evidence from each source side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.cause import Severity
from smtpdoctor.mta.findings import ConfigReport
from smtpdoctor.mta.shape import QueueShape

if TYPE_CHECKING:
    from smtpdoctor.doctor.tls_policy import RelayTls


@dataclass(frozen=True)
class Evidence:
    """One observation from one source."""

    source: str  # queue, config, firewall, logs, probe
    text: str
    supports: bool = True  # False: this observation argues against the cause


@dataclass(frozen=True)
class RankedCause:
    """A cause with its score, where it applies, the evidence and the fixes."""

    code: CauseCode
    subject: str  # the relay host, domain, nameserver or parameter it is about
    score: float
    severity: Severity
    summary: str
    evidence: tuple[Evidence, ...]
    fixes: tuple[str, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """The distinct sources that support the cause, in a stable order."""
        order = ("queue", "config", "firewall", "logs", "probe")
        have = {e.source for e in self.evidence if e.supports}
        return tuple(s for s in order if s in have)


@dataclass(frozen=True)
class ProbeOutcome:
    """A live check of one target: the verdict and its causes (from diagnose)."""

    target: str
    why: str  # "relay host" or "top deferred destination"
    verdict: str
    causes: tuple[Any, ...]  # smtpdoctor.diagnose.cause.Cause
    json: dict[str, Any] = field(default_factory=dict)
    tls: RelayTls | None = None  # what the session showed about STARTTLS and the certificate


@dataclass(frozen=True)
class LogSummary:
    """What the logs said, reduced to what doctor ranks on."""

    sources: tuple[str, ...]
    groups: tuple[tuple[CauseCode, str, str, int, str], ...]  # cause, destination, relay, n, sample
    totals: dict[str, int]


@dataclass(frozen=True)
class DoctorReport:
    """Everything doctor found: ranked causes first, then each source's own result."""

    causes: tuple[RankedCause, ...]
    config: ConfigReport | None
    queue: QueueShape | None
    logs: LogSummary | None
    probes: tuple[ProbeOutcome, ...]
    checked: tuple[str, ...]
    not_checked: tuple[str, ...]  # "source: why" for every source that could not be read
