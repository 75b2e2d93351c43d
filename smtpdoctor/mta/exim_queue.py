"""Exim queue: `exim -bp` listing to QueuedMessage. Pure parsing plus a thin reader.

Format (Exim spec, chapter "The -bp option"): a header line per message,
`AGE SIZE ID <SENDER> [*** frozen ***]`, then one indented line per recipient,
`D ` in front of those already delivered, and a blank line between messages.
Exim does not list the deferral reason there; it is in the message log (`exim -Mvl ID`,
the file `msglog/ID` of the spool): `ADDRESS R=router T=transport defer (ERRNO): TEXT`
after an `H=host [ip] TEXT` line naming the host that failed. Those are read straight
from the spool (one subprocess per message would cost seconds on a large queue) and
classified with the logs parser's Exim classifier.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from smtpdoctor.logs.classify import domain_of
from smtpdoctor.logs.exim import RETRY_NOT_REACHED, classify_exim
from smtpdoctor.mta.exim_config import parse_bp
from smtpdoctor.mta.model import Mta, QueuedMessage, QueuedRecipient, QueueSnapshot, Unreadable
from smtpdoctor.mta.runner import ToolError, find_tool, run, stream_lines

_HEADER = re.compile(
    r"^\s*(?P<age>\d+[smhdw])\s+(?P<size>[\d.]+[KMG]?)\s+"
    r"(?P<id>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4})\s+<(?P<sender>[^>]*)>"
    r"(?P<frozen>\s+\*\*\* frozen \*\*\*)?"
)
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024 * 1024, "G": 1024**3}


def _size(text: str) -> int:
    unit = text[-1] if text[-1] in "KMG" else ""
    number = text[:-1] if unit else text
    return int(float(number) * _SIZE_UNITS[unit])


def parse_listing(lines: Iterable[str], now: datetime) -> Iterator[QueuedMessage]:
    """Every message in `exim -bp` output; ages are turned into arrival times from now."""
    header: re.Match[str] | None = None
    recipients: list[QueuedRecipient] = []

    def finish(m: re.Match[str]) -> QueuedMessage:
        age = m.group("age")
        seconds = int(age[:-1]) * _AGE_UNITS[age[-1]]
        return QueuedMessage(
            queue_id=m.group("id"),
            queue_name="frozen" if m.group("frozen") else "queued",
            arrival=now - timedelta(seconds=seconds),
            size=_size(m.group("size")),
            sender=m.group("sender"),
            recipients=tuple(recipients),
        )

    for line in lines:
        m = _HEADER.match(line)
        if m:
            if header is not None:
                yield finish(header)
            header, recipients = m, []
            continue
        text = line.strip()
        if header is None or not text:
            continue
        if text.startswith("D "):
            continue  # already delivered
        address = text[2:].strip() if text.startswith("+D ") else text
        recipients.append(QueuedRecipient(address=address, domain=sys.intern(domain_of(address))))
    if header is not None:
        yield finish(header)


_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [+-]\d{4})? ")
_DEFER_LINE = re.compile(
    r"^(?P<addr>\S+)(?: <[^>]*>)?(?: [A-Z]=\S+)* (?P<reason>defer \(-?\d+\).*)$"
)
_HOST_LINE = re.compile(r"^H=(?P<host>\S+) \[(?P<ip>[^\]]+)\](?::(?P<port>\d+))?:? ")
MSGLOG_TAIL_BYTES = 256 * 1024  # a message retried for days has a long log: its end will do


def parse_msglog(lines: Iterable[str]) -> dict[str, tuple[str, str]]:
    """address -> (the latest deferral reason, the host it failed at) from a message log.

    "retry time not reached" lines say only that Exim did not try: they keep the reason
    of the last real try.
    """
    out: dict[str, tuple[str, str]] = {}
    host = ""
    for raw in lines:
        m = _STAMP.match(raw)
        line = raw[m.end() :] if m else raw.strip()
        h = _HOST_LINE.match(line)
        if h is not None:
            port = h.group("port")
            host = f"{h.group('host')}[{h.group('ip')}]" + (f":{port}" if port else "")
            continue
        d = _DEFER_LINE.match(line)
        if d is None:
            continue
        reason = d.group("reason")
        if RETRY_NOT_REACHED in reason and d.group("addr") in out:
            continue
        out[d.group("addr")] = (reason, host)
    return out


def with_reasons(message: QueuedMessage, msglog: Iterable[str]) -> QueuedMessage:
    """The message with each recipient's deferral reason, cause, phase and relay."""
    reasons = parse_msglog(msglog)
    if not reasons:
        return message
    recipients = []
    for r in message.recipients:
        reason, relay = reasons.get(r.address, ("", ""))
        if not reason:
            recipients.append(r)
            continue
        cause, phase = classify_exim(reason)
        recipients.append(replace(r, reason=reason, cause=cause, phase=phase, relay=relay))
    return replace(message, recipients=tuple(recipients))


def msglog_path(spool: Path, queue_id: str, split: bool) -> Path:
    """Where Exim keeps the message log of queue_id."""
    if split:
        return spool / "msglog" / queue_id[5] / queue_id
    return spool / "msglog" / queue_id


def read_msglog(path: Path) -> list[str]:
    """The end of one message log; OSError if unreadable."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MSGLOG_TAIL_BYTES:
            handle.seek(size - MSGLOG_TAIL_BYTES)
            handle.readline()  # a partial line
        return handle.read().decode(errors="replace").splitlines()


def exim_binary(path: str | None = None) -> str | None:
    """exim or exim4 (Debian's name), from PATH."""
    return find_tool("exim4", path) or find_tool("exim", path)


def _spool(binary: str, config_args: list[str]) -> tuple[str | None, bool, Unreadable | None]:
    """spool_directory and split_spool_directory, from `exim -bP`."""
    argv = [binary, *config_args, "-bP", "spool_directory", "split_spool_directory"]
    try:
        opts = parse_bp(run(argv, timeout=15).stdout.splitlines())
    except ToolError as exc:
        return None, False, Unreadable("exim -bP spool_directory", str(exc))
    return opts.get("spool_directory"), opts.get("split_spool_directory") == "true", None


def read_queue(
    binary: str, config_args: list[str] | None = None, timeout: float = 60.0
) -> QueueSnapshot:
    """The queue as `exim -bp` lists it; ToolError if it cannot run."""
    now = datetime.now(UTC)
    argv = [binary, *(config_args or []), "-bp"]
    messages = list(parse_listing(stream_lines(argv, timeout), now))
    problems: list[Unreadable] = []
    if messages:
        spool, split, problem = _spool(binary, config_args or [])
        problems += [problem] if problem else []
        failed: OSError | None = None
        for i, message in enumerate(messages):
            if spool is None:
                break
            try:
                log = read_msglog(msglog_path(Path(spool), message.queue_id, split))
            except OSError as exc:
                failed = failed or exc
                continue
            messages[i] = with_reasons(message, log)
        if failed is not None:
            problems.append(
                Unreadable(
                    f"{spool}/msglog",
                    f"deferral reasons not shown for some messages: {failed.strerror or failed}"
                    " (the message logs are readable by root and the Exim user)",
                )
            )
    return QueueSnapshot(
        mta=Mta.EXIM,
        taken_at=now,
        messages=tuple(messages),
        source=" ".join(argv),
        problems=tuple(problems),
    )
