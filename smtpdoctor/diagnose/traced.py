"""`check --trace`: the traceroute's last answering hop as evidence. No IO."""

from __future__ import annotations

from dataclasses import replace

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.finding import Evidence, Finding, Source
from smtpdoctor.net.hops import TraceResult, last_answering_hop
from smtpdoctor.probe.results import CheckResult


def trace_for(result: CheckResult, address: str, port: int) -> TraceResult | None:
    """The `--trace` result recorded for an address and port, if any."""
    return next((t for t in result.traces if t.address == address and t.port == port), None)


def trace_lines(trace: TraceResult) -> list[str]:
    """Evidence lines from a TCP traceroute: the last hop that answered, and the path."""
    last = last_answering_hop(trace)
    path = " > ".join(h.address or "*" for h in trace.hops)
    where = (
        f"[{trace.address}]:{trace.port}"
        if ":" in trace.address
        else (f"{trace.address}:{trace.port}")
    )
    if trace.reached:
        head = f"trace to {where}: reached in {len(trace.hops)} hops"
    elif last is None:
        head = f"trace to {where}: no hop answered at all"
    else:
        head = (
            f"trace to {where}: the last hop that answered is "
            f"{last.address} (hop {last.ttl}); the packets stop there or just after it"
        )
    return [head, f"path: {path}"]


_TRACED = frozenset(
    {CauseCode.CONNECT_TIMEOUT, CauseCode.PORT25_BLOCKED, CauseCode.HOST_UNREACHABLE}
)


def with_trace(cause: Finding, result: CheckResult) -> Finding:
    """Add the `--trace` finding to the evidence of a cause about a lost connection."""
    if cause.code not in _TRACED or cause.address is None or cause.port is None:
        return cause
    trace = trace_for(result, cause.address, cause.port)
    if trace is None:
        return cause
    lines = (Evidence(Source.PROBE, line) for line in trace_lines(trace))
    return replace(cause, evidence=(*cause.evidence, *lines))
