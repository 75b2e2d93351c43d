"""Postfix queue: `postqueue -j` JSON lines to QueuedMessage. Pure parsing plus a thin reader.

Format: one JSON object per message (Postfix >= 3.1, postqueue(1) "JSON OBJECT FORMAT"):
queue_name, queue_id, arrival_time, message_size, forced_expire, sender, recipients
[{address, delay_reason?}]. A deferred message's file mtime is its next retry time
(qmgr sets it when it defers the message), so the reader stats queue_directory/deferred.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.classify import domain_of
from smtpdoctor.logs.postfix import classify_reason
from smtpdoctor.mta.model import Mta, QueuedMessage, QueuedRecipient, QueueSnapshot, Unreadable
from smtpdoctor.mta.postconf import PostfixTarget
from smtpdoctor.mta.runner import stream_lines
from smtpdoctor.phases import Phase

_DECODE = json.JSONDecoder().decode


class QueueFormatError(ValueError):
    """A line of `postqueue -j` output that is not a queue entry."""


@functools.lru_cache(maxsize=4096)
def _classified(reason: str) -> tuple[CauseCode | None, Phase | None, str]:
    # A stuck queue repeats a handful of reasons thousands of times: classify each once.
    cause, phase, relay = classify_reason(reason) if reason else (None, None, "")
    return cause, phase, sys.intern(relay)


def parse_recipient(entry: dict[str, object]) -> QueuedRecipient:
    """One element of `recipients`."""
    address = str(entry.get("address", ""))
    reason = sys.intern(str(entry.get("delay_reason", "") or ""))
    cause, phase, relay = _classified(reason)
    return QueuedRecipient(
        address=address,
        domain=sys.intern(domain_of(address)),
        reason=reason,
        cause=cause,
        phase=phase,
        relay=relay,
    )


def parse_line(line: str, retry: Mapping[str, datetime] | None = None) -> QueuedMessage:
    """One `postqueue -j` line; QueueFormatError if it is not a queue entry.

    retry: queue id to next retry time, applied to deferred messages.
    """
    try:
        obj = _DECODE(line)
    except json.JSONDecodeError as exc:
        raise QueueFormatError(f"not JSON: {line[:60]!r}") from exc
    if not isinstance(obj, dict) or "queue_id" not in obj:
        raise QueueFormatError(f"not a queue entry: {line[:60]!r}")
    arrival = obj.get("arrival_time")
    recipients = obj.get("recipients") or []
    queue_id = str(obj["queue_id"])
    queue_name = sys.intern(str(obj.get("queue_name", "")))
    return QueuedMessage(
        queue_id=queue_id,
        queue_name=queue_name,
        arrival=datetime.fromtimestamp(arrival, UTC) if isinstance(arrival, int | float) else None,
        size=int(obj.get("message_size", 0) or 0),
        sender=str(obj.get("sender", "")),
        recipients=tuple([parse_recipient(r) for r in recipients if isinstance(r, dict)]),
        next_retry=retry.get(queue_id) if retry and queue_name == "deferred" else None,
    )


def parse_lines(
    lines: Iterable[str], retry: Mapping[str, datetime] | None = None
) -> Iterator[QueuedMessage]:
    """Every queue entry in `postqueue -j` output; blank lines skipped."""
    for line in lines:
        if line.strip():
            yield parse_line(line, retry)


def deferred_retry_times(queue_dir: Path) -> dict[str, datetime]:
    """Queue id to next retry time from the mtimes under queue_dir/deferred (may raise OSError)."""
    times: dict[str, datetime] = {}
    root = queue_dir / "deferred"
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                    times[entry.name] = datetime.fromtimestamp(mtime, UTC)
    return times


def read_queue(target: PostfixTarget, timeout: float = 60.0) -> QueueSnapshot:
    """The queue of the Postfix instance; ToolError if postqueue cannot run.

    The deferred directory is scanned for retry times in a thread while postqueue (and
    the showq daemon behind it) produce the listing: the scan waits on the disk, the
    parse on the pipe.
    """
    argv = [target.tool("postqueue"), *target.config_args(), "-j"]
    taken = datetime.now(UTC)
    queue_dir = target.queue_dir
    problems: list[Unreadable] = []
    missing = None if queue_dir else Unreadable("next retry times", "queue_directory unknown")
    lines = stream_lines(argv, timeout)
    retry: dict[str, datetime] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        scan = pool.submit(deferred_retry_times, queue_dir) if queue_dir is not None else None
        first = next(lines, None)  # starts postqueue; the scan runs meanwhile
        if scan is not None and queue_dir is not None:
            try:
                retry = scan.result()
            except OSError as exc:
                reason = exc.strerror or str(exc)
                missing = Unreadable(
                    f"{queue_dir / 'deferred'}", f"{reason}: next retry times not shown"
                )
    head = [first] if first is not None else []
    messages = list(parse_lines(itertools.chain(head, lines), retry))
    if any(m.queue_name == "deferred" for m in messages) and missing is not None:
        problems.append(missing)
    return QueueSnapshot(
        mta=Mta.POSTFIX,
        taken_at=taken,
        messages=tuple(messages),
        source=" ".join(argv),
        problems=tuple(problems),
    )
