"""All CPU cores on a large log: byte ranges parsed and folded in worker processes,
merged in file order in this one, so the report is exactly the one a single pass gives.

A plain (uncompressed) file is cut into ranges of RANGE_SIZE bytes at line ends.
Each worker (a process forked by logs/forks.py) reads its range through the same path
as a whole file (line_blocks, coverage counting, read_block) and folds its events with
the Aggregator's own code (smtpdoctor.logs.fold.RangeFold); the parent merges that
state (merge_part) and replays the few order-dependent steps, or folds the range
itself where the worker's empty start could be wrong (or the worker died). Ranges
holding lines of other MTAs than Postfix come back as compact events, folded here in
order. At most WINDOW ranges are in flight, so memory stays flat however large the
file.
"""

from __future__ import annotations

import codecs
import gc
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from smtpdoctor.logs.aggregate import Aggregator
from smtpdoctor.logs.blocks import line_blocks
from smtpdoctor.logs.codec import CAUSE_I, CAUSES, PHASE_I, PHASES, STATUS_I, STATUSES
from smtpdoctor.logs.coverage import CoverageCounter
from smtpdoctor.logs.events import Delays, EventKind, LogEvent
from smtpdoctor.logs.exim import RETRY_NOT_REACHED
from smtpdoctor.logs.fold import (
    RangeFold,
    RangePart,
    foldable,
    group_keys,
    merge_part,
)
from smtpdoctor.logs.forks import ForkPool, WorkerLost
from smtpdoctor.logs.parser import read_block
from smtpdoctor.logs.reader import compression_of

RANGE_SIZE = 8 << 20
MIN_SIZE = 32 << 20  # smaller files: one process (starting workers costs more)
WINDOW = 4  # ranges parsed ahead of the fold
RANGE_BLOCK = 1 << 18  # a worker's blocks (and so the events it holds at once)
_KINDS = tuple(EventKind)
_KIND_I = {k: i for i, k in enumerate(_KINDS)}
Packed = tuple[Any, ...]
RangeResult = tuple[tuple[int, int, int, int, int, int], list[str], "RangePart | list[Packed]"]


def worth_it(path: Path) -> bool:
    """Parse path in parallel: a plain file of MIN_SIZE bytes or more, two or more CPUs."""
    if (os.cpu_count() or 1) < 2:
        return False
    try:
        if path.stat().st_size < MIN_SIZE:
            return False
        with path.open("rb") as f:
            return compression_of(f.read(8)) is None
    except OSError:
        return False


def ranges(path: Path, size: int | None = None) -> list[tuple[int, int]]:
    """Byte ranges of about size (RANGE_SIZE) bytes that start at line starts and
    cover the file."""
    size = size or RANGE_SIZE
    total = path.stat().st_size
    cuts = [0]
    with path.open("rb") as f:
        pos = size
        while pos < total:
            f.seek(pos)
            f.readline()
            end = f.tell()
            if end >= total:
                break
            if end > cuts[-1]:
                cuts.append(end)
            pos = end + size
    cuts.append(total)
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _chunks(path: str, start: int, end: int, size: int = 1 << 18) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            data = f.read(min(size, left))
            if not data:
                break
            left -= len(data)
            yield decoder.decode(data)
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def _pack(ev: LogEvent) -> Packed:
    # A line's text goes along wherever the fold may make it a group's sample: any
    # line with a cause (which of them starts a group depends on --since and on what
    # the parent's table holds, known only there).
    raw = ev.raw if ev.cause is not None or ev.kind is not EventKind.DELIVERY else ""
    return (
        _KIND_I[ev.kind],
        ev.mta,
        ev.stamp,
        ev.queue_id,
        STATUS_I[ev.status],
        -1 if ev.cause is None else CAUSE_I[ev.cause],
        -1 if ev.phase is None else PHASE_I[ev.phase],
        ev.destination,
        ev.relay,
        ev.delay,
        None if ev.delays is None else tuple(ev.delays),
        ev.detail if ev.detail == RETRY_NOT_REACHED else "",
        raw,
        ev.pid,
    )


def _unpack(p: Packed) -> LogEvent:
    return LogEvent(
        _KINDS[p[0]],
        p[1],
        p[2],
        p[3],
        STATUSES[p[4]],
        None if p[5] < 0 else CAUSES[p[5]],
        None if p[6] < 0 else PHASES[p[6]],
        p[7],
        p[8],
        p[9],
        None if p[10] is None else Delays(*p[10]),
        "",
        p[11],
        p[12],
        p[13],
    )


Task = tuple[str, int, int, datetime | None, datetime, int, list[tuple[Any, ...]] | None, bool]


