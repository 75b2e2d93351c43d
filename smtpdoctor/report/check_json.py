"""`smtpdoctor check --json`: schema smtpdoctor.check/1 (documented in docs/json-schemas.md)."""

from __future__ import annotations

import json
from typing import Any

from smtpdoctor.diagnose.rules import Diagnosis
from smtpdoctor.finding import Finding
from smtpdoctor.probe.results import (
    CheckResult,
    DnsQuery,
    EndpointResult,
    MxPlan,
    PhaseResult,
    ReferenceHost,
    ResolveResult,
    TlsInfo,
)
from smtpdoctor.report import trace_json

SCHEMA = "smtpdoctor.check/1"


def cause_dict(cause: Finding) -> dict[str, Any]:
    """One cause as JSON."""
    return {
        "code": cause.code.value,
        "title": cause.title,
        "severity": cause.severity.value,
        "phase": cause.phase.value if cause.phase else None,
        "host": cause.host,
        "address": cause.address,
        "port": cause.port,
        "summary": cause.summary,
        "evidence": list(cause.evidence_lines),
        "fix": list(cause.fixes),
    }


def _phase(p: PhaseResult) -> dict[str, Any]:
    return {
        "phase": p.phase.value,
        "status": p.status.value,
        "ms": p.elapsed_ms,
        "limit_s": p.limit_s,
        "reply": {"code": p.reply.code, "lines": list(p.reply.lines)} if p.reply else None,
        "detail": p.detail,
        "errno": p.errno_name,
        "budget_exhausted": p.budget_exhausted,
    }


def _tls(tls: TlsInfo | None) -> dict[str, Any] | None:
    if tls is None:
        return None
    return {
        "version": tls.version,
        "cipher": tls.cipher,
        "verified": tls.verified,
        "verify_error": tls.verify_error,
        "sni": tls.sni,
        "chain": [
            {
                "subject": c.subject,
                "issuer": c.issuer,
                "not_before": c.not_before,
                "not_after": c.not_after,
                "days_left": c.days_left,
                "names": list(c.names),
            }
            for c in tls.chain
        ],
    }


def endpoint_dict(ep: EndpointResult, passes: bool | None = None) -> dict[str, Any]:
    """One endpoint as JSON (follow-up probes nested)."""
    failed = ep.failed_phase
    return {
        "host": ep.host,
        "address": ep.address,
        "family": ep.family_name,
        "port": ep.port,
        "tls_mode": ep.tls_mode.value,
        "explicit": ep.explicit,
        "reference": ep.reference,
        "status": "ok" if ep.completed else "failed",
        "passes": ep.completed if passes is None else passes,
        "failed_phase": failed.phase.value if failed else None,
        "total_ms": round(ep.total_ms, 1),
        "mss": ep.mss,
        "phases": [_phase(p) for p in ep.phases],
        "capabilities": dict(ep.capabilities),
        "tls": _tls(ep.tls),
        "notes": list(ep.notes),
        "transcript": [
            {"ms": line.at_ms, "dir": line.direction.value, "text": line.text}
            for line in ep.transcript
        ],
        "tls_mode_probe": endpoint_dict(ep.tls_mode_probe) if ep.tls_mode_probe else None,
        "retry_with_clamped_mss": (
            endpoint_dict(ep.retry_with_clamped_mss) if ep.retry_with_clamped_mss else None
        ),
    }


def _query(q: DnsQuery) -> dict[str, Any]:
    return {
        "name": q.name,
        "type": q.rdtype,
        "status": q.status,
        "ms": q.elapsed_ms,
        "answers": list(q.answers),
        "nameserver": q.nameserver,
        "detail": q.detail,
    }


def resolve_dict(r: ResolveResult) -> dict[str, Any]:
    """The resolution step as JSON."""
    return {
        "name": r.name,
        "addresses": list(r.addresses),
        "nameservers": list(r.nameservers),
        "elapsed_ms": r.elapsed_ms,
        "is_literal": r.is_literal,
        "queries": [_query(q) for q in r.queries],
    }


def _mx(mx: MxPlan) -> dict[str, Any]:
    return {
        "domain": mx.domain,
        "status": mx.status,
        "null_mx": mx.null_mx,
        "implicit": mx.implicit,
        "elapsed_ms": mx.elapsed_ms,
        "nameservers": list(mx.nameservers),
        "queries": [_query(q) for q in mx.mx_queries],
        "notes": list(mx.notes),
        "hosts": [
            {
                "preference": h.preference,
                "host": h.host,
                "addresses": list(h.addresses),
                "resolve": resolve_dict(h.resolve),
            }
            for h in mx.hosts
        ],
    }


def _reference(ref: ReferenceHost) -> dict[str, Any]:
    return {"host": ref.host, "addresses": list(ref.addresses)}


def check_dict(result: CheckResult, diagnosis: Diagnosis) -> dict[str, Any]:
    """The whole document as a dict."""
    causes = list(diagnosis.findings)
    passed = set(diagnosis.passed)  # the diagnosis already judged each explicit endpoint
    return {
        "schema": SCHEMA,
        "target": result.target,
        "host": result.host,
        "ports": list(result.ports),
        "profile": result.profile,
        "timeouts": result.timeouts.as_dict(),
        "budget_s": result.budget_s,
        "started_at": result.started_at,
        "elapsed_ms": result.elapsed_ms,
        "verdict": diagnosis.verdict,
        "causes": [cause_dict(c) for c in causes],
        "resolve": resolve_dict(result.resolve),
        "endpoints": [
            endpoint_dict(ep, ep.label in passed if ep.explicit else None)
            for ep in result.endpoints
        ],
        "mx": _mx(result.mx) if result.mx is not None else None,
        "traces": [trace_json.as_dict(t) for t in result.traces],
        **({"extra": {"reference": _reference(result.reference)}} if result.reference else {}),
    }


def render(result: CheckResult, diagnosis: Diagnosis) -> str:
    """The JSON document, indented, with a final newline."""
    return json.dumps(check_dict(result, diagnosis), indent=2) + "\n"
