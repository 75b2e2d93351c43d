"""Folding a stream of events into a LogReport with bounded memory.

Memory stays flat however long the log: groups are capped (extra keys fold into an
"(other)" group), the per-message join table is an LRU capped at ``max_messages``
(a message leaves it when the MTA logs that it left the queue, or when the table is
full and it is the least recently seen), the histogram has one counter per hour of
log time (capped at MAX_HOURS), and the "worst messages" list keeps only the top
``keep_worst``.

One way in: text becomes blocks of complete lines (logs/blocks.py), a block is
counted for coverage and its interesting lines parsed (feed_block), and each event
is folded (feed_event). Files, byte ranges parsed in workers (logs/parallel.py),
--follow and journald all take it. report() never changes the state.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, Final

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.blocks import line_blocks
from smtpdoctor.logs.coverage import SAMPLES, CoverageCounter
from smtpdoctor.logs.events import TIMEOUT_CAUSES, EventKind, LogEvent, Status, new_event
from smtpdoctor.logs.exim import RETRY_NOT_REACHED
from smtpdoctor.logs.families import FamilyTracker, ipv6_broken
from smtpdoctor.logs.model import (
    DelayBreakdown,
    LogGroup,
    LogReport,
    MessageStats,
    MessageTrace,
)
from smtpdoctor.logs.parser import read_block
from smtpdoctor.logs.timestamps import StampParser
from smtpdoctor.phases import Phase

_ABSENT: Final[Any] = object()  # "not in the table" (None means "delivered at the first try")
# Enum members the hot paths compare with, as final names: the compiled build reads
# those from a C variable instead of looking the class up and then its attribute.
_STARTTLS: Final = Phase.STARTTLS
_CONNECT: Final = Phase.CONNECT
_TLS_FAILED: Final = CauseCode.TLS_FAILED
_RETRY_NOT_REACHED: Final = RETRY_NOT_REACHED  # logs/exim.py is not compiled
# A time passed to _note that a later line of the same message overwrites: worked out
# only where the record is made from this attempt (its first time).
LATER: Final[Any] = object()
_SECONDS: Final = tuple(timedelta(seconds=s) for s in range(61))
_MINUTE_DELTAS: Final = tuple(timedelta(minutes=m) for m in range(60))
_MICROS: Final[
    dict[tuple[float, ...], tuple[int, int, int, int]]
] = {}  # delays= parts in microseconds
MAX_HOURS: Final = 100_000  # histogram buckets (11 years of hours): a cap against garbage stamps
GroupKey = tuple[CauseCode, Phase | None, str, str, str]
OTHER: Final = "(other)"
TOTALS: Final = (
    "lines", "parsed", "unparsed", "deliveries", "delayed", "deferred", "bounced",
    "timeouts", "failed_attempts", "server_timeouts", "before_since",
)  # fmt: skip
MESSAGE_STATS: Final = (
    "tracked", "delivered_first_try", "delivered_after_retry", "bounced", "pending",
    "evicted", "max_attempts",
)  # fmt: skip
MAX_DOMAIN_CAUSES: Final = 4096  # last known cause per destination domain (retry lines)
Failure = tuple[CauseCode, Phase | None, str]  # cause, phase, relay
# A MessageTrace's fields, in order (queue ID, attempts, delay, outcome, causes,
# destination, first and last time).
TraceFields = tuple[
    str, int, float | None, str, tuple[CauseCode, ...], str, datetime | None, datetime | None
]


class _Group:
    """One group's counts while the log is read (a plain class: see _Message)."""

    def __init__(self, sample: str = "", mta: str = "") -> None:
        self.count = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.sample = sample
        self.mta = mta
        # The stamps first and last were read from (a byte range's worker sends these).
        self.first_stamp = ""
        self.last_stamp = ""

    def copy(self) -> _Group:
        """An independent copy."""
        twin = _Group(self.sample, self.mta)
        twin.count, twin.first, twin.last = self.count, self.first, self.last
        twin.first_stamp, twin.last_stamp = self.first_stamp, self.last_stamp
        return twin


