"""`smtpdoctor trace --json`: schema smtpdoctor.trace/1."""

from __future__ import annotations

import json
from typing import Any

from smtpdoctor.net.hops import Hop, TraceResult, last_answering_hop

SCHEMA = "smtpdoctor.trace/1"


def hop_dict(hop: Hop) -> dict[str, Any]:
    """One hop as JSON (address and rtt_ms are null for a silent hop)."""
    return {
        "ttl": hop.ttl,
        "kind": hop.kind,
        "address": hop.address,
        "rtt_ms": hop.rtt_ms,
        "detail": hop.detail,
    }


def as_dict(trace: TraceResult) -> dict[str, Any]:
    """The trace as a JSON-ready dict (without the schema field)."""
    last = last_answering_hop(trace)
    return {
        "target": trace.target,
        "address": trace.address,
        "family": trace.family_name,
        "port": trace.port,
        "reached": trace.reached,
        "stopped": trace.stopped,
        "last_answering_hop": hop_dict(last) if last else None,
        "max_hops": trace.max_hops,
        "probe_timeout_s": trace.probe_timeout_s,
        "elapsed_ms": trace.elapsed_ms,
        "hops": [hop_dict(h) for h in trace.hops],
    }


def render(trace: TraceResult) -> str:
    """One JSON document."""
    return json.dumps({"schema": SCHEMA, **as_dict(trace)}, indent=2) + "\n"
