"""The doctor report as JSON (schema smtpdoctor.doctor/1)."""

from __future__ import annotations

import json
from typing import Any

from smtpdoctor.doctor.model import DoctorReport, RankedCause
from smtpdoctor.report import config_json, queue_json

SCHEMA = "smtpdoctor.doctor/1"


def _cause(rank: int, cause: RankedCause) -> dict[str, Any]:
    return {
        "rank": rank,
        "code": cause.code.value,
        "subject": cause.subject,
        "score": cause.score,
        "severity": cause.severity.value,
        "summary": cause.summary,
        "sources": list(cause.sources),
        "evidence": [
            {"source": e.source, "text": e.text, "supports": e.supports} for e in cause.evidence
        ],
        "fixes": list(cause.fixes),
    }


def render(report: DoctorReport, verdict: str) -> str:
    """One JSON document: the ranked causes and each source's own result."""
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "verdict": verdict,
        "causes": [_cause(i + 1, c) for i, c in enumerate(report.causes)],
        "checked": list(report.checked),
        "not_checked": list(report.not_checked),
        "config": config_json.as_dict(report.config) if report.config else None,
        "queue": queue_json.as_dict(report.queue) if report.queue else None,
        "logs": (
            {
                "sources": list(report.logs.sources),
                "totals": report.logs.totals,
                "groups": [
                    {"cause": c.value, "destination": d, "relay": r, "count": n, "sample": s}
                    for c, d, r, n, s in report.logs.groups
                ],
            }
            if report.logs
            else None
        ),
        "probes": [
            {"target": p.target, "why": p.why, "verdict": p.verdict, "check": p.json}
            for p in report.probes
        ],
    }
    return json.dumps(doc, indent=2, default=str)