class _Message:
    """What the log says of one queued message. A plain class, not a dataclass:
    compiled, its __init__ is native, where a dataclass's runs as generated Python
    (4,000 instructions a record, and the parent builds one per retried message)."""

    def __init__(
        self,
        first: datetime | None,
        last: datetime | None,
        destination: str = "",
        attempts: int = 0,
        delivered: bool = False,
    ) -> None:
        self.first = first
        self.last = last
        self.destination = destination
        self.attempts = attempts
        self.last_attempt = ""
        self.failures = 0
        self.causes: list[CauseCode] = []
        self.delivered = delivered
        self.bounced = False
        self.delay: float | None = None
        self.last_failure: Failure | None = None

    def copy(self) -> _Message:
        """An independent copy (its own list of causes)."""
        twin = _Message(self.first, self.last, self.destination, self.attempts, self.delivered)
        twin.last_attempt, twin.failures = self.last_attempt, self.failures
        twin.causes = list(self.causes)
        twin.bounced, twin.delay, twin.last_failure = self.bounced, self.delay, self.last_failure
        return twin


class Aggregator:
    """Feed it lines (or events); ask it for a LogReport at any time."""

    def __init__(
        self,
        since: datetime | None = None,
        *,
        max_messages: int = 100_000,
        max_groups: int = 5_000,
        keep_worst: int = 20,
        delayed_after: float = 60.0,
        stamps: StampParser | None = None,
    ) -> None:
        self.since = since
        self.max_messages = max_messages
        self.max_groups = max_groups
        self.keep_worst = keep_worst
        self.delayed_after = delayed_after
        self._stamps = stamps or StampParser()
        # Plain dicts with every key there from the start: a Counter is a Python
        # subclass of dict, and each `+=` on one costs several times a dict's.
        self.totals: dict[str, int] = dict.fromkeys(TOTALS, 0)
        self._groups: dict[GroupKey, _Group] = {}
        # A worker's fold under a full table: the parent's keys, in its order, the
        # only ones with a group of their own (logs/fold.py); None everywhere else.
        self._known_keys: dict[GroupKey, int] | None = None
        self._hours: dict[datetime, int] = {}
        # queue ID -> what we know; None marks "delivered at the first try, nothing
        # else known" (most mail), which costs no object at all.
        self._messages: OrderedDict[str, _Message | None] = OrderedDict()
        self._worst: list[tuple[float, int, TraceFields]] = []
        self._seq = 0
        self._msg_stats: dict[str, int] = dict.fromkeys(MESSAGE_STATS, 0)
        self._tls_by_pid: dict[str, LogEvent] = {}
        self._held_by_pid: dict[str, list[LogEvent]] = {}
        # The four delays= parts summed in whole microseconds: four native ints, where a
        # list's items would be objects added the generic way on every status line.
        self._delay_a = self._delay_b = self._delay_c = self._delay_d = 0
        self._delay_n = 0
        self._delay_max = 0.0
        self._first: datetime | None = None
        self._last: datetime | None = None
        self._first_stamp = self._last_stamp = ""  # what _first and _last were read from
        self._mtas: set[str] = set()
        self._families = FamilyTracker()
        self._domain_failure: dict[str, Failure] = {}
        self._coverage = CoverageCounter()
        self._held_count = self._held_timeouts = 0
        self._whens: dict[str, tuple[datetime | None, datetime | None]] = {}
        self._minutes: dict[str, tuple[datetime | None, datetime | None]] = {}

    @property
    def stamp_reference(self) -> datetime:
        """The time the year of classic syslog stamps is inferred against."""
        return self._stamps.reference

    @property
    def groups_full(self) -> bool:
        """Is the group table full (new keys go to "(other)" groups from now on)?"""
        return len(self._groups) >= self.max_groups

    def set_stamp_reference(self, reference: datetime) -> None:
        """Infer the year of classic syslog stamps from here on against reference
        (the modification time of the file about to be read)."""
        self._stamps.set_reference(reference)
        self._whens.clear()
        self._minutes.clear()

    # -- input -------------------------------------------------------------------------

    def feed_chunks(self, chunks: Iterable[str], block_size: int = 1 << 20) -> None:
        """Fold in text that arrives in chunks (any sizes, lines may straddle them).

        Text is handled in blocks of about block_size; when the chunk source fails,
        what arrived before the error is still counted, then the error propagates.
        """
        failed: list[BaseException] = []
        for block in line_blocks(_until_error(chunks, failed), self._coverage, block_size):
            self.feed_block(block)
        if failed:
            raise failed[0]

    def feed_block(self, block: str) -> None:
        """Fold in a block of complete lines (NULs already taken out): the one path
        every line takes, whole files, byte ranges, --follow and journald alike."""
        events: list[LogEvent] = []
        lines = read_block(block, events)
        self._coverage.count_block(block, lines)
        self.totals["lines"] += lines
        feed_event = self.feed_event
        for event in events:
            feed_event(event)

    def absorb_range(self, counts: tuple[int, ...], samples: list[str]) -> None:
        """Add a byte range's line counts (parsed in a worker, smtpdoctor.logs.parallel);
        its events come through feed_event."""
        cov = self._coverage
        lines, parsed, recognised, binary, truncated = counts[:5]
        cov.lines += lines
        cov.parsed += parsed
        cov.recognised += recognised
        cov.binary += binary
        cov.truncated += truncated
        cov.samples.extend(samples[: max(0, SAMPLES - len(cov.samples))])
        self.totals["lines"] += lines

    def feed_line(self, line: str) -> None:
        """Count one raw line (a journald record may hold newlines: still one line) and
        fold in its event, if it has one."""
        line = line.rstrip("\r\n")
        if "\n" in line or "\r" in line:
            line = line.replace("\r", " ").replace("\n", " ")
        for block in line_blocks((line, "\n"), self._coverage):
            self.feed_block(block)

    def _when(self, stamp: str) -> tuple[datetime | None, datetime | None]:
        """The time of a stamp and the hour it falls in (cached: stamps repeat)."""
        return self._whens.get(stamp) or self._new_when(stamp)

    def _new_when(self, stamp: str) -> tuple[datetime | None, datetime | None]:
        """_when of a stamp not in the cache (the caller looked), cached."""
        cached: tuple[datetime | None, datetime | None] | None = None
        # Classic syslog, whole seconds in ASCII digits (most lines): the minute and
        # its hour are worked out once, each second is one addition. (Other digits,
        # '٣' or '²', go to the stamp parser: int() of '4²' raises.)
        tens = ord(stamp[13]) - 48 if len(stamp) == 15 else -1
        ones = ord(stamp[14]) - 48 if len(stamp) == 15 else -1
        if 0 <= tens <= 6 and 0 <= ones <= 9 and stamp[3] == " " and stamp[12] == ":":
            minute = self._minutes.get(stamp[:12])
            if minute is None:
                minute = self._minute_of(stamp[:12])
            sec = tens * 10 + ones
            if minute[0] is not None and sec < 61:
                cached = (minute[0] + _SECONDS[sec], minute[1])
        if cached is None:
            when = self._stamps.parse(stamp)
            hour = None if when is None else when.replace(minute=0, second=0, microsecond=0)
            cached = (when, hour)
        if len(self._whens) >= 65536:
            self._whens.clear()
        self._whens[stamp] = cached
        return cached

    def _time_at(self, stamp: str) -> datetime | None:
        """The time of a stamp (through the same cache as the fold's own lines)."""
        return (self._whens.get(stamp) or self._new_when(stamp))[0]

    def _minute_of(self, head: str) -> tuple[datetime | None, datetime | None]:
        when = self._stamps.parse(head)
        hour: datetime | None = None
        if when is not None:
            # A minute's hour: a subtraction costs a tenth of replace() with keywords.
            if when.second or when.microsecond:
                hour = when.replace(minute=0, second=0, microsecond=0)
            else:
                hour = when - _MINUTE_DELTAS[when.minute]
        if len(self._minutes) >= 65536:
            self._minutes.clear()
        got = self._minutes[head] = (when, hour)
        return got

    def feed_event(self, ev: LogEvent) -> None:
        """Fold one event into the counters."""
        stamp = ev.stamp
        when, hour = self._whens.get(stamp) or self._new_when(stamp)
        if when is not None:
            if self.since is not None and when < self.since:
                self.totals["before_since"] += 1
                return
            first = self._first
            if first is None or when < first:
                self._first = when
                self._first_stamp = stamp
            last = self._last
            if last is None or when > last:
                self._last = when
                self._last_stamp = stamp
        self.totals["parsed"] += 1
        self._mtas.add(ev.mta)
        kind = ev.kind
        if kind is EventKind.DELIVERY:
            self._delivery(ev, when, hour)
        elif kind is EventKind.FAILURE:
            if ev.phase is _STARTTLS and ev.pid:
                # Postfix writes the TLS error first, then "Cannot start TLS" in the
                # status line: keep the detail to sharpen that line's cause.
                self._tls_put(f"{ev.mta}:{ev.pid}", ev)
                return
            key = _hold_key(ev)
            if key:
                # Postfix and Exim log each failed address on its own line, and the
                # last one again in the status line: hold it until that line comes.
                self._hold(key, ev)
                return
            self._failed_attempt(ev, when)
        elif kind is EventKind.SERVER_TIMEOUT:
            self.totals["server_timeouts"] += 1
            self._problem(ev, when, "inbound", hour)
        elif kind is EventKind.REMOVED:
            self._removed(ev, when)

    def _removed(self, ev: LogEvent, when: datetime | None) -> None:
        self._drop_message(ev.queue_id, when)

    def _drop_message(self, qid: str, when: datetime | None, stamp: str | None = None) -> None:
        """Message qid left the queue at when (or, when that is None, at the time of
        stamp, worked out only if the message has a record)."""
        msg = self._messages.pop(qid, _ABSENT)
        if msg is None:
            self._msg_stats["delivered_first_try"] += 1
        elif msg is not _ABSENT:
            if when is None and stamp is not None:
                when = self._time_at(stamp)
            msg.last = when or msg.last
            self._finish(qid, msg, "completed")

    def _tls_put(self, key: str, ev: LogEvent) -> None:
        if len(self._tls_by_pid) > 4096:
            self._tls_by_pid.clear()
        self._tls_by_pid[key] = ev

    def _tls_take(self, key: str) -> LogEvent | None:
        return self._tls_by_pid.pop(key, None)

    def _failed_attempt(self, ev: LogEvent, when: datetime | None) -> None:
        self.totals["failed_attempts"] += 1
        self._problem(ev, when, "outbound")
        if ev.queue_id:
            self._note_message(ev, when)

    def _hold(self, key: str, ev: LogEvent) -> None:
        held = self._held_by_pid.setdefault(key, [])
        if len(held) < 16:
            held.append(ev)
        if len(self._held_by_pid) > 4096:  # a pid that never wrote its status line
            self._release(next(iter(self._held_by_pid)), None)

    def _release(self, key: str, delivery: LogEvent | None) -> str:
        """Count the held lines; returns the relay of the one the status line repeats
        (Exim's `==` line names no host: its per-host line does)."""
        relay = ""
        kept: list[LogEvent] = []
        for held in self._held_by_pid.pop(key, []):
            if delivery is not None and _same_failure(held, delivery):
                relay = held.relay
                continue  # the same failure the status line reports
            if delivery is not None and _other_envelope(held, delivery):
                kept.append(held)  # it waits for its own status line
                continue
            event = held if delivery is None else held._replace(destination=delivery.destination)
            self._failed_attempt(event, self._stamps.parse(held.stamp))
        if kept:
            self._held_by_pid[key] = kept
        return relay

    def _delivery(self, ev: LogEvent, when: datetime | None, hour: Any = _ABSENT) -> None:  # noqa: PLR0912  (the hot path for status lines, kept flat for speed)
        if self._held_by_pid:
            key = _hold_key(ev)
            if key in self._held_by_pid:
                relay = self._release(key, ev)
                if relay and not ev.relay:
                    ev = ev._replace(relay=relay)
        status = ev.status
        if ev.cause is None and status is Status.DEFERRED and ev.detail == _RETRY_NOT_REACHED:
            ev = self._retry_cause(ev)
        totals = self.totals
        if status is Status.SENT:
            totals["deliveries"] += 1
            if ev.relay:
                self._families.delivered(ev.relay, when, ev.stamp)
            if ev.delay is not None and ev.delay >= self.delayed_after:
                totals["delayed"] += 1
                self._add_delays(ev)
        elif status is Status.DEFERRED:
            totals["deferred"] += 1
            self._add_delays(ev)
        else:
            totals["bounced"] += 1
        if ev.cause is not None:
            if ev.cause is _TLS_FAILED and ev.pid:
                tls = self._tls_take(f"{ev.mta}:{ev.pid}")
                if tls is not None and tls.cause is not None:
                    ev = _with_cause(ev, tls.cause)
            self._problem(ev, when, "outbound", hour)
        if ev.queue_id:
            self._note_message(ev, when)

    def _retry_cause(self, ev: LogEvent) -> LogEvent:
        """Exim's "retry time not reached": the message waits because of its last
        failure (or, for a message first seen here, the destination's last failure)."""
        msg = self._messages.get(ev.queue_id)
        known = msg.last_failure if msg else None
        if known is None:
            known = self._domain_failure.get(ev.destination)
        if known is None:
            return ev
        cause, phase, relay = known
        return ev._replace(cause=cause, phase=phase, relay=ev.relay or relay)

    def _add_delays(self, ev: LogEvent) -> None:
        d = ev.delays
        if d is None:
            return
        # Whole microseconds, summed as integers: the sums do not depend on the order
        # of addition, so byte ranges folded apart and merged give the same averages.
        micro = _MICROS.get(d)
        if micro is None:
            if len(_MICROS) >= 65536:
                _MICROS.clear()
            micro = _MICROS[d] = (
                round(d[0] * 1e6),
                round(d[1] * 1e6),
                round(d[2] * 1e6),
                round(d[3] * 1e6),
            )
        self._delay_a += micro[0]
        self._delay_b += micro[1]
        self._delay_c += micro[2]
        self._delay_d += micro[3]
        self._delay_n += 1
        if ev.delay is not None and ev.delay > self._delay_max:
            self._delay_max = ev.delay

    def delay_sums(self) -> list[int]:
        """The four delays= parts summed, in whole microseconds."""
        return [self._delay_a, self._delay_b, self._delay_c, self._delay_d]

    def add_delay_sums(self, sums: list[int]) -> None:
        """Add another fold's delay_sums() (a byte range's, merged here)."""
        self._delay_a += sums[0]
        self._delay_b += sums[1]
        self._delay_c += sums[2]
        self._delay_d += sums[3]

    def _problem(  # noqa: PLR0912  (the hot path of every failure, kept flat for speed)
        self, ev: LogEvent, when: datetime | None, direction: str, hour: Any = _ABSENT
    ) -> None:
        """Count a failure in its group and the histogram (hour: the hour of ev.stamp,
        when the caller has it)."""
        cause = ev.cause
        assert cause is not None
        if cause in TIMEOUT_CAUSES:
            self.totals["timeouts"] += 1
        if direction == "outbound":
            if ev.phase is _CONNECT and ev.relay:
                self._family_failed(ev, when)
            if ev.destination and ev.mta == "exim":  # for Exim's "retry time not reached"
                if len(self._domain_failure) >= MAX_DOMAIN_CAUSES:
                    self._domain_failure.clear()
                self._domain_failure[ev.destination] = (cause, ev.phase, ev.relay)
        key: GroupKey = (cause, ev.phase, ev.destination, ev.relay, direction)
        group = self._groups.get(key)
        if group is None:
            known = self._known_keys
            if known is not None and key in known:
                group = self._groups[key] = _Group()  # the parent has its sample
            elif known is not None or len(self._groups) >= self.max_groups:
                key = (cause, ev.phase, OTHER, OTHER, direction)
                group = self._groups.get(key)
                if group is None and known is not None and key in known:
                    group = self._groups[key] = _Group()
            if group is None:
                group = self._groups[key] = _Group(sample=ev.raw, mta=ev.mta)
        group.count += 1
        if when is not None:
            first = group.first
            if first is None or when < first:
                group.first = when
                group.first_stamp = ev.stamp
            last = group.last
            if last is None or when > last:
                group.last = when
                group.last_stamp = ev.stamp
            if hour is _ABSENT:
                hour = (self._whens.get(ev.stamp) or self._new_when(ev.stamp))[1]
            if hour is not None:
                hours = self._hours
                n = hours.get(hour)
                if n is not None:
                    hours[hour] = n + 1
                elif len(hours) < MAX_HOURS:
                    hours[hour] = 1

    def _family_failed(self, ev: LogEvent, when: datetime | None) -> None:
        assert ev.cause is not None
        self._families.failed(ev.relay, ev.cause, when, ev.destination, ev.mta)

    # -- the per-message join ----------------------------------------------------------

    def _note_message(self, ev: LogEvent, when: datetime | None) -> None:
        self._note(
            ev.queue_id, ev.status, ev.cause, ev.phase, ev.relay, ev.delay, ev.stamp,
            ev.destination, when,
        )  # fmt: skip

    def _note(
        self,
        qid: str,
        status: Status,
        cause: CauseCode | None,
        phase: Phase | None,
        relay: str,
        delay: float | None,
        stamp: str,
        destination: str,
        when: Any,
    ) -> None:
        """The per-message join: one attempt (or failure) of message qid. when: the
        time of stamp, or _ABSENT to work it out only if it is needed (most mail is
        delivered at the first try, which needs no time), or LATER when a later line
        of the message sets its last time anyway."""
        messages = self._messages
        msg = messages.get(qid, _ABSENT)
        if msg is _ABSENT:
            self._msg_stats["tracked"] += 1
            if (
                status is Status.SENT
                and cause is None
                and (delay is None or delay < self.delayed_after)
            ):
                # Delivered at the first try, nothing else known (most mail): a table
                # slot and no object.
                messages[qid] = None
                if len(messages) > self.max_messages:
                    self._evict()
                return
        if when is _ABSENT:
            when = self._time_at(stamp)
        elif when is LATER:
            when = None if isinstance(msg, _Message) else self._time_at(stamp)
        if msg is _ABSENT:
            msg = messages[qid] = _Message(when, when, destination)
            if len(messages) > self.max_messages:
                self._evict()
        elif msg is None:  # was delivered to another recipient at the first try
            msg = _Message(when, when, destination, attempts=1, delivered=True)
            msg.last_attempt = stamp
            messages[qid] = msg
            messages.move_to_end(qid)
        else:
            messages.move_to_end(qid)
            if when is not None:
                msg.last = when
        _apply_attempt(msg, status, cause, phase, relay, delay, stamp, destination)

    def _evict(self) -> None:
        if len(self._messages) > self.max_messages:
            old_qid, old = self._messages.popitem(last=False)
            if old is None:
                self._msg_stats["delivered_first_try"] += 1
            else:
                self._finish(old_qid, old, "evicted")

    def _finish(self, qid: str, msg: _Message, how: str) -> None:
        stats = self._msg_stats
        if how == "evicted":
            stats["evicted"] += 1
            outcome = "pending"
        elif msg.bounced:
            stats["bounced"] += 1
            outcome = "bounced"
        elif msg.delivered:
            outcome = "delivered"
            stats["delivered_after_retry" if msg.failures else "delivered_first_try"] += 1
        else:
            stats["pending"] += 1
            outcome = "pending"
        if how == "pending":
            outcome = "pending"
        stats["max_attempts"] = max(stats["max_attempts"], msg.attempts)
        if msg.failures == 0:
            return
        delay = msg.delay
        if delay is None and msg.first is not None and msg.last is not None:
            delay = (msg.last - msg.first).total_seconds()
        self._seq += 1
        worst = self._worst
        full = len(worst) >= self.keep_worst
        if full and (not worst or (delay or 0.0) < worst[0][0]):
            return  # heappushpop would hand it straight back: no trace to build
        # The fields of its MessageTrace (a frozen dataclass, 7,000 instructions to
        # build): built in report() for the few kept, not for every entry the heap sees.
        trace = (
            qid, msg.attempts, delay, outcome, tuple(msg.causes), msg.destination,
            msg.first, msg.last,
        )  # fmt: skip
        item = (delay or 0.0, self._seq, trace)
        if full:
            heapq.heappushpop(worst, item)
        else:
            heapq.heappush(worst, item)

    # -- output ------------------------------------------------------------------------

    def report(self, sources: tuple[str, ...] = (), warnings: tuple[str, ...] = ()) -> LogReport:
        """A snapshot of everything seen so far (messages still queued count as pending).

        Does not change the state: failed attempts still waiting for their status line
        are counted in this snapshot, and still matched when that line comes (so
        --follow counts each failure once, however late the status line arrives)."""
        held_groups, hours, held_messages = self._held_snapshot()
        stats = self._msg_stats.copy()
        stats["tracked"] += sum(1 for qid in held_messages if qid not in self._messages)
        worst = list(self._worst)
        pending_traces: list[tuple[str, _Message, float | None]] = []
        every = {**self._messages, **held_messages}  # held attempts counted in, copies
        for qid, msg in every.items():
            if msg is None:
                stats["delivered_first_try"] += 1
                continue
            if msg.delivered and not msg.bounced:
                # delivered, but the MTA's "removed" line is not in the log (yet)
                stats["delivered_after_retry" if msg.failures else "delivered_first_try"] += 1
                continue
            if msg.bounced:
                stats["bounced"] += 1
                continue
            stats["pending"] += 1
            stats["max_attempts"] = max(stats["max_attempts"], msg.attempts)
            if msg.failures:
                delay = msg.delay
                if delay is None and msg.first and msg.last:
                    delay = (msg.last - msg.first).total_seconds()
                pending_traces.append((qid, msg, delay))
        # The longest delays first (a stable sort: ties in the order above), and a
        # MessageTrace (a frozen dataclass, slow to build) only for the few kept.
        finished = [MessageTrace(*fields) for _, _, fields in worst]
        keys = [(-(t.delay or 0.0), t.queue_id) for t in finished]
        keys += [(-(delay or 0.0), qid) for qid, _, delay in pending_traces]
        kept = sorted(range(len(keys)), key=lambda i: (keys[i], i))[: self.keep_worst]
        traces = [
            finished[i] if i < len(finished) else _pending_trace(*pending_traces[i - len(finished)])
            for i in kept
        ]
        groups = sorted(
            (
                new_event(
                    LogGroup,
                    (k[0], k[1], k[2], k[3], g.count, g.first, g.last, g.sample, k[4], g.mta),
                )
                for k, g in held_groups.items()
            ),
            key=lambda g: (-g.count, g.cause, g.destination, g.relay),
        )
        n = self._delay_n
        avg = [round(x / (n * 1_000_000), 3) if n else 0.0 for x in self.delay_sums()]
        delays = DelayBreakdown(n, avg[0], avg[1], avg[2], avg[3], self._delay_max)
        coverage = self._coverage.snapshot()
        extra = {"failed_attempts": self._held_count, "timeouts": self._held_timeouts}
        totals = {k: self.totals[k] + extra.get(k, 0) for k in TOTALS}
        totals["unparsed"] = coverage.unparsed
        return LogReport(
            groups=tuple(groups),
            totals=totals,
            messages=MessageStats(
                tracked=stats["tracked"],
                delivered_first_try=stats["delivered_first_try"],
                delivered_after_retry=stats["delivered_after_retry"],
                bounced=stats["bounced"],
                pending=stats["pending"],
                evicted=stats["evicted"],
                max_attempts=stats["max_attempts"],
                worst=tuple(traces),
            ),
            delays=delays,
            histogram=tuple(sorted(hours.items())),
            sources=sources,
            warnings=warnings,
            since=self.since,
            first_seen=self._first,
            last_seen=self._last,
            mtas=tuple(sorted(self._mtas)),
            insights=ipv6_broken(self._families.snapshot()),
            coverage=coverage,
        )

    def _held_snapshot(
        self,
    ) -> tuple[dict[GroupKey, _Group], dict[datetime, int], dict[str, _Message | None]]:
        """The groups, the histogram and the message records with the failed attempts
        still held counted in (copies of what they touch; the state is left as it is)."""
        groups = self._groups
        hours = self._hours
        messages: dict[str, _Message | None] = {}
        self._held_count = self._held_timeouts = 0
        for held in self._held_by_pid.values():
            for ev in held:
                if ev.cause is None:
                    continue
                if groups is self._groups:
                    groups, hours = dict(self._groups), dict(self._hours)
                key: GroupKey = (ev.cause, ev.phase, ev.destination, ev.relay, "outbound")
                if key not in groups and len(groups) >= self.max_groups:
                    key = (ev.cause, ev.phase, OTHER, OTHER, "outbound")
                old = groups.get(key)
                g = _Group(sample=ev.raw, mta=ev.mta) if old is None else old.copy()
                when = self._stamps.parse(ev.stamp)
                g.count += 1
                if when is not None:
                    g.first = when if g.first is None else min(g.first, when)
                    g.last = when if g.last is None else max(g.last, when)
                    hour = self._when(ev.stamp)[1]
                    if hour is not None and (hour in hours or len(hours) < MAX_HOURS):
                        hours[hour] = hours.get(hour, 0) + 1
                groups[key] = g
                if ev.queue_id:
                    known = messages.get(ev.queue_id, self._messages.get(ev.queue_id, _ABSENT))
                    messages[ev.queue_id] = _with_held_attempt(known, ev, when)
                self._held_count += 1
                self._held_timeouts += ev.cause in TIMEOUT_CAUSES
        return groups, hours, messages


