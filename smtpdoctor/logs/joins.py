"""The per-message join of a byte range, summarised per message in the worker.

The join (Aggregator._note, _drop_message) is order-dependent across the whole log: an
LRU table of messages. A worker cannot do it for its range (it does not know which
messages the parent's table already holds), but it can make it cheap for the parent:
instead of every attempt of every message, it sends one record per message of the
range, in the order of each message's last line there. A record holds the message's
first two attempts in full (the parent replays them through the real join, whatever
its table holds: nothing, "delivered at the first try", or a record), a summary of the
attempts after those (applied to the record in O(1): counts add, the last failure and
the last time win, causes are appended in order, the largest delay stays) and whether
the message left the queue. A log of retried mail (a server in trouble) has several
attempts per message: the parent's share of the join falls from one step per attempt
to about three per message.

Exact as long as no message is evicted from the parent's table during the range: the
parent checks that its table plus the range's records fit under the cap before it
applies them, and otherwise folds the range itself (a worker asked to, when the table
is over half full, sends its attempts one by one instead: logs/fold.py `ops`).
A queue ID seen again after its removal line starts a new record (Postfix reuses
short queue IDs): that message starts from nothing, as in one pass.

Most mail of a busy relay is delivered at the first try and leaves the queue in the
same range: one delivery, no failure, then its removal line. Such a message changes
nothing in the parent but two counts, provided the parent's table does not hold its
queue ID: it travels as its queue ID alone, and if the parent's table does hold one of
those IDs (a message whose first recipients went in the previous range), the parent
folds the range itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.aggregate import _ABSENT, LATER, Aggregator, _Message
from smtpdoctor.logs.codec import (
    CAUSE_I,
    CAUSES_OR_NONE,
    PHASE_I,
    PHASES_OR_NONE,
    STATUS_I,
    STATUSES,
)
from smtpdoctor.logs.events import Status
from smtpdoctor.phases import Phase

_SENT: Final = Status.SENT
_BOUNCED: Final = (Status.BOUNCED, Status.EXPIRED)
# One attempt, compact: (stamp, status, cause, phase, relay, delay, destination) with
# the enums as indices into logs/codec's tables (index -1: None).
Attempt = tuple[str, int, int, int, str, float | None, str]
_SENT_I: Final = STATUS_I[Status.SENT]


class _Rest:
    """What the attempts after a message's first two do to its record."""

    __slots__ = (
        "attempts", "bounced", "causes", "delay", "destination", "failures",
        "last_failure", "last_stamp", "last_when", "sent",
    )  # fmt: skip

    def __init__(self) -> None:
        self.last_when: str | None = None  # stamp of the last attempt with a time
        self.attempts = 0  # attempts counted (a new stamp is a new attempt)
        self.last_stamp = ""
        self.failures = 0
        self.last_failure: tuple[int, int, str] | None = None
        self.causes: list[int] = []  # distinct, in order of first occurrence
        self.sent = False
        self.bounced = False
        self.delay: float | None = None  # the largest (delays are never negative here)
        self.destination = ""  # the first non-empty


class _Join:
    """One message's attempts in one range."""

    __slots__ = ("attempts", "prev", "qid", "removed", "rest", "seq")

    def __init__(self, qid: str) -> None:
        self.qid = qid
        self.seq = 0
        self.attempts: list[Attempt] = []
        self.prev = ""  # stamp of the previous attempt
        self.rest: _Rest | None = None
        self.removed: str | None = None  # None: still queued; "" left at no known time


# What a worker sends per message: (queue ID, first attempts, summary of the others or
# None, None or the removal: "" (no time) or its stamp).
JoinRecord = tuple[str, tuple[Attempt, ...], tuple[Any, ...] | None, str | None]


