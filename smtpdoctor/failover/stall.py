"""A passive stall watch: mail held in the MTA while the route's relay delivers nothing.

The probe sends no message, so a relay that answers everything up to RCPT but never
answers the final dot (or stalls mid-transfer) looks healthy to it. The MTA shows it:
messages sit in the active queue and no delivery through that relay completes. When
both have lasted `stall_s`, the current relay is treated as faulty for that round
(data_timeout at eod), which counts towards opening its breaker like a failed probe.

Only messages that arrived after the route last changed count, so mail still held by
connections to a relay that was already left behind does not blame the new one. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["StallEvidence", "stalled"]


@dataclass(frozen=True)
class StallEvidence:
    """Why the route's relay is taken to be stalled."""

    held: int  # messages held at least stall_s
    oldest_s: float  # the longest one
    idle_s: float  # seconds since the relay last completed a delivery

    def summary(self, relay: str) -> str:
        """One line for the journal and the status."""
        return (
            f"{self.held} message(s) held in the active queue for up to {self.oldest_s:.0f} s "
            f"while no delivery through {relay} completed for {self.idle_s:.0f} s"
        )


def stalled(
    active_arrivals: Iterable[float],
    route_since: float,
    last_delivery: float,
    now: float,
    stall_s: float,
) -> StallEvidence | None:
    """Evidence of a stall, or None. `active_arrivals`: arrival times (epoch seconds) of
    the messages in the active queue; `last_delivery`: the relay's last completed one."""
    if stall_s <= 0:
        return None
    # arrival times are whole seconds (postqueue -j): a message of the same second as the
    # route change counts
    ages = [now - t for t in active_arrivals if t >= route_since - 1.0]
    old = [a for a in ages if a >= stall_s]
    idle = now - max(last_delivery, route_since)
    if not old or idle < stall_s:
        return None
    return StallEvidence(held=len(old), oldest_s=max(old), idle_s=idle)