def _apply_attempt(
    msg: _Message,
    status: Status,
    cause: CauseCode | None,
    phase: Phase | None,
    relay: str,
    delay: float | None,
    stamp: str,
    destination: str,
) -> None:
    """Count one attempt (or failure) of a message into its record."""
    if stamp != msg.last_attempt:
        msg.attempts += 1
        msg.last_attempt = stamp
    if cause is not None:
        msg.failures += 1
        msg.last_failure = (cause, phase, relay)
        if cause not in msg.causes and len(msg.causes) < 8:
            msg.causes.append(cause)
    if status is Status.SENT:
        msg.delivered = True
    elif status is Status.BOUNCED or status is Status.EXPIRED:
        msg.bounced = True
    if delay is not None:
        old = msg.delay
        if old is None or delay > old:
            msg.delay = delay if delay > 0.0 else 0.0
    if not msg.destination:
        msg.destination = destination


def _with_held_attempt(msg: object, ev: LogEvent, when: datetime | None) -> _Message:
    """A copy of a message's record (or a new one) with a held failed attempt counted in:
    what the record will say once that attempt's status line comes. ``msg`` is the
    record, None (delivered at the first try to another recipient) or _ABSENT."""
    if msg is _ABSENT:
        copy = _Message(first=when, last=when, destination=ev.destination)
    elif not isinstance(msg, _Message):
        copy = _Message(when, when, ev.destination, attempts=1, delivered=True)
    else:
        copy = msg.copy()
        copy.last = when or copy.last
    _apply_attempt(
        copy, ev.status, ev.cause, ev.phase, ev.relay, ev.delay, ev.stamp, ev.destination
    )
    return copy


