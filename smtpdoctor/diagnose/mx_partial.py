"""`mx_partial`: some MX hosts or addresses fail while others work. No IO."""

from __future__ import annotations

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.cause import Finding, Severity, make_cause
from smtpdoctor.diagnose.endpoint import endpoint_passes
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import CheckResult, PhaseStatus

# What an MTA with Postfix's defaults waits for an address that fails this way.
_POSTFIX_WAIT_S = {Phase.CONNECT: 30.0, Phase.GREETING: 300.0}


def mx_partial(result: CheckResult, causes: list[Finding]) -> list[Finding]:
    """Some MX hosts or addresses fail while others work: delivery happens, but late."""
    if result.mx is None:
        return []
    explicit = [ep for ep in result.endpoints if ep.explicit]
    working = [ep for ep in explicit if endpoint_passes(ep, causes)]
    failing = [ep for ep in explicit if not endpoint_passes(ep, causes)]
    if not working or not failing:
        return []
    first_ok = explicit.index(working[0])
    before = [ep for ep in explicit[:first_ok] if ep in failing]
    wait_s = 0.0
    lines = []
    for ep in failing:
        failed = ep.failed_phase
        how = f"{failed.phase.value} {failed.status.value}" if failed else "failed"
        lines.append(f"{ep.host} {ep.label}: {how}")
    for ep in before:
        failed = ep.failed_phase
        if failed is None:
            continue
        if failed.status is PhaseStatus.TIMEOUT:
            wait_s += _POSTFIX_WAIT_S.get(failed.phase, 300.0)
        else:
            wait_s += failed.elapsed_ms / 1000
    late = (
        f"an MTA with Postfix's default timeouts tries {len(before)} failing address(es) "
        f"first and reaches {working[0].host} {working[0].label} about {wait_s:.0f} s late, "
        "on every message"
        if before
        else f"the preferred host {working[0].host} works, so delivery is not delayed until "
        "it fails; then the backups fail too"
    )
    return [
        make_cause(
            CauseCode.MX_PARTIAL,
            Severity.WARNING,
            f"{len(failing)} of {len(explicit)} MX addresses of {result.mx.domain} fail: {late}.",
            lines,
            phase=Phase.CONNECT,
            host=result.mx.domain,
        )
    ]


# Causes that a more specific network cause explains for the same address and port.
