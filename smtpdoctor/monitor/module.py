"""How to probe a target: a module's knobs (kept apart from the TOML parsing, so the probe
adapter and `check --nagios` do not load the config machinery)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProbeModule:
    """How to probe: the knobs of `smtpdoctor check`'s flags."""

    ports: tuple[int, ...] = ()
    tls: str = "auto"
    starttls: str = "auto"
    timeouts: tuple[tuple[str, float], ...] = ()  # phase -> seconds overrides
    budget_s: float | None = None
    user: str | None = None
    password_file: Path | None = None
    send: bool = False
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    cafile: Path | None = None
    helo: str | None = None
    # check's follow-up probes (the MSS-clamped retry that tells an MTU blackhole from a
    # stall, the other TLS mode, the 465/587 comparison behind port25_blocked); off, a
    # stalled phase fails faster but those causes can no longer be named
    follow_ups: bool = True