def _until_error(chunks: Iterable[str], failed: list[BaseException]) -> Iterator[str]:
    """The chunks up to the first error, which is kept in failed."""
    try:
        yield from chunks
    except Exception as exc:  # re-raised by the caller once the text before it is in
        failed.append(exc)


def _pending_trace(qid: str, msg: _Message, delay: float | None) -> MessageTrace:
    return MessageTrace(
        qid, msg.attempts, delay, "pending", tuple(msg.causes), msg.destination, msg.first, msg.last
    )


def _hold_key(ev: LogEvent) -> str:
    """Which later status line a failed-attempt line belongs to ('' for none)."""
    if ev.mta == "postfix" and ev.pid:
        return f"postfix:{ev.pid}"  # the same smtp process writes the status line
    if ev.mta in ("exim", "sendmail") and ev.queue_id:
        return f"{ev.mta}:{ev.queue_id}"
    if ev.mta == "opensmtpd" and ev.pid:
        return f"opensmtpd:{ev.pid}"  # the session id
    return ""


def _other_envelope(held: LogEvent, delivery: LogEvent) -> bool:
    """Is the held line another destination's failure that only shares the key? OpenSMTPD
    writes every relay's failed MX lookup under session 0, so two relays' failures can
    be held together; each belongs to its own status line."""
    return (
        held.mta == "opensmtpd"
        and bool(held.destination)
        and held.destination != delivery.destination
    )


def _same_failure(held: LogEvent, delivery: LogEvent) -> bool:
    """Does the status line repeat the failure of the held per-address line?"""
    if (held.cause, held.phase) != (delivery.cause, delivery.phase):
        return False
    host = held.relay.split("[", 1)[0].rstrip(".")
    other = delivery.relay.split("[", 1)[0].rstrip(".")
    return not host or not other or host == other


def _with_cause(ev: LogEvent, cause: CauseCode) -> LogEvent:
    return ev._replace(cause=cause)
