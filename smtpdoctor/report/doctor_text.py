"""The doctor report for the terminal: the ranked causes with their evidence side by side."""

from __future__ import annotations

from smtpdoctor.doctor.model import DoctorReport
from smtpdoctor.finding import Verdict
from smtpdoctor.report import config_text, queue_text

_MAX_FIXES = 4


def render(report: DoctorReport, verdict: Verdict) -> str:
    """Ranked causes, evidence per source, fixes; then what was and was not checked."""
    lines = [f"smtpdoctor doctor: {verdict}"]
    if not report.causes:
        lines.append("  no cause of timeouts found in what could be checked")
    for index, cause in enumerate(report.causes[:8], 1):
        lines += [
            "",
            f"{index}. {cause.code.value}: {cause.summary}",
            f"   subject: {cause.subject or '-'}   score {cause.score:g}   "
            f"evidence from: {', '.join(cause.sources) or 'none'}",
        ]
        for e in cause.evidence:
            mark = "+" if e.supports else "-"
            lines.append(f"   {mark} {e.source:<8} {e.text}")
        lines.append("   fix:")
        lines += [f"     - {fix}" for fix in cause.fixes[:_MAX_FIXES]]
        if len(cause.fixes) > _MAX_FIXES:
            lines.append(f"     (`smtpdoctor explain {cause.code.value}` has more)")
    if len(report.causes) > 8:
        lines.append(f"\n... {len(report.causes) - 8} lower-ranked causes (--json lists all)")
    if report.queue is not None and report.queue.messages:
        lines += ["", *queue_text.render_lines(report.queue)[:2]]
    if report.config is not None:
        other = [f for f in report.config.findings if f.cause is None]
        if other:
            lines += ["", "Other configuration findings:"]
            for f in other:
                lines += config_text.finding_lines(f)
    lines += ["", "Checked: " + "; ".join(report.checked)]
    if report.not_checked:
        lines.append("Not checked:")
        lines += [f"  - {n}" for n in report.not_checked]
    return "\n".join(lines) + "\n"
