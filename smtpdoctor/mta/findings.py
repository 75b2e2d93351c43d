"""A configuration finding and the audit report that collects them."""

from __future__ import annotations

from dataclasses import dataclass, field

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.finding import Evidence, Finding, Severity, Source
from smtpdoctor.mta.model import Unreadable


@dataclass(frozen=True)
class ConfigFinding:
    """One setting or condition that causes (or risks) timeouts, with the fix."""

    area: str  # postfix, exim, resolver, resources, firewall
    subject: str  # the parameter, nameserver, rule or resource
    severity: Severity
    cause: CauseCode | None
    summary: str
    current: str = ""
    recommended: str = ""
    reason: str = ""
    command: str = ""  # the exact command that applies the recommendation, if any

    def to_finding(self) -> Finding | None:
        """The Finding doctor ranks; None for a finding that names no cause code."""
        if self.cause is None:
            return None
        source = Source.FIREWALL if self.area == "firewall" else Source.CONFIG
        text = self.summary
        if self.current and source is Source.CONFIG and self.current not in text:
            text += f" (now {self.current})"
        return Finding(
            code=self.cause,
            severity=self.severity,
            summary=self.summary,
            subject=self.subject,
            evidence=(Evidence(source, text),),
            fixes=(self.command,) if self.command else (),
        )


@dataclass(frozen=True)
class AuditSection:
    """What one area of the audit looked at and found."""

    area: str
    checked: tuple[str, ...] = ()  # what was read and looked at, in words
    facts: tuple[tuple[str, str], ...] = ()  # name, value: what the machine has
    findings: tuple[ConfigFinding, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()

    @property
    def ran(self) -> bool:
        """True if anything in this area could be checked."""
        return bool(self.checked)


@dataclass(frozen=True)
class ConfigReport:
    """The whole audit: one section per area."""

    sections: tuple[AuditSection, ...] = field(default_factory=tuple)

    @property
    def findings(self) -> tuple[ConfigFinding, ...]:
        """Every finding, the most severe first."""
        every = [f for s in self.sections for f in s.findings]
        return tuple(sorted(every, key=lambda f: f.severity.rank))

    @property
    def ran(self) -> bool:
        """True if at least one area could be checked."""
        return any(s.ran for s in self.sections)

    def fact(self, area: str, name: str) -> str | None:
        """A fact recorded by an area, or None."""
        for section in self.sections:
            if section.area == area:
                for key, value in section.facts:
                    if key == name:
                        return value
        return None
