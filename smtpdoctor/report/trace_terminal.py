"""`smtpdoctor trace` for people: one line per hop, then where the packets stop."""

from __future__ import annotations

from smtpdoctor.net.hops import Hop, HopKind, TraceResult, last_answering_hop

_STOPPED = {
    "reached": "the port answered (SYN-ACK): the path is open",
    "reset": "the destination answered with a reset: reachable, but nothing listens "
    "(or a firewall rejects)",
    "unreachable": "an ICMP unreachable came back: a router or firewall refuses the path",
    "silent": "packets vanish after the last answering hop: something drops them there",
    "max_hops": "the maximum number of hops was reached without an answer",
    "error": "this machine could not send the probe (no route?)",
}


def _hop_line(hop: Hop) -> str:
    if hop.address is None:
        return f"{hop.ttl:>3}  *" + (f"  ({hop.detail})" if hop.detail else "")
    rtt = f"{hop.rtt_ms:.1f} ms" if hop.rtt_ms is not None else ""
    tag = {HopKind.REACHED: "  [open]", HopKind.RESET: "  [reset]"}.get(hop.kind, "")
    if hop.kind == HopKind.UNREACHABLE:
        tag = f"  [{hop.detail or 'unreachable'}]"
    return f"{hop.ttl:>3}  {hop.address:<39} {rtt:>10}{tag}"


def render(trace: TraceResult) -> str:
    """The trace as plain text."""
    host = f"[{trace.address}]" if ":" in trace.address else trace.address
    name = "" if trace.target == trace.address else f"{trace.target} "
    lines = [
        f"TCP trace to {name}{host}:{trace.port} ({trace.family_name}), "
        f"max {trace.max_hops} hops, {trace.probe_timeout_s:g} s per probe",
    ]
    lines += [_hop_line(h) for h in trace.hops]
    last = last_answering_hop(trace)
    lines.append("")
    lines.append(f"Result: {_STOPPED.get(trace.stopped, trace.stopped)}.")
    if not trace.reached:
        if last is None:
            lines.append("No hop answered at all: the drop is at the first router or on this host.")
        else:
            lines.append(
                f"Last answering hop: {last.address} (hop {last.ttl}); the drop is there or "
                "just after it."
            )
    took = trace.elapsed_ms
    lines.append(f"Took {took:.0f} ms." if took < 1000 else f"Took {took / 1000:.1f} s.")
    return "\n".join(lines) + "\n"
