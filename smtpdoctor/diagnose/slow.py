"""When a phase that succeeded counts as slow: thresholds per phase, overridable. Pure.

A slow phase is a warning (`connect_slow`, `greeting_slow`, `reply_slow`): mail got
through this time, but clients with shorter timeouts than the probe's do not. The
defaults:

- connect 0.9 s: Linux retransmits an unanswered SYN after 1 s (then 3 s, 7 s), so a
  handshake that took about 1 s or 3 s lost a packet on the way;
- greeting 5 s: the greeting is the first thing clients time, often with 10 s or less;
- a TLS handshake (implicit TLS, or STARTTLS and its handshake) 5 s;
- EHLO, AUTH, MAIL, RCPT, DATA, QUIT 5 s;
- the end of data 10 s (servers scan the message before they answer it).

`--slow PHASE=SECONDS` changes one (`--slow command=10` every command phase at once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.phases import Phase

__all__ = ["DEFAULT_SLOW_S", "SlowLimits"]

_COMMANDS = (Phase.EHLO, Phase.AUTH, Phase.MAIL, Phase.RCPT, Phase.DATA, Phase.QUIT)

DEFAULT_SLOW_S: Mapping[Phase, float] = MappingProxyType(
    {
        Phase.CONNECT: 0.9,
        Phase.TLS: 5.0,
        Phase.GREETING: 5.0,
        Phase.STARTTLS: 5.0,
        **dict.fromkeys(_COMMANDS, 5.0),
        Phase.EOD: 10.0,
    }
)


@dataclass(frozen=True)
class SlowLimits:
    """Seconds above which a phase that succeeded is slow (phases not listed never are)."""

    seconds: Mapping[Phase, float] = field(default_factory=lambda: DEFAULT_SLOW_S)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seconds", MappingProxyType(dict(self.seconds)))

    def limit_ms(self, phase: Phase) -> float | None:
        """The threshold of PHASE in milliseconds, or None when it is never slow."""
        seconds = self.seconds.get(phase)
        return seconds * 1000 if seconds is not None else None

    def with_overrides(self, overrides: Iterable[str]) -> SlowLimits:
        """Apply `PHASE=SECONDS` strings ('command' sets every command phase)."""
        seconds = dict(self.seconds)
        for item in overrides:
            name, sep, value = item.partition("=")
            name = name.strip().lower()
            try:
                number = float(value) if sep else -1.0
            except ValueError:
                number = -1.0
            if not 0 < number <= 86400:
                raise UsageError(
                    f"--slow wants PHASE=SECONDS with 0 < SECONDS <= 86400, got {item!r}"
                )
            if name == "command":
                seconds.update(dict.fromkeys(_COMMANDS, number))
                continue
            try:
                phase = Phase(name)
            except ValueError:
                known = ", ".join([p.value for p in DEFAULT_SLOW_S] + ["command"])
                raise UsageError(f"--slow: unknown phase {name!r} (one of: {known})") from None
            if phase not in DEFAULT_SLOW_S:
                raise UsageError(f"--slow: {name} has no slow threshold")
            seconds[phase] = number
        return replace(self, seconds=seconds)
