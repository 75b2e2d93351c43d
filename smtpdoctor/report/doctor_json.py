"""The doctor report as JSON (schema smtpdoctor.doctor/1)."""

from __future__ import annotations

import json
from typing import Any

from smtpdoctor.doctor.model import DoctorReport, ProbeOutcome, RankedFinding
from smtpdoctor.finding import Verdict
from smtpdoctor.report import check_json, config_json, queue_json

SCHEMA = "smtpdoctor.doctor/1"


def _cause(rank: int, cause: RankedFinding) -> dict[str, Any]:
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


def _probe(probe: ProbeOutcome) -> dict[str, Any]:
    check = check_json.check_dict(probe.result, probe.diagnosis) if probe.result else {}
    return {"target": probe.target, "why": probe.why, "verdict": probe.verdict, "check": check}


def render(report: DoctorReport, verdict: Verdict) -> str:
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
                    {
                        "cause": g.cause.value,
                        "destination": g.destination,
                        "relay": g.relay,
                        "count": g.count,
                        "sample": g.sample,
                    }
                    for g in report.logs.groups
                ],
            }
            if report.logs
            else None
        ),
        "probes": [_probe(p) for p in report.probes],
    }
    return json.dumps(doc, indent=2, default=str)
