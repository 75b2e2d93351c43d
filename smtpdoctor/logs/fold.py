"""The fold of one byte range in a worker process, and its exact merge in the parent.

A worker folds its range's events into the same Aggregator state a single pass keeps
(groups, histogram, totals, delays, held per-attempt lines, TLS details, deliveries per
relay), starting empty. Everything there merges exactly in file order: counts add,
first/last take min/max, capped tables admit new keys in order of first occurrence
(a dict keeps that order), delay sums are integers. Only the steps whose outcome
depends on the whole history are not done in the worker but recorded in order as
compact tuples (`ops`): the per-message join (an LRU table across the whole log) and
the IPv6 failure tallies; the parent replays them through the same methods.

The worker assumed an empty start; where the parent's state could have changed the
outcome (a status line whose per-attempt line was held at the end of the previous
range, a TLS detail from before the range, the held table or the TLS table reaching
its cap, a group sample not shipped), merge_part says so and the parent folds that
range itself, line by line, exactly as a single pass would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from smtpdoctor.logs.aggregate import _ABSENT, MAX_HOURS, OTHER, Aggregator, GroupKey, _Group
from smtpdoctor.logs.codec import (
    CAUSE_I,
    CAUSES,
    CAUSES_OR_NONE,
    PHASE_I,
    PHASES,
    PHASES_OR_NONE,
    STATUS_I,
    STATUSES,
)
from smtpdoctor.logs.events import LogEvent
from smtpdoctor.logs.joins import JoinRecord, RangeJoins, apply_joins, apply_quick, fits

MAX_HELD: Final = 4096  # the Aggregator's caps on held per-attempt lines and TLS details
SAMPLES_PER_CLASS: Final = 16  # "(other)" group samples shipped per cause/phase/direction
_NOTE: Final = 0  # the kinds of recorded steps (ops)
_REMOVED: Final = 1
_FAMILY: Final = 2
# A time as sent back: the stamp text it was parsed from (a str pickles several times
# faster than a datetime, and the parent's stamp cache turns it back into the same
# datetime), or the datetime itself where no stamp is known. The fold keeps the stamp
# beside every first/last time it keeps, so none has to be looked up afterwards.
Moment = str | datetime | None


@dataclass
class RangePart:
    """What a worker sends back for one byte range (compact: no per-event objects)."""

    totals: dict[str, int]
    groups: list[tuple[Any, ...]]
    hours: list[tuple[datetime, int]]
    delay_sums: list[int]
    delay_n: int
    delay_max: float
    first: Moment
    last: Moment
    mtas: set[str]
    delivered: list[tuple[str, list[Any]]]
    held: dict[str, list[LogEvent]]
    tls: dict[str, LogEvent]
    tls_popped: set[str]
    tls_missed: set[str]
    tls_puts: int
    # The pids of the range's status lines (a held line's key is postfix:PID), one per
    # line in one string: read only when the parent holds lines, and a single string
    # pickles at memcpy speed where a set of tens of thousands does not.
    probes: str
    max_held: int
    ops: list[tuple[Any, ...]] = field(default_factory=list)
    joins: list[JoinRecord] | None = None  # the join per message (None: in ops)
    # The queue IDs of the messages delivered at the first try and gone, one per line
    # (a string, like probes: thousands of them a range).
    quick: str = ""


class RangeFold(Aggregator):
    """An Aggregator for one byte range: the ordered steps are recorded, not done."""

    def __init__(
        self,
        since: datetime | None,
        reference: datetime,
        full_keys: list[tuple[Any, ...]] | None = None,
        ops_mode: bool = False,
    ) -> None:
        super().__init__(since, max_groups=1 << 62)
        self.set_stamp_reference(reference)
        if full_keys is not None:
            # The parent's group table is full: its keys are all there will ever be
            # (new keys go to "(other)" groups), so this range routes them the same way.
            # A key's group is made when its first line comes (thousands of keys, a
            # range sees few of them), as the parent's order says it would have been.
            self._known_keys = {
                (CAUSES[ci], None if pi < 0 else PHASES[pi], dest, relay, direction): i
                for i, (ci, pi, dest, relay, direction) in enumerate(full_keys)
            }
            self.max_groups = len(self._known_keys)
        self.ops: list[tuple[Any, ...]] = []
        # The per-message join: summarised per message (joins), or, when the parent's
        # table is over half full (ops_mode), every attempt in order.
        self.joins = None if ops_mode else RangeJoins(self.delayed_after)
        self.probes: set[str] = set()
        self.tls_missed: set[str] = set()
        self.tls_popped: set[str] = set()
        self.tls_puts = 0
        self.max_held = 0

    def _note_message(self, ev: LogEvent, when: datetime | None) -> None:
        if self.joins is not None:
            self.joins.attempt(
                ev.queue_id, ev.stamp, when is not None, ev.status, ev.cause, ev.phase,
                ev.relay, ev.delay, ev.destination,
            )  # fmt: skip
            return
        self.ops.append(
            (
                _NOTE,
                ev.queue_id,
                ev.stamp,
                STATUS_I[ev.status],
                -1 if ev.cause is None else CAUSE_I[ev.cause],
                -1 if ev.phase is None else PHASE_I[ev.phase],
                ev.relay,
                ev.delay,
                ev.destination,
            )
        )

    def _removed(self, ev: LogEvent, when: datetime | None) -> None:
        stamp = ev.stamp if when is not None else None
        if self.joins is not None:
            self.joins.removed(ev.queue_id, stamp)
        else:
            self.ops.append((_REMOVED, ev.queue_id, stamp))

    def _family_failed(self, ev: LogEvent, when: datetime | None) -> None:
        assert ev.cause is not None
        self.ops.append(
            (
                _FAMILY,
                ev.relay,
                CAUSE_I[ev.cause],
                ev.stamp if when is not None else None,
                ev.destination,
                ev.mta,
            )
        )

    def _delivery(self, ev: LogEvent, when: datetime | None, hour: Any = _ABSENT) -> None:
        if ev.pid:  # Postfix only (foldable): its hold key is "postfix:" + pid
            self.probes.add(ev.pid)
        super()._delivery(ev, when, hour)

    def _tls_put(self, key: str, ev: LogEvent) -> None:
        self.tls_puts += 1
        super()._tls_put(key, ev)

    def _tls_take(self, key: str) -> LogEvent | None:
        got = super()._tls_take(key)
        (self.tls_missed if got is None else self.tls_popped).add(key)
        return got

    def _hold(self, key: str, ev: LogEvent) -> None:
        super()._hold(key, ev)
        self.max_held = max(self.max_held, len(self._held_by_pid))

    def _ordered_groups(self) -> list[tuple[int, GroupKey, _Group]]:
        """The groups with a count, each with its index in the table had every key of
        the parent's been there from the start (so the shipping of samples is the
        same whatever order their first lines came in)."""
        groups = self._groups
        known = self._known_keys
        if known is None:
            return [(i, key, g) for i, (key, g) in enumerate(groups.items()) if g.count]
        ordered = [(i, key, groups[key]) for key, i in known.items() if key in groups]
        after = len(known)
        for key, g in groups.items():
            if key not in known:
                ordered.append((after, key, g))
                after += 1
        return [entry for entry in ordered if entry[2].count]

    def export(self, max_groups: int, parent_full: bool) -> RangePart:
        """The state to merge; group samples only where the parent may need them."""
        groups: list[tuple[Any, ...]] = []
        per_class: dict[tuple[Any, ...], int] = {}
        overflowed: set[tuple[Any, ...]] = set()
        for i, key, g in self._ordered_groups():
            cause, phase, dest, relay, direction = key
            ci = CAUSE_I[cause]
            pi = -1 if phase is None else PHASE_I[phase]
            klass = (ci, pi, direction)
            seen = per_class.get(klass, 0)
            per_class[klass] = seen + 1
            ship = (not parent_full and i < max_groups) or seen < SAMPLES_PER_CLASS
            if not ship and (dest == OTHER or (i >= max_groups and klass not in overflowed)):
                # The entry that may open its class's "(other)" group in the parent
                # (an "(other)" group itself, or the first of its class past the cap).
                ship = True
            if i >= max_groups:
                overflowed.add(klass)
            groups.append(
                (ci, pi, dest, relay, direction, g.count, _stamp(g.first, g.first_stamp),
                 _stamp(g.last, g.last_stamp), g.sample if ship else None, g.mta)
            )  # fmt: skip
        joins, quick = (None, []) if self.joins is None else self.joins.export()
        return RangePart(
            totals=dict(self.totals),
            groups=groups,
            hours=list(self._hours.items()),
            delay_sums=self.delay_sums(),
            delay_n=self._delay_n,
            delay_max=self._delay_max,
            first=_stamp(self._first, self._first_stamp),
            last=_stamp(self._last, self._last_stamp),
            mtas=self._mtas,
            delivered=[
                (host, [v4, v6, _stamp(first, first_stamp), _stamp(last, last_stamp), ips])
                for host, (v4, v6, first, last, first_stamp, last_stamp, ips) in (
                    self._families.delivered_items()
                )
            ],
            held=self._held_by_pid,
            tls=self._tls_by_pid,
            tls_popped=self.tls_popped,
            tls_missed=self.tls_missed,
            tls_puts=self.tls_puts,
            probes="\n".join(self.probes),
            max_held=self.max_held,
            ops=self.ops,
            joins=joins,
            quick="\n".join(quick),
        )


def _stamp(when: datetime | None, stamp: str) -> Moment:
    """A time as sent back: the stamp it was read from (None: no time)."""
    return None if when is None else stamp or when


def group_keys(agg: Aggregator) -> list[tuple[Any, ...]]:
    """agg's group keys, compact (for a worker once the table is full)."""
    return [
        (CAUSE_I[c], -1 if p is None else PHASE_I[p], dest, relay, direction)
        for c, p, dest, relay, direction in agg._groups
    ]


