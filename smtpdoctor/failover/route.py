"""The route decision: which relay the MTA should use now. Pure: no IO, no clock.

Rules, in order:

1. No relay is closed (healthy): change nothing. Mail waits safely in the MTA's queue;
   the decision says so loudly (`Action.ALL_DOWN`).
2. The current relay is not healthy (or the route is unknown / not one of ours): move
   to the most preferred healthy relay, at once. Relays that have been healthy for the
   hold time are preferred over ones that have only just closed.
3. The current relay is healthy: stay, unless a more preferred relay has been healthy
   for at least the hold time: then fail back to it. The hold time keeps the route from
   flapping with a relay that comes and goes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from smtpdoctor.failover.breaker import Breaker, BreakerState

__all__ = ["Action", "Decision", "decide"]


class Action(StrEnum):
    """What the daemon does with the MTA (values are metric labels)."""

    KEEP = "keep"  # the current route is right
    SWITCH = "switch"  # move away from an unhealthy (or unknown) current route
    FAILBACK = "failback"  # back to a more preferred relay after its hold time
    ALL_DOWN = "all_down"  # every relay is down: change nothing


@dataclass(frozen=True)
class Decision:
    """The relay to route through (None: change nothing) and why, in one sentence."""

    action: Action
    route: str | None  # the relay name the MTA should use after this decision
    reason: str

    @property
    def changes(self) -> bool:
        """True when the MTA's configuration must change."""
        return self.action in (Action.SWITCH, Action.FAILBACK)


def decide(
    preference: Sequence[str],
    breakers: Mapping[str, Breaker],
    current: str | None,
    now: float,
    hold_s: float,
) -> Decision:
    """The route for relays in `preference` order, their breakers and the current route."""
    healthy = [r for r in preference if breakers[r].state is BreakerState.CLOSED]
    if not healthy:
        states = ", ".join(f"{r} {breakers[r].state.value}" for r in preference)
        return Decision(
            Action.ALL_DOWN,
            current,
            f"every relay is down ({states}): route left as it is, mail waits in the queue",
        )
    settled = [r for r in healthy if breakers[r].healthy_for(now) >= hold_s]
    if current not in healthy:
        best = (settled or healthy)[0]
        if current is None or current not in breakers:
            why = f"current route {current or 'unknown'} is not a configured relay"
        else:
            why = f"{current} is {breakers[current].state.value}"
        return Decision(Action.SWITCH, best, f"{why}: moving to {best}")
    rank = preference.index(current)
    better = [r for r in settled if preference.index(r) < rank]
    if better:
        best = better[0]
        held = breakers[best].healthy_for(now)
        return Decision(
            Action.FAILBACK,
            best,
            f"{best} is preferred and has been healthy for {held:.0f} s "
            f"(hold {hold_s:.0f} s): failing back from {current}",
        )
    waiting = [r for r in healthy if preference.index(r) < rank]
    if waiting:
        left = hold_s - breakers[waiting[0]].healthy_for(now)
        return Decision(
            Action.KEEP,
            current,
            f"staying on {current}: {waiting[0]} is healthy again, fail-back in {left:.0f} s",
        )
    return Decision(Action.KEEP, current, f"{current} is healthy and the most preferred")
