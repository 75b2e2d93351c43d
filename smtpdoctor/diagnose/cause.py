"""A diagnosed cause: a catalogue code applied to one place, with evidence and a fix."""

from __future__ import annotations

import re
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
    # A catalogue line whose command the specific lines already give with real values
    # (`smtpdoctor trace HOST:PORT` against `smtpdoctor trace 192.0.2.1:25`) is left out.
    given = {_command_words(line) for line in specific_fix} - {None}
    fixes = tuple(specific_fix) + tuple(
        f
        for f in describe(code).fixes
        if f not in specific_fix and not (_is_template(f) and _command_words(f) in given)
    )
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


def _command_words(line: str) -> str | None:
    """The first two words of the first `command` in a fix line, if it has one."""
    start = line.find("`")
    end = line.find("`", start + 1)
    if start < 0 or end < 0:
        return None
    words = line[start + 1 : end].split()
    return " ".join(words[:2]) if len(words) >= 2 else None


_PLACEHOLDER = re.compile(r"\b(HOST|PORT|ADDRESS|DOMAIN|NAME|FILE|USER)\b")


def _is_template(line: str) -> bool:
    """True when the line's command has placeholders (HOST:PORT) for the admin to fill."""
    start = line.find("`")
    end = line.find("`", start + 1)
    return start >= 0 and end > start and bool(_PLACEHOLDER.search(line[start:end]))