def foldable(events: list[LogEvent]) -> bool:
    """Can a worker fold these events? Postfix only: the Exim retry rules read the
    per-message table and the per-domain causes, which only the parent has."""
    return all(ev.mta == "postfix" for ev in events)


def merge_part(agg: Aggregator, part: RangePart) -> bool:  # noqa: PLR0911, PLR0912, PLR0915  (each refusal to merge is one early return)
    """Merge a worker's range into agg, exactly as if agg had folded the range's lines
    itself; False (agg unchanged) when the parent must fold the range itself."""
    held = agg._held_by_pid
    tls = agg._tls_by_pid
    if held:
        probes = set(part.probes.split("\n"))
        if any(key[8:] in probes for key in held if key.startswith("postfix:")):
            return False
    if len(held) + part.max_held > MAX_HELD:
        return False
    if tls and not tls.keys().isdisjoint(part.tls_missed):
        return False
    if len(tls) + part.tls_puts > MAX_HELD:
        return False
    quick = part.quick.split("\n") if part.quick else []
    if part.joins is not None and not fits(agg, part.joins, quick):
        return False  # only one pass knows what the range does to the per-message table
    groups = agg._groups
    plan: list[tuple[GroupKey, tuple[Any, ...]]] = []
    created: set[GroupKey] = set()
    size = len(groups)
    for entry in part.groups:
        ci, pi, dest, relay, direction = entry[:5]
        cause, phase = CAUSES[ci], None if pi < 0 else PHASES[pi]
        key: GroupKey = (cause, phase, dest, relay, direction)
        if key not in groups:
            if size < agg.max_groups:
                if entry[8] is None:
                    return False
                size += 1
            else:
                key = (cause, phase, OTHER, OTHER, direction)
                if key not in groups and key not in created:
                    if entry[8] is None:
                        return False
                    created.add(key)
        plan.append((key, entry))
    # From here on nothing can fail: apply.
    at = _at(agg)
    for key, entry in plan:
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(sample=entry[8], mta=entry[9])
        g.count += entry[5]
        first, last = at(entry[6]), at(entry[7])
        if first is not None and (g.first is None or first < g.first):
            g.first = first
        if last is not None and (g.last is None or last > g.last):
            g.last = last
    hours = agg._hours
    for hour, n in part.hours:
        if hour in hours or len(hours) < MAX_HOURS:
            hours[hour] = hours.get(hour, 0) + n
    totals = agg.totals
    for name, n in part.totals.items():
        totals[name] += n
    agg.add_delay_sums(part.delay_sums)
    agg._delay_n += part.delay_n
    agg._delay_max = max(agg._delay_max, part.delay_max)
    first, last = at(part.first), at(part.last)
    if first is not None and (agg._first is None or first < agg._first):
        agg._first = first
    if last is not None and (agg._last is None or last > agg._last):
        agg._last = last
    agg._mtas |= part.mtas
    agg._families.merge_delivered(
        [
            (host, [v4, v6, at(first), at(last), "", "", ips])
            for host, (v4, v6, first, last, ips) in part.delivered
        ]
    )
    for pid_key, evs in part.held.items():
        mine = held.get(pid_key)
        if mine is None:
            held[pid_key] = evs
        else:
            mine.extend(evs[: max(0, 16 - len(mine))])
    for pid_key in part.tls_popped:
        tls.pop(pid_key, None)
    tls.update(part.tls)
    _replay(agg, part.ops, at)
    if part.joins is not None:
        apply_joins(agg, part.joins, at)
        apply_quick(agg, quick)
    return True


def _at(agg: Aggregator) -> Callable[[Moment], datetime | None]:
    """Turns a Moment sent back by a worker into the datetime it stands for."""
    time_at = agg._time_at

    def at(moment: Moment) -> datetime | None:
        if moment is None or isinstance(moment, datetime):
            return moment
        return time_at(moment)

    return at


def _replay(
    agg: Aggregator, ops: list[tuple[Any, ...]], at: Callable[[Moment], datetime | None]
) -> None:
    note = agg._note
    drop = agg._drop_message
    causes, phases = CAUSES_OR_NONE, PHASES_OR_NONE
    for op in ops:
        kind = op[0]
        if kind == _NOTE:
            _, qid, stamp, si, ci, pi, relay, delay, dest = op
            note(qid, STATUSES[si], causes[ci], phases[pi], relay, delay, stamp, dest, _ABSENT)
        elif kind == _REMOVED:
            drop(op[1], None, op[2])
        else:
            _, relay, ci, moment, dest, mta = op
            agg._families.failed(relay, CAUSES[ci], at(moment), dest, mta)
