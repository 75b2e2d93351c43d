"""DNS causes from recorded resolutions: pure rules, no IO.

`dns_causes` reads one `ResolveResult` (the attempts of `smtpdoctor.probe.dns`), and
`mx_causes` one `MxPlan`. The slow threshold is 1000 ms by default: a resolution that
took longer than that is `dns_slow`, because glibc's and Postfix's default limits
(5 s per try) are only a few such delays away, and a healthy nearby cache answers
within tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.cause import Finding, Severity, make_cause
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import DnsQuery, DnsStatus, MxPlan, ResolveResult

DEFAULT_SLOW_MS = 1000.0

_TIMEOUTS = frozenset({DnsStatus.TIMEOUT, DnsStatus.ERROR})
_SERVFAILS = frozenset({DnsStatus.SERVFAIL, DnsStatus.REFUSED})


def _finals(queries: Iterable[DnsQuery]) -> dict[str, DnsQuery]:
    last: dict[str, DnsQuery] = {}
    for q in queries:
        last[q.rdtype] = q
    return last


def _attempt_line(q: DnsQuery) -> str:
    where = q.nameserver or "local files"
    answers = f": {', '.join(q.answers)}" if q.answers else ""
    detail = f" ({q.detail})" if q.detail else ""
    return f"{q.rdtype} {q.name} @ {where}: {q.status} in {q.elapsed_ms:.0f} ms{answers}{detail}"


def per_nameserver(queries: Iterable[DnsQuery]) -> list[str]:
    """One line per nameserver: how many tries it got, how each ended and how long each took."""
    tries: dict[str, list[DnsQuery]] = {}
    for q in queries:
        tries.setdefault(q.nameserver or "local files", []).append(q)
    lines = []
    for server, mine in tries.items():
        times = ", ".join(f"{q.rdtype} {q.status} after {q.elapsed_ms:.0f} ms" for q in mine)
        lines.append(f"nameserver {server}: {len(mine)} tries: {times}")
    return lines


def _untried(resolve: ResolveResult) -> list[str]:
    asked = {q.nameserver for q in resolve.queries}
    return [
        f"nameserver {ns}: never asked (the deadline ran out first)"
        for ns in resolve.nameservers
        if ns not in asked
    ]


def dns_causes(resolve: ResolveResult, *, slow_ms: float = DEFAULT_SLOW_MS) -> list[Finding]:
    """The DNS causes of one resolution (empty for an IP literal or a quick clean answer)."""
    if resolve.is_literal:
        return []
    name = resolve.name
    finals = _finals(resolve.queries)
    statuses = {q.status for q in finals.values()}
    evidence = [_attempt_line(q) for q in resolve.queries]
    servers = ", ".join(resolve.nameservers) or "none"
    causes: list[Finding] = []

    if not resolve.addresses:
        if DnsStatus.NXDOMAIN in statuses:
            return [
                make_cause(
                    CauseCode.DNS_NXDOMAIN,
                    Severity.ERROR,
                    f"{name} does not exist (NXDOMAIN from {_answered_by(finals)}).",
                    evidence,
                    phase=Phase.RESOLVE,
                    host=name,
                )
            ]
        if statuses & _SERVFAILS:
            kinds = "/".join(sorted(s.upper() for s in statuses & _SERVFAILS))
            return [
                make_cause(
                    CauseCode.DNS_SERVFAIL,
                    Severity.ERROR,
                    f"The resolver answered {kinds} for {name}: it could not resolve it.",
                    evidence,
                    specific_fix=[f"Try it by hand: `dig {name} A` and `dig +cd {name} A`."],
                    phase=Phase.RESOLVE,
                    host=name,
                )
            ]
        if statuses & _TIMEOUTS or not finals:
            return [_timeout_cause(resolve, error=True)]
        return [
            make_cause(
                CauseCode.DNS_NO_ADDRESS,
                Severity.ERROR,
                f"{name} exists but has no A or AAAA record: nothing to connect to.",
                evidence,
                phase=Phase.RESOLVE,
                host=name,
            )
        ]

    # Addresses were found; a family may still have failed, or it may have been slow.
    if statuses & _TIMEOUTS:
        causes.append(_timeout_cause(resolve, error=False))
    failed = [q for q in finals.values() if q.status in _SERVFAILS]
    if failed:
        kinds = ", ".join(f"{q.rdtype} {q.status.upper()}" for q in failed)
        causes.append(
            make_cause(
                CauseCode.DNS_SERVFAIL,
                Severity.WARNING,
                f"{name} resolved only in part ({kinds}); the other family's addresses are used.",
                evidence,
                phase=Phase.RESOLVE,
                host=name,
            )
        )
    if resolve.elapsed_ms > slow_ms:
        causes.append(
            make_cause(
                CauseCode.DNS_SLOW,
                Severity.WARNING,
                f"Resolving {name} took {resolve.elapsed_ms:.0f} ms (threshold "
                f"{slow_ms:.0f} ms) using nameservers {servers}.",
                [*evidence, *per_nameserver(resolve.queries)],
                phase=Phase.RESOLVE,
                host=name,
            )
        )
    return causes


def _answered_by(finals: dict[str, DnsQuery]) -> str:
    servers = sorted({q.nameserver for q in finals.values() if q.nameserver})
    return ", ".join(servers) or "the resolver"


def _timeout_cause(resolve: ResolveResult, *, error: bool) -> Finding:
    name = resolve.name
    failed = sorted({q.rdtype for q in _finals(resolve.queries).values() if q.status in _TIMEOUTS})
    servers = ", ".join(resolve.nameservers) or "none configured"
    took = resolve.elapsed_ms / 1000.0
    if error:
        summary = (
            f"No resolver answered for {name} within {took:.1f} s "
            f"(nameservers from resolv.conf: {servers})."
        )
    else:
        summary = (
            f"The {'/'.join(failed)} lookup of {name} got no answer within {took:.1f} s "
            f"(nameservers: {servers}); only the other family resolved."
        )
    evidence = [*per_nameserver(resolve.queries), *_untried(resolve)]
    fix = [
        f"Test each resolver: `dig @{ns} {name} A +time=2 +tries=1`" for ns in resolve.nameservers
    ]
    return make_cause(
        CauseCode.DNS_TIMEOUT,
        Severity.ERROR if error else Severity.WARNING,
        summary,
        evidence,
        phase=Phase.RESOLVE,
        host=name,
        specific_fix=fix,
    )


def mx_causes(plan: MxPlan, *, slow_ms: float = DEFAULT_SLOW_MS) -> list[Finding]:
    """The causes in a domain's MX plan: null MX, a failed MX lookup, MX hosts with no address."""
    domain = name = plan.domain
    evidence = [_attempt_line(q) for q in plan.mx_queries]
    if plan.null_mx and not plan.hosts:
        return [
            make_cause(
                CauseCode.MX_NULL,
                Severity.ERROR,
                f"{domain} publishes a null MX (MX 0 .): it accepts no mail, so mail to it "
                "must bounce at once.",
                evidence,
                phase=Phase.RESOLVE,
                host=name,
            )
        ]
    if not plan.hosts:
        # The MX lookup itself failed: reuse the host rules on the MX query's attempts.
        as_resolve = ResolveResult(
            name=domain,
            addresses=(),
            queries=plan.mx_queries,
            nameservers=plan.nameservers,
            elapsed_ms=plan.elapsed_ms,
        )
        return dns_causes(as_resolve, slow_ms=slow_ms)

    causes: list[Finding] = []
    usable = [h for h in plan.hosts if h.addresses]
    for host in plan.hosts:
        if host.addresses:
            causes.extend(dns_causes(host.resolve, slow_ms=slow_ms))
            continue
        statuses = {q.status for q in _finals(host.resolve.queries).values()}
        severity = Severity.WARNING if usable else Severity.ERROR
        if statuses <= {DnsStatus.NXDOMAIN, DnsStatus.NODATA}:
            what = "does not exist" if DnsStatus.NXDOMAIN in statuses else "has no A or AAAA record"
            label = (
                "the domain itself (no MX)"
                if plan.implicit
                else (f"MX host {host.host} (preference {host.preference})")
            )
            causes.append(
                make_cause(
                    CauseCode.DNS_NO_ADDRESS,
                    severity,
                    f"{label} {what}: mail to {domain} "
                    + ("goes to the other MX hosts." if usable else "cannot be delivered."),
                    [_attempt_line(q) for q in host.resolve.queries],
                    phase=Phase.RESOLVE,
                    host=host.host,
                )
            )
        else:
            for cause in dns_causes(host.resolve, slow_ms=slow_ms):
                causes.append(_with_severity(cause, severity))
    mx_ms = sum(q.elapsed_ms for q in plan.mx_queries)
    if mx_ms > slow_ms:
        causes.append(
            make_cause(
                CauseCode.DNS_SLOW,
                Severity.WARNING,
                f"The MX lookup of {domain} took {mx_ms:.0f} ms (threshold {slow_ms:.0f} ms).",
                [*evidence, *per_nameserver(plan.mx_queries)],
                phase=Phase.RESOLVE,
                host=name,
            )
        )
    return causes


def _with_severity(cause: Finding, severity: Severity) -> Finding:
    if cause.severity is Severity.ERROR and severity is Severity.WARNING:
        return replace(cause, severity=severity)
    return cause
