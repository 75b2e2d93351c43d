"""The configuration audit as JSON (schema smtpdoctor.config/1)."""

from __future__ import annotations

import json
from typing import Any

from smtpdoctor.mta.findings import ConfigFinding, ConfigReport

SCHEMA = "smtpdoctor.config/1"


def finding_dict(f: ConfigFinding) -> dict[str, Any]:
    """One finding as plain data."""
    return {
        "area": f.area,
        "subject": f.subject,
        "severity": f.severity.value,
        "cause": f.cause.value if f.cause else None,
        "summary": f.summary,
        "current": f.current,
        "recommended": f.recommended,
        "reason": f.reason,
        "command": f.command,
    }


def as_dict(report: ConfigReport) -> dict[str, Any]:
    """The report as plain data (also embedded in the doctor report)."""
    return {
        "findings": [finding_dict(f) for f in report.findings],
        "sections": [
            {
                "area": s.area,
                "checked": list(s.checked),
                "facts": dict(s.facts),
                "unreadable": [{"source": u.source, "reason": u.reason} for u in s.unreadable],
            }
            for s in report.sections
        ],
    }


def render(report: ConfigReport) -> str:
    """One JSON document."""
    return json.dumps({"schema": SCHEMA, **as_dict(report)}, indent=2)
