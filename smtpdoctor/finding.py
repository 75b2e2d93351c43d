"""The one result type every command produces: a Finding, and the verdict over findings.

check's causes, config's findings, the queue's groups and the log groups all become
``Finding`` values; doctor merges and ranks them, monitor turns them into metric labels and
failover's circuit breaker reads their codes. This module is pure (no IO, no imports beyond
the vocabulary), so anything may depend on it and it depends on nothing that does IO.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from smtpdoctor.catalogue import CauseCode, describe
from smtpdoctor.phases import Phase

__all__ = [
    "Evidence",
    "Finding",
    "Severity",
    "Source",
    "Verdict",
    "decide_verdict",
]


class Severity(StrEnum):
    """How much a finding matters to the verdict."""

    ERROR = "error"  # mail does not get through this way
    WARNING = "warning"  # mail gets through, late or at risk
    INFO = "info"  # worth knowing; does not change the verdict

    @property
    def rank(self) -> int:
        """0 for the most severe: sort findings by it."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


class Source(StrEnum):
    """Where an observation came from."""

    # In the order reports list them (doctor's "evidence from: queue, config, probe").
    QUEUE = "queue"  # mail waiting now
    CONFIG = "config"  # the MTA's, resolver's or system's settings
    FIREWALL = "firewall"  # the local packet filter
    LOGS = "logs"  # the MTA's log, in the past
    PROBE = "probe"  # a live check, now


@dataclass(frozen=True)
class Evidence:
    """One observation from one source that supports (or argues against) a finding."""

    source: Source
    text: str
    supports: bool = True  # False: this observation argues against the finding


@dataclass(frozen=True)
class Finding:
    """What went wrong (the code), where (phase, subject), how sure (evidence), what to do."""

    code: CauseCode
    severity: Severity
    summary: str
    subject: str = ""  # the host:port, domain, parameter or nameserver it is about
    phase: Phase | None = None
    evidence: tuple[Evidence, ...] = ()
    fixes: tuple[str, ...] = ()
    # Where a live check saw it (check's findings): the endpoint's name, address and port.
    host: str | None = None
    address: str | None = None
    port: int | None = None

    @property
    def title(self) -> str:
        """The catalogue's title for the code."""
        return describe(self.code).title

    @property
    def evidence_lines(self) -> tuple[str, ...]:
        """The evidence as text, in order (what check's JSON lists)."""
        return tuple(e.text for e in self.evidence)

    @property
    def sources(self) -> tuple[Source, ...]:
        """The distinct sources that support the finding, in a stable order."""
        have = {e.source for e in self.evidence if e.supports}
        return tuple(s for s in Source if s in have)


class Verdict(StrEnum):
    """The one-word answer every command gives (and maps to its exit code)."""

    OK = "ok"  # nothing above INFO
    DEGRADED = "degraded"  # mail flows, late or at risk
    FAILED = "failed"  # mail does not get through


def decide_verdict(findings: Iterable[Finding], *, mail_flows: bool | None = None) -> Verdict:
    """The verdict over findings: the one function every command uses.

    ``mail_flows`` is what the command saw of mail getting through: False (no endpoint
    passed a check) is FAILED whatever the findings say; True (some path works) makes the
    findings at worst DEGRADED. None, for commands that see no path (config, queue, logs),
    lets the findings decide: an ERROR finding means mail does not flow.
    """
    worst = min((f.severity.rank for f in findings), default=Severity.INFO.rank)
    if mail_flows is None:
        mail_flows = worst != Severity.ERROR.rank
    if not mail_flows:
        return Verdict.FAILED
    if worst <= Severity.WARNING.rank:
        return Verdict.DEGRADED
    return Verdict.OK
