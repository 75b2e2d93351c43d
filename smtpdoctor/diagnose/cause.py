"""A diagnosed cause: a catalogue code applied to one place, with evidence and a fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smtpdoctor.catalogue import CauseCode, describe
from smtpdoctor.phases import Phase


class Severity(StrEnum):
    """How much a cause matters to the verdict."""

    ERROR = "error"  # mail does not get through this way
    WARNING = "warning"  # mail gets through, late or at risk
    INFO = "info"  # worth knowing; does not change the verdict


@dataclass(frozen=True)
class Cause:
    """One finding: what went wrong, where, the proof and what to do."""

    code: CauseCode
    severity: Severity
    summary: str
    evidence: tuple[str, ...]
    fix: tuple[str, ...]
    phase: Phase | None = None
    address: str | None = None
    port: int | None = None
    host: str | None = None

    @property
    def title(self) -> str:
        """The catalogue's title for the code."""
        return describe(self.code).title


def make_cause(
    code: CauseCode,
    severity: Severity,
    summary: str,
    evidence: list[str] | tuple[str, ...],
    *,
    phase: Phase | None = None,
    address: str | None = None,
    port: int | None = None,
    host: str | None = None,
    specific_fix: list[str] | tuple[str, ...] = (),
) -> Cause:
    """A Cause whose fix is the specific lines first, then the catalogue's fixes."""
    fixes = tuple(specific_fix) + tuple(f for f in describe(code).fixes if f not in specific_fix)
    return Cause(
        code=code,
        severity=severity,
        summary=summary,
        evidence=tuple(evidence),
        fix=fixes,
        phase=phase,
        address=address,
        port=port,
        host=host,
    )