def parse_range(task: Task) -> RangeResult:
    """Parse and fold one byte range (in a worker): its coverage counts and either its
    folded state (RangePart) or, for ranges a worker cannot fold, its packed events."""
    path, start, end, since, reference, max_groups, full_keys, ops_mode = task
    gc.disable()  # no cycles are made here; the collector would only rescan the events
    try:
        return _parse_range(path, start, end, since, reference, max_groups, full_keys, ops_mode)
    finally:
        gc.enable()


def _parse_range(
    path: str,
    start: int,
    end: int,
    since: datetime | None,
    reference: datetime,
    max_groups: int,
    full_keys: list[tuple[Any, ...]] | None,
    ops_mode: bool,
) -> RangeResult:
    cov = CoverageCounter()
    fold = RangeFold(since, reference, full_keys, ops_mode)
    feed = fold.feed_event
    events: list[LogEvent] = []
    for block in _range_blocks(path, start, end, cov):
        cov.count_block(block, read_block(block, events))
        # Folded block by block and then dropped: a worker holds one block's events,
        # not a range's, and the next block's reuse their memory while it is cached.
        if not foldable(events):
            return _packed_range(path, start, end)
        for ev in events:
            feed(ev)
        events.clear()
    return _counts(cov), cov.samples, fold.export(max_groups, full_keys is not None)


def _packed_range(path: str, start: int, end: int) -> RangeResult:
    """A range with lines a worker cannot fold (another MTA's): its events, packed, for
    the parent to fold in order."""
    cov = CoverageCounter()
    events: list[LogEvent] = []
    for block in _range_blocks(path, start, end, cov):
        cov.count_block(block, read_block(block, events))
    return _counts(cov), cov.samples, [_pack(ev) for ev in events]


def _range_blocks(path: str, start: int, end: int, cov: CoverageCounter) -> Iterator[str]:
    return line_blocks(_chunks(path, start, end, RANGE_BLOCK), cov, RANGE_BLOCK)


def _counts(cov: CoverageCounter) -> tuple[int, int, int, int, int, int]:
    return (cov.lines, cov.parsed, cov.recognised, cov.binary, cov.truncated, 0)


def feed_file(agg: Aggregator, path: Path, workers: int | None = None) -> None:
    """Fold path into agg using worker processes for the parsing and most of the
    folding; the same result as agg.feed_chunks over the whole file."""
    spans = ranges(path)
    # One worker per core and one more: this process mostly waits for results, and its
    # share of work (merging, the per-message join) runs beside the workers.
    workers = workers or (os.cpu_count() or 1) + 1
    reference = agg.stamp_reference

    def task(i: int) -> Task:
        a, b = spans[i]
        keys = group_keys(agg) if agg.groups_full else None
        # Over half full, the per-message table could overflow before this range is
        # merged: then the worker sends every attempt, not a summary per message.
        ops_mode = len(agg._messages) > agg.max_messages // 2
        return (str(path), a, b, agg.since, reference, agg.max_groups, keys, ops_mode)

    # The merge makes no reference cycles, but it creates a record per retried message;
    # the cyclic collector would rescan the whole per-message table again and again.
    enabled = gc.isenabled()
    gc.disable()
    try:
        with ForkPool(parse_range, workers) as pool:
            _feed_ranges(agg, path, spans, task, pool)
    finally:
        if enabled:
            gc.enable()


def _feed_ranges(
    agg: Aggregator,
    path: Path,
    spans: list[tuple[int, int]],
    task: Callable[[int], Task],
    pool: ForkPool[Task, RangeResult],
) -> None:
    pending: deque[tuple[int, int]] = deque()  # (range, ticket)
    nxt = 0
    while nxt < len(spans) and len(pending) < WINDOW:
        pending.append((nxt, pool.submit(task(nxt))))
        nxt += 1
    while pending:
        i, ticket = pending.popleft()
        try:
            counts, samples, got = pool.result(ticket)
        except WorkerLost:  # a worker died (killed, out of memory): read it here
            agg.feed_chunks(_chunks(str(path), *spans[i]))
        else:
            if isinstance(got, RangePart):
                if merge_part(agg, got):
                    agg.absorb_range(counts, samples)
                else:  # the parent's state matters here: fold the range line by line
                    agg.feed_chunks(_chunks(str(path), *spans[i]))
            else:
                agg.absorb_range(counts, samples)
                feed = agg.feed_event
                for packed in got:
                    feed(_unpack(packed))
        if nxt < len(spans):
            pending.append((nxt, pool.submit(task(nxt))))
            nxt += 1
