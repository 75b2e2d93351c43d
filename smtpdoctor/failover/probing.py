"""The one adapter between failover and the probe: check one relay, return a RelayHealth.

Everything else in failover depends on RelayHealth only, so the probe and diagnosis
types (which the "seam" work turns into `smtpdoctor.finding.Finding`) are read here
and nowhere else in this package.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.rules import diagnose
from smtpdoctor.failover.config import RelayConfig
from smtpdoctor.phases import Phase
from smtpdoctor.probe.check import CheckOptions, run_check
from smtpdoctor.probe_options import check_options as knob_options

__all__ = ["RelayHealth", "check_options", "check_relay"]

DEFAULT_BUDGET_S = 30.0  # a relay's probe, when its knobs set no budget


@dataclass(frozen=True)
class RelayHealth:
    """One probe of one relay: could it take mail, the causes if not, the phase timings."""

    relay: str
    ok: bool
    causes: tuple[tuple[CauseCode, Phase | None], ...]
    timings_ms: tuple[tuple[Phase, float], ...]
    elapsed_ms: float
    detail: str = ""  # the first cause's one-line summary (evidence for the journal)


def check_options(relay: RelayConfig) -> CheckOptions:
    """The check a relay's knobs ask for: its route's address and port, no follow-ups."""
    knobs = relay.knobs
    port = int(relay.route.rsplit(":", 1)[1])
    options = knob_options(relay.target, knobs, knobs.budget_s or DEFAULT_BUDGET_S)
    # one quick session per round: no TLS-mode or MSS retries
    return replace(options, ports=(port,), follow_ups=False)


async def check_relay(relay: RelayConfig) -> RelayHealth:
    """Probe one relay (connect .. RCPT then RSET/QUIT, no message sent)."""
    start = time.monotonic()
    result = await run_check(check_options(relay))
    diagnosis = diagnose(result)
    timings: list[tuple[Phase, float]] = []
    for endpoint in result.endpoints:
        if endpoint.explicit:
            timings = [(p.phase, round(p.elapsed_ms, 1)) for p in endpoint.phases]
            break
    causes = tuple(dict.fromkeys((c.code, c.phase) for c in diagnosis.findings))
    return RelayHealth(
        relay=relay.name,
        ok=bool(diagnosis.passed),
        causes=causes,
        timings_ms=tuple(timings),
        elapsed_ms=round((time.monotonic() - start) * 1000, 1),
        detail=diagnosis.findings[0].summary if diagnosis.findings else "",
    )
