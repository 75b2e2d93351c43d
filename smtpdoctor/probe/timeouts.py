"""Per-phase time limits (the quick profile and RFC 5321's) and the overall deadline budget."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.phases import Phase

COMMAND_PHASES: tuple[Phase, ...] = (
    Phase.EHLO,
    Phase.STARTTLS,
    Phase.AUTH,
    Phase.MAIL,
    Phase.RCPT,
    Phase.DATA,
    Phase.QUIT,
)

# The quick profile: fast enough for a human at a terminal, long enough for healthy servers.
QUICK: Mapping[Phase, float] = MappingProxyType(
    {
        Phase.RESOLVE: 5.0,
        Phase.CONNECT: 10.0,
        Phase.TLS: 15.0,
        Phase.GREETING: 30.0,
        Phase.EHLO: 30.0,
        Phase.STARTTLS: 15.0,
        Phase.AUTH: 30.0,
        Phase.MAIL: 30.0,
        Phase.RCPT: 30.0,
        Phase.DATA: 30.0,
        Phase.BODY: 60.0,
        Phase.EOD: 60.0,
        Phase.QUIT: 10.0,
    }
)

# RFC 5321 section 4.5.3.2 minimums; connect and TLS are not in the RFC, so they use
# Postfix's defaults (smtp_connect_timeout 30 s, smtp_starttls_timeout 300 s).
RFC5321: Mapping[Phase, float] = MappingProxyType(
    {
        Phase.RESOLVE: 30.0,
        Phase.CONNECT: 30.0,
        Phase.TLS: 300.0,
        Phase.GREETING: 300.0,
        Phase.EHLO: 300.0,
        Phase.STARTTLS: 300.0,
        Phase.AUTH: 300.0,
        Phase.MAIL: 300.0,
        Phase.RCPT: 300.0,
        Phase.DATA: 120.0,
        Phase.BODY: 180.0,
        Phase.EOD: 600.0,
        Phase.QUIT: 300.0,
    }
)

QUICK_BUDGET_S = 150.0
RFC_BUDGET_S = 1800.0


class Profile(StrEnum):
    """Where a set of limits comes from."""

    QUICK = "quick"  # fast enough for a human at a terminal
    RFC = "rfc"  # RFC 5321 section 4.5.3.2

    @property
    def budget_s(self) -> float:
        """The overall budget of a check with this profile."""
        return RFC_BUDGET_S if self is Profile.RFC else QUICK_BUDGET_S


@dataclass(frozen=True)
class Timeouts:
    """A time limit for each phase, in seconds, and the profile they came from. Immutable."""

    limits: Mapping[Phase, float] = field(default_factory=lambda: QUICK)
    profile: Profile = Profile.QUICK
    overridden: bool = False  # the user changed some limits (--timeout)

    def __post_init__(self) -> None:
        # A read-only copy: a caller's dict changed later must not change these limits.
        object.__setattr__(self, "limits", MappingProxyType(dict(self.limits)))

    @classmethod
    def quick(cls) -> Timeouts:
        """The default profile."""
        return cls(QUICK, Profile.QUICK)

    @classmethod
    def rfc(cls) -> Timeouts:
        """RFC 5321 section 4.5.3.2 minimums."""
        return cls(RFC5321, Profile.RFC)

    @property
    def name(self) -> str:
        """The profile as reports show it: 'quick', 'rfc', 'quick+overrides'."""
        return f"{self.profile}+overrides" if self.overridden else self.profile.value

    def __getitem__(self, phase: Phase) -> float:
        return self.limits[phase]

    def with_limit(self, phase: Phase, seconds: float) -> Timeouts:
        """A copy with one phase's limit changed (by the program, not the user)."""
        return replace(self, limits={**self.limits, phase: seconds})

    def with_overrides(self, overrides: Iterable[str]) -> Timeouts:
        """Apply `PHASE=SECONDS` strings; 'command' sets every command phase at once."""
        limits = dict(self.limits)
        changed = False
        for item in overrides:
            name, sep, value = item.partition("=")
            name = name.strip().lower()
            if not sep:
                raise UsageError(f"--timeout wants PHASE=SECONDS, got {item!r}")
            try:
                seconds = float(value)
            except ValueError:
                raise UsageError(
                    f"--timeout {name}: {value!r} is not a number of seconds"
                ) from None
            if not 0 < seconds <= 86400:
                raise UsageError(
                    f"--timeout {name}={value}: seconds must be greater than 0 and at most 86400"
                )
            if name == "command":
                limits.update(dict.fromkeys(COMMAND_PHASES, seconds))
            else:
                try:
                    limits[Phase(name)] = seconds
                except ValueError:
                    known = ", ".join([p.value for p in Phase] + ["command"])
                    raise UsageError(
                        f"--timeout: unknown phase {name!r} (one of: {known})"
                    ) from None
            changed = True
        return replace(self, limits=limits, overridden=self.overridden or changed)

    def as_dict(self) -> dict[str, float]:
        """Phase name -> seconds, for reports."""
        return {phase.value: seconds for phase, seconds in self.limits.items()}


class Budget:
    """An overall deadline shared by every phase of every session of one check."""

    def __init__(self, total_s: float, clock: Callable[[], float] = time.monotonic):
        self.total_s = total_s
        self._clock = clock
        self._deadline = clock() + total_s

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self._deadline - self._clock())

    def cap(self, phase_limit: float) -> tuple[float, bool]:
        """The limit to apply to a phase, and whether the budget (not the phase) set it."""
        left = self.remaining()
        if left < phase_limit:
            return left, True
        return phase_limit, False
