"""Network causes that need more than one endpoint to prove: pure rules over a CheckResult.

- `ipv6_broken`: the same host and port, IPv4 completes and IPv6 fails.
- `port25_blocked`: port 25 times out while 587 or 465 of the same address connects, or
  while a reference host (`--reference`, known to accept port 25) times out on 25 too;
  never when port 25 of any host in the same run (another MX, another address, the
  reference) connects: that proves this side does not block port 25, so the dropped
  host keeps its `connect_timeout` (and the domain its `mx_partial`).
- `mtu_blackhole`: a session stalled where packets get large, and the same phase
  completed when retried with a clamped MSS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.cause import Finding, Severity, make_cause
from smtpdoctor.finding import Evidence, Source
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import CheckResult, EndpointResult, PhaseResult, PhaseStatus

_OTHER_PORTS = (587, 465)


def _phase_line(p: PhaseResult) -> str:
    limit = f" (limit {p.limit_s:g} s)" if p.limit_s is not None else ""
    detail = f": {p.detail}" if p.detail else ""
    return f"{p.phase.value} {p.status.value} after {p.elapsed_ms:.0f} ms{limit}{detail}"


def endpoint_line(ep: EndpointResult) -> str:
    """'IPv4 192.0.2.1:25: connect ok after 1 ms; greeting ok after 3 ms; ...'."""
    phases = "; ".join(_phase_line(p) for p in ep.phases) or "not probed"
    mss = f" (MSS clamped to {ep.mss})" if ep.mss else ""
    return f"{ep.family_name} {ep.label}{mss}: {phases}"


def _connect(ep: EndpointResult) -> PhaseResult | None:
    return ep.phase(Phase.CONNECT)


def _connected(ep: EndpointResult) -> bool:
    c = _connect(ep)
    return c is not None and c.ok


def _connect_timed_out(ep: EndpointResult) -> bool:
    c = _connect(ep)
    return c is not None and c.status is PhaseStatus.TIMEOUT and not c.budget_exhausted


def network_causes(result: CheckResult) -> list[Finding]:
    """ipv6_broken, port25_blocked and mtu_blackhole causes in RESULT."""
    reference = result.reference.host if result.reference is not None else None
    own = [ep for ep in result.endpoints if not ep.reference]
    refs = [ep for ep in result.endpoints if ep.reference]
    ipv6_works = [ep for ep in result.endpoints if ep.family_name == "IPv6" and _connected(ep)]
    causes = _ipv6_broken([ep for ep in own if ep.explicit], ipv6_works)
    causes += _port25_blocked(own, refs, reference)
    causes += _mtu_blackhole(own)
    return causes


def _ipv6_broken(
    endpoints: list[EndpointResult], ipv6_works: list[EndpointResult]
) -> list[Finding]:
    """IPv4 works and IPv6 fails for the same host and port.

    When IPv6 to another host connects in the same run, this machine's IPv6 is fine: the
    finding then points at that host, not at this machine's settings.
    """
    groups: dict[tuple[str, int], list[EndpointResult]] = {}
    for ep in endpoints:
        groups.setdefault((ep.host, ep.port), []).append(ep)
    causes = []
    for (host, port), eps in groups.items():
        v4 = [ep for ep in eps if ep.family_name == "IPv4"]
        v6 = [ep for ep in eps if ep.family_name == "IPv6"]
        v4_ok = [ep for ep in v4 if ep.completed]
        v6_failed = [ep for ep in v6 if not ep.completed]
        if not v4_ok or not v6 or len(v6_failed) != len(v6):
            continue
        first = v6_failed[0]
        failed = first.failed_phase
        how = (
            f"{failed.phase.value} {failed.status.value} after {failed.elapsed_ms:.0f} ms"
            if failed
            else "failed"
        )
        addr = "[" + first.address + "]"
        summary = (
            f"IPv6 to {host} port {port} fails ({how}) while IPv4 ({v4_ok[0].address}) "
            f"works. Clients that prefer IPv6 wait for the IPv6 attempt to time out on "
            f"every message before falling back to IPv4 (Postfix: up to "
            f"smtp_connect_timeout, 30 s, per IPv6 address); clients that prefer IPv6 "
            f"without fallback never deliver."
        )
        evidence = [*(endpoint_line(ep) for ep in v4), *(endpoint_line(ep) for ep in v6)]
        trace = f"Find where IPv6 stops: `smtpdoctor trace {addr}:{port}`."
        elsewhere = [ep for ep in ipv6_works if ep.host != host]
        not_about: tuple[str, ...] = ()
        if elsewhere:
            other = elsewhere[0]
            summary += (
                f" IPv6 to {other.host} ({other.address}) connects in the same run, so this "
                f"machine's IPv6 works: the fault is at {host} or on the path to it."
            )
            evidence.append(f"IPv6 elsewhere: {endpoint_line(other)}")
            fix = [
                f"Tell whoever runs {host} that its IPv6 address {first.address} does not "
                "answer on port " + f"{port} (or that its AAAA record should go).",
                trace,
            ]
            # This machine's IPv6 works: its route, firewall and Postfix settings are fine.
            not_about = ("Fix the IPv6 route", "prefer IPv4")
        else:
            fix = [
                "While the IPv6 route is fixed, make Postfix prefer IPv4: "
                "`postconf -e 'smtp_address_preference = ipv4'` and `postfix reload`; "
                "or stop using IPv6 for mail: `postconf -e 'inet_protocols = ipv4'`.",
                trace,
            ]
        causes.append(
            make_cause(
                CauseCode.IPV6_BROKEN,
                Severity.WARNING,
                summary,
                evidence,
                phase=failed.phase if failed else None,
                address=first.address,
                port=port,
                host=host,
                specific_fix=fix,
                not_about=not_about,
            )
        )
    return causes


def port25_open(result: CheckResult) -> list[EndpointResult]:
    """Endpoints (the reference's too) whose port 25 connected: outbound 25 is not blocked."""
    return [ep for ep in result.endpoints if ep.port == 25 and _connected(ep)]


def with_port25_evidence(result: CheckResult, causes: list[Finding]) -> list[Finding]:
    """A port-25 connect_timeout, when port 25 works elsewhere, says why it is not a block."""
    open25 = port25_open(result)
    if not open25:
        return causes
    first = open25[0]
    who = f"reference {first.host}" if first.reference else first.host
    line = Evidence(
        Source.PROBE,
        f"port 25 of {who} ({first.address}) connects in the same run: this machine does "
        "not block outbound port 25, so the drop is at this host or on the path to it",
    )
    return [
        replace(c, evidence=(*c.evidence, line))
        if c.code is CauseCode.CONNECT_TIMEOUT and c.port == 25
        else c
        for c in causes
    ]


def _port25_blocked(
    endpoints: list[EndpointResult], refs: list[EndpointResult], reference: str | None
) -> list[Finding]:
    causes: list[Finding] = []
    if any(ep.port == 25 and _connected(ep) for ep in [*endpoints, *refs]):
        return causes  # port 25 works from here: whatever drops it is not on this side
    ref25 = [ep for ep in refs if ep.port == 25]
    ref_timed_out = bool(ref25) and all(_connect_timed_out(ep) for ep in ref25)
    for ep in endpoints:
        if ep.port != 25 or not ep.explicit or not _connect_timed_out(ep):
            continue
        others = [
            o
            for o in endpoints
            if o.address == ep.address and o.port in _OTHER_PORTS and _connected(o)
        ]
        if not others and not ref_timed_out:
            continue
        label = f"[{ep.address}]" if ":" in ep.address else ep.address
        evidence = [endpoint_line(ep), *(endpoint_line(o) for o in others)]
        evidence += [f"reference {reference}: {endpoint_line(r)}" for r in ref25]
        if others:
            ports = " and ".join(str(o.port) for o in others)
            summary = (
                f"Port 25 of {ep.host} ({ep.address}) times out while port {ports} of the "
                f"same address connects: port 25 is dropped on the way."
            )
        else:
            summary = (
                f"Port 25 of {ep.host} ({ep.address}) times out, and so does port 25 of "
                f"the reference host {reference}, which is known to accept mail: "
                f"outbound port 25 is blocked here."
            )
        summary += (
            " The usual suspects: the ISP's or cloud provider's outbound port-25 "
            "policy, or a local firewall rule."
        )
        fix = [f"Find where the packets stop: `smtpdoctor trace {label}:25`."]
        if others:
            fix.append(
                f"Port {others[0].port} of this host answers: submit mail there with "
                "AUTH through a relay that accepts it."
            )
        causes.append(
            make_cause(
                CauseCode.PORT25_BLOCKED,
                Severity.ERROR,
                summary,
                evidence,
                phase=Phase.CONNECT,
                address=ep.address,
                port=25,
                host=ep.host,
                specific_fix=fix,
            )
        )
    return causes


def _mtu_blackhole(endpoints: Iterable[EndpointResult]) -> list[Finding]:
    causes = []
    for ep in endpoints:
        failed = ep.failed_phase
        retry = ep.retry_with_clamped_mss
        if failed is None or retry is None or failed.status is not PhaseStatus.TIMEOUT:
            continue
        redone = retry.phase(failed.phase)
        if redone is None or not redone.ok:
            continue
        what = {
            Phase.TLS: "TLS handshake",
            Phase.STARTTLS: "STARTTLS handshake",
            Phase.EHLO: "EHLO reply",
            Phase.AUTH: "AUTH exchange",
        }.get(failed.phase, f"{failed.phase.value} phase")
        earlier = [p for p in ep.phases if p.ok]
        passed = ", ".join(p.phase.value for p in earlier) or "nothing"
        causes.append(
            make_cause(
                CauseCode.MTU_BLACKHOLE,
                Severity.ERROR,
                f"The {what} with {ep.label} stalled ({failed.elapsed_ms:.0f} ms, no data) "
                f"after {passed} passed, and completed in {redone.elapsed_ms:.0f} ms when "
                f"retried with the MSS clamped to {retry.mss}: full-size packets vanish on "
                f"the path and the ICMP that would say so is dropped (PMTU discovery "
                f"blocked).",
                [endpoint_line(ep), "retry: " + endpoint_line(retry)],
                phase=failed.phase,
                address=ep.address,
                port=ep.port,
                host=ep.host,
            )
        )
    return causes