class RangeJoins:
    """Collects a range's attempts and removals per message (in a worker)."""

    def __init__(self, delayed_after: float) -> None:
        self._open: dict[str, _Join] = {}
        self._done: list[_Join] = []
        self._seq = 0
        self._delayed_after = delayed_after

    def attempt(
        self,
        qid: str,
        stamp: str,
        timed: bool,
        status: Status,
        cause: CauseCode | None,
        phase: Phase | None,
        relay: str,
        delay: float | None,
        destination: str,
    ) -> None:
        """One attempt (or failure) of message qid; timed: its stamp has a time."""
        join = self._open.get(qid)
        if join is None:
            join = self._open[qid] = _Join(qid)
        self._seq += 1
        join.seq = self._seq
        if len(join.attempts) < 2:
            join.attempts.append(
                (
                    stamp,
                    STATUS_I[status],
                    -1 if cause is None else CAUSE_I[cause],
                    -1 if phase is None else PHASE_I[phase],
                    relay,
                    delay,
                    destination,
                )
            )
            join.prev = stamp
            return
        rest = join.rest
        if rest is None:
            rest = join.rest = _Rest()
        if timed:
            rest.last_when = stamp
        if stamp != join.prev:
            rest.attempts += 1
            join.prev = stamp
        rest.last_stamp = stamp
        if cause is not None:
            rest.failures += 1
            ci = CAUSE_I[cause]
            rest.last_failure = (ci, -1 if phase is None else PHASE_I[phase], relay)
            if ci not in rest.causes:
                rest.causes.append(ci)
        if status is _SENT:
            rest.sent = True
        elif status in _BOUNCED:
            rest.bounced = True
        if delay is not None and (rest.delay is None or delay > rest.delay):
            rest.delay = delay if delay > 0.0 else 0.0
        if not rest.destination:
            rest.destination = destination

    def removed(self, qid: str, stamp: str | None) -> None:
        """Message qid left the queue (stamp None: at no known time)."""
        join = self._open.pop(qid, None)
        if join is None:
            join = _Join(qid)
        self._seq += 1
        join.seq = self._seq
        join.removed = stamp or ""
        self._done.append(join)

    def export(self) -> tuple[list[JoinRecord], list[str]]:
        """One record per message, in the order of each message's last line; and the
        queue IDs of the messages delivered at the first try and gone (quick)."""
        quick: list[str] = []
        joins: list[_Join] = []
        for j in self._done:
            if j.rest is None and len(j.attempts) == 1 and self._first_try(j.attempts[0]):
                quick.append(j.qid)
            else:
                joins.append(j)
        joins.extend(self._open.values())
        joins.sort(key=_by_seq)
        records = [
            (j.qid, tuple(j.attempts), None if j.rest is None else _pack(j.rest), j.removed)
            for j in joins
        ]
        return records, quick

    def _first_try(self, attempt: Attempt) -> bool:
        """Would the join keep this message as "delivered at the first try"?"""
        _, si, ci, _, _, delay, _ = attempt
        return si == _SENT_I and ci < 0 and (delay is None or delay < self._delayed_after)


def _by_seq(join: _Join) -> int:
    return join.seq


def _pack(rest: _Rest) -> tuple[Any, ...]:
    return (
        rest.last_when, rest.attempts, rest.last_stamp, rest.failures, rest.last_failure,
        tuple(rest.causes), rest.sent, rest.bounced, rest.delay, rest.destination,
    )  # fmt: skip


def fits(agg: Aggregator, records: list[JoinRecord], quick: list[str]) -> bool:
    """Can a range's records be applied as summaries? No message may be evicted from
    agg's table on the way, and none of the quick messages may be in it already."""
    messages = agg._messages
    if len(messages) + len(records) + len(quick) > agg.max_messages:
        return False
    return messages.keys().isdisjoint(quick)


def apply_quick(agg: Aggregator, quick: list[str]) -> None:
    """Count the messages delivered at the first try and gone (check fits() first)."""
    stats = agg._msg_stats
    stats["tracked"] += len(quick)
    stats["delivered_first_try"] += len(quick)


def apply_joins(
    agg: Aggregator, records: list[JoinRecord], at: Callable[[str], datetime | None]
) -> None:
    """Apply a range's records to agg's join, exactly as its lines would have been
    (check fits() first). at: a stamp to its time."""
    note = agg._note
    drop = agg._drop_message
    messages = agg._messages
    for qid, attempts, rest, removed in records:
        # A time that a later line of the message overwrites (the summary's last timed
        # attempt, or the removal) is only worked out where it starts a record.
        when = LATER if removed or (rest is not None and rest[0] is not None) else _ABSENT
        for stamp, si, ci, pi, relay, delay, dest in attempts:
            note(
                qid, STATUSES[si], CAUSES_OR_NONE[ci], PHASES_OR_NONE[pi], relay, delay,
                stamp, dest, when,
            )  # fmt: skip
        if rest is not None:
            msg = messages[qid]
            assert msg is not None  # two attempts always leave a record
            _apply_rest(msg, rest, at, bool(removed))
        if removed is not None:
            drop(qid, None, removed or None)


def _apply_rest(
    msg: _Message, rest: tuple[Any, ...], at: Callable[[str], datetime | None], timed_end: bool
) -> None:
    """What _apply_attempt (and the time update before it) would do, attempt by
    attempt, for the attempts the summary stands for. timed_end: a removal with a
    time follows (it sets the last time: this one is not worked out)."""
    (last_when, attempts, last_stamp, failures, last_failure, causes, sent, bounced,
     delay, destination) = rest  # fmt: skip
    if last_when is not None and not timed_end:
        when = at(last_when)
        if when is not None:
            msg.last = when
    msg.attempts += attempts
    msg.last_attempt = last_stamp
    msg.failures += failures
    if last_failure is not None:
        ci, pi, relay = last_failure
        cause = CAUSES_OR_NONE[ci]
        assert cause is not None
        msg.last_failure = (cause, PHASES_OR_NONE[pi], relay)
    for ci in causes:
        cause = CAUSES_OR_NONE[ci]
        if cause is not None and cause not in msg.causes and len(msg.causes) < 8:
            msg.causes.append(cause)
    msg.delivered = msg.delivered or sent
    msg.bounced = msg.bounced or bounced
    if delay is not None and (msg.delay is None or delay > msg.delay):
        msg.delay = delay
    if not msg.destination:
        msg.destination = destination
