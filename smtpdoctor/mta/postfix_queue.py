"""Postfix queue: `postqueue -j` JSON lines to QueuedMessage. Pure parsing plus a thin reader.

Format: one JSON object per message (Postfix >= 3.1, postqueue(1) "JSON OBJECT FORMAT"):
queue_name, queue_id, arrival_time, message_size, forced_expire, sender, recipients
[{address, delay_reason?}]. A deferred message's file mtime is its next retry time
(qmgr sets it when it defers the message), so the reader stats queue_directory/deferred.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from smtpdoctor.logs.classify import domain_of
from smtpdoctor.logs.postfix import classify_reason
from smtpdoctor.mta.model import Mta, QueuedMessage, QueuedRecipient, QueueSnapshot, Unreadable
from smtpdoctor.mta.postconf import PostfixTarget
from smtpdoctor.mta.runner import stream_lines


class QueueFormatError(ValueError):
    """A line of `postqueue -j` output that is not a queue entry."""


def parse_recipient(entry: dict[str, object]) -> QueuedRecipient:
    """One element of `recipients`."""
    address = str(entry.get("address", ""))
    reason = sys.intern(str(entry.get("delay_reason", "") or ""))
    cause, phase, relay = classify_reason(reason) if reason else (None, None, "")
    return QueuedRecipient(
        address=address,
        domain=sys.intern(domain_of(address)),
        reason=reason,
        cause=cause,
        phase=phase,
        relay=sys.intern(relay),
    )


def parse_line(line: str) -> QueuedMessage:
    """One `postqueue -j` line; QueueFormatError if it is not a queue entry."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise QueueFormatError(f"not JSON: {line[:60]!r}") from exc
    if not isinstance(obj, dict) or "queue_id" not in obj:
        raise QueueFormatError(f"not a queue entry: {line[:60]!r}")
    arrival = obj.get("arrival_time")
    recipients = obj.get("recipients") or []
    return QueuedMessage(
        queue_id=str(obj["queue_id"]),
        queue_name=sys.intern(str(obj.get("queue_name", ""))),
        arrival=datetime.fromtimestamp(arrival, UTC) if isinstance(arrival, int | float) else None,
        size=int(obj.get("message_size", 0) or 0),
        sender=str(obj.get("sender", "")),
        recipients=tuple(parse_recipient(r) for r in recipients if isinstance(r, dict)),
    )


def parse_lines(lines: Iterable[str]) -> Iterator[QueuedMessage]:
    """Every queue entry in `postqueue -j` output; blank lines skipped."""
    for line in lines:
        if line.strip():
            yield parse_line(line)


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
    """The queue of the Postfix instance; ToolError if postqueue cannot run."""
    argv = [target.tool("postqueue"), *target.config_args(), "-j"]
    taken = datetime.now(UTC)
    messages = list(parse_lines(stream_lines(argv, timeout)))
    problems: list[Unreadable] = []
    if any(m.queue_name == "deferred" for m in messages):
        queue_dir = target.queue_dir
        if queue_dir is None:
            problems.append(Unreadable("next retry times", "queue_directory unknown"))
        else:
            try:
                retry = deferred_retry_times(queue_dir)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                problems.append(
                    Unreadable(f"{queue_dir / 'deferred'}", f"{reason}: next retry times not shown")
                )
            else:
                messages = [
                    _with_retry(m, retry.get(m.queue_id)) if m.queue_name == "deferred" else m
                    for m in messages
                ]
    return QueueSnapshot(
        mta=Mta.POSTFIX,
        taken_at=taken,
        messages=tuple(messages),
        source=" ".join(argv),
        problems=tuple(problems),
    )


def _with_retry(message: QueuedMessage, when: datetime | None) -> QueuedMessage:
    return message if when is None else replace(message, next_retry=when)
