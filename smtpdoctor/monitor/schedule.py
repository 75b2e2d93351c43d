"""When each target is probed: pure arithmetic, no clocks and no IO.

Targets are spread evenly over the interval in a stable order (by a hash of the name),
so a fleet of monitors with the same config does not probe everyone at the top of the
minute, and adding one target moves the others only a little.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from smtpdoctor.monitor.config import TargetSpec


def _stable_hash(name: str) -> int:
    # hashlib, not hash(): the order must be the same in every process (PYTHONHASHSEED).
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


def offsets(names: Sequence[str], interval_s: float) -> dict[str, float]:
    """Each name's offset within the interval: evenly spaced, in a stable order."""
    ordered = sorted(names, key=lambda n: (_stable_hash(n), n))
    step = interval_s / len(ordered) if ordered else 0.0
    return {name: i * step for i, name in enumerate(ordered)}


@dataclass(frozen=True)
class Schedule:
    """Due times: ``base + offset + k * interval`` for whole k."""

    interval_s: float
    base: float
    offsets: dict[str, float]

    @classmethod
    def build(cls, names: Sequence[str], interval_s: float, base: float) -> Schedule:
        """A schedule for the names starting at ``base`` (a monotonic time)."""
        return cls(interval_s, base, offsets(names, interval_s))

    def next_due(self, name: str, now: float) -> float:
        """The first due time of ``name`` at or after ``now`` (missed turns are skipped)."""
        first = self.base + self.offsets[name]
        if now <= first:
            return first
        k = math.ceil((now - first) / self.interval_s)
        return first + k * self.interval_s


@dataclass(frozen=True)
class Changes:
    """What a reload does to the running probes."""

    stop: tuple[str, ...]  # names whose task ends
    start: tuple[str, ...]  # names whose task begins (new, or changed)
    keep: tuple[str, ...]


def reload_changes(old: Iterable[TargetSpec], new: Iterable[TargetSpec]) -> Changes:
    """Targets to stop and start on a reload; an unchanged target keeps running."""
    before = {t.name: t for t in old}
    after = {t.name: t for t in new}
    stop = tuple(n for n, t in before.items() if after.get(n) != t)
    start = tuple(n for n, t in after.items() if before.get(n) != t)
    keep = tuple(n for n in after if n in before and before[n] == after[n])
    return Changes(stop, start, keep)
