"""The configuration audit for the terminal."""

from __future__ import annotations

from smtpdoctor.mta.findings import ConfigFinding, ConfigReport

_MARK = {"error": "ERROR", "warning": "WARN ", "info": "info "}


def finding_lines(f: ConfigFinding, indent: str = "  ") -> list[str]:
    """One finding: severity, summary, cause, values, why and the command."""
    cause = f" [{f.cause.value}]" if f.cause else ""
    lines = [f"{indent}{_MARK[f.severity.value]} {f.area}: {f.summary}{cause}"]
    if f.recommended and f.recommended != f.current:
        lines.append(f"{indent}      now: {f.current or '(unset)'}  recommended: {f.recommended}")
    if f.reason:
        lines.append(f"{indent}      why: {f.reason}")
    if f.command:
        lines.append(f"{indent}      $ {f.command}")
    return lines


def render(report: ConfigReport) -> str:
    """Findings first, then what each area read, then what it could not read."""
    findings = report.findings
    lines = [f"Configuration audit: {len(findings)} finding(s)"]
    for f in findings:
        lines += finding_lines(f)
    for section in report.sections:
        lines += ["", f"{section.area}:"]
        lines += [f"  checked: {c}" for c in section.checked]
        lines += [f"  {name} = {value}" for name, value in section.facts]
        lines += [f"  could not read {u.source}: {u.reason}" for u in section.unreadable]
    return "\n".join(lines) + "\n"
