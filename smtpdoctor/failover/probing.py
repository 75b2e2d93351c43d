"""The one adapter between failover and the probe: check one relay, return a RelayHealth.

Everything else in failover depends on RelayHealth only, so the probe and diagnosis
types (which the "seam" work turns into `smtpdoctor.finding.Finding`) are read here
and nowhere else in this package.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.rules import diagnose
from smtpdoctor.exitcodes import UsageError
from smtpdoctor.failover.config import ProbeKnobs, RelayConfig
from smtpdoctor.phases import Phase
from smtpdoctor.probe.check import CheckOptions, run_check
from smtpdoctor.probe.session import Credentials
from smtpdoctor.probe.timeouts import Profile, Timeouts

__all__ = ["RelayHealth", "check_relay", "read_password"]


@dataclass(frozen=True)
class RelayHealth:
    """One probe of one relay: could it take mail, the causes if not, the phase timings."""

    relay: str
    ok: bool
    causes: tuple[tuple[CauseCode, Phase | None], ...]
    timings_ms: tuple[tuple[Phase, float], ...]
    elapsed_ms: float
    detail: str = ""  # the first cause's one-line summary (evidence for the journal)


def read_password(path: str) -> str:
    """The first line of a password file; UsageError if missing or empty."""
    try:
        with open(path, encoding="utf-8") as handle:
            password = handle.readline().rstrip("\r\n")
    except OSError as exc:
        raise UsageError(f"cannot read password_file {path}: {exc.strerror or exc}") from None
    if not password:
        raise UsageError(f"password_file {path} is empty")
    return password


def check_options(relay: RelayConfig) -> CheckOptions:
    """The check a relay's knobs ask for: its route's address and port, no follow-ups."""
    knobs: ProbeKnobs = relay.knobs
    credentials = None
    if knobs.user is not None:
        password = read_password(str(knobs.password_file)) if knobs.password_file else ""
        credentials = Credentials(knobs.user, password)
    timeouts = Timeouts.quick()
    if knobs.timeouts:
        timeouts = Timeouts({**timeouts.limits, **knobs.timeouts}, Profile.QUICK, overridden=True)
    port = int(relay.route.rsplit(":", 1)[1])
    return CheckOptions(
        target=relay.target,
        ports=(port,),
        tls=knobs.tls,
        starttls=knobs.starttls,
        timeouts=timeouts,
        budget_s=knobs.budget,
        credentials=credentials,
        sender=knobs.sender or None,
        recipients=(knobs.recipient,) if knobs.recipient else (),
        cafile=knobs.cafile,
        follow_ups=False,  # one quick session per round: no TLS-mode or MSS retries
    )


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
