"""Roll-ups of a report's groups: by cause and phase, and by destination."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.events import TIMEOUT_CAUSES
from smtpdoctor.logs.model import LogGroup
from smtpdoctor.phases import Phase


@dataclass(frozen=True)
class Rollup:
    """Counts of several groups that share a key."""

    key: str
    count: int
    timeouts: int
    causes: tuple[CauseCode, ...]
    phases: tuple[Phase, ...]
    relays: tuple[str, ...]
    first_seen: datetime | None
    last_seen: datetime | None


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _rollup(groups: tuple[LogGroup, ...], key_of: str) -> list[Rollup]:
    acc: dict[str, list[LogGroup]] = {}
    for g in groups:
        if key_of == "destination":
            key = g.destination + (" (inbound)" if g.direction == "inbound" else "")
        else:
            key = f"{g.cause} / {g.phase or '-'}"
        acc.setdefault(key, []).append(g)
    out = []
    for key, members in acc.items():
        first: datetime | None = None
        last: datetime | None = None
        for g in members:
            first = _min(first, g.first_seen)
            last = _max(last, g.last_seen)
        out.append(
            Rollup(
                key=key,
                count=sum(g.count for g in members),
                timeouts=sum(g.count for g in members if g.cause in TIMEOUT_CAUSES),
                causes=tuple(dict.fromkeys(g.cause for g in members)),
                phases=tuple(dict.fromkeys(g.phase for g in members if g.phase)),
                relays=tuple(dict.fromkeys(g.relay for g in members if g.relay))[:5],
                first_seen=first,
                last_seen=last,
            )
        )
    out.sort(key=lambda r: (-r.count, r.key))
    return out


def by_cause_phase(groups: tuple[LogGroup, ...]) -> list[Rollup]:
    """One row per cause and phase."""
    return _rollup(groups, "cause")


def by_destination(groups: tuple[LogGroup, ...]) -> list[Rollup]:
    """One row per destination domain (inbound clients marked)."""
    return _rollup(groups, "destination")
