"""Building check's Findings: a catalogue code applied to one place, with evidence and fixes.

`Severity` and `Finding` live in `smtpdoctor.finding` (the one result type); they are
imported here so rules need one import.
"""

from __future__ import annotations

import re

from smtpdoctor.catalogue import CauseCode, describe
from smtpdoctor.finding import Evidence, Finding, Severity, Source
from smtpdoctor.phases import Phase

__all__ = ["Finding", "Severity", "make_cause", "subject_of"]


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
    not_about: tuple[str, ...] = (),
) -> Finding:
    """A probe Finding whose fixes are the specific lines first, then the catalogue's.

    ``not_about``: words of catalogue fixes that the evidence rules out (a loopback path
    has no MTU problem, a self-signed certificate needs no renewal): those lines are left
    out, so every fix follows from what this run saw.
    """
    # A catalogue line whose command the specific lines already give with real values
    # (`smtpdoctor trace HOST:PORT` against `smtpdoctor trace 192.0.2.1:25`) is left out.
    given = {_command_words(line) for line in specific_fix} - {None}
    fixes = tuple(specific_fix) + tuple(
        f
        for f in describe(code).fixes
        if f not in specific_fix
        and not (_is_template(f) and _command_words(f) in given)
        and not any(words in f for words in not_about)
    )
    return Finding(
        code=code,
        severity=severity,
        summary=summary,
        subject=subject_of(host, address, port),
        phase=phase,
        evidence=tuple(Evidence(Source.PROBE, line) for line in evidence),
        fixes=fixes,
        host=host,
        address=address,
        port=port,
    )


def subject_of(host: str | None, address: str | None, port: int | None) -> str:
    """'[192.0.2.1]:25' for an endpoint, else the host name (or domain) it is about."""
    if address is not None:
        return f"[{address}]" + (f":{port}" if port else "")
    return host or ""


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
