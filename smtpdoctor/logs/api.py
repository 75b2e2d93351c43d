"""The log analysis API other parts (doctor, monitor) call: `analyze(sources, since)`."""

from __future__ import annotations

import gc
import lzma
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from smtpdoctor.logs.aggregate import Aggregator
from smtpdoctor.logs.model import LogGroup, LogReport, MessageStats
from smtpdoctor.logs.parallel import feed_file, worth_it
from smtpdoctor.logs.reader import (
    UnreadableLogError,
    open_log,
    open_stdin,
    order_sources,
    text_chunks,
)

__all__ = ["LogGroup", "LogReport", "MessageStats", "analyze", "analyze_lines"]


def reference_time(source: Path | str) -> datetime:
    """When a source was last written (its mtime; now for stdin): the year of its
    classic syslog stamps is inferred from this."""
    if str(source) != "-":
        try:
            return datetime.fromtimestamp(Path(source).stat().st_mtime).astimezone()
        except (OSError, OverflowError, ValueError):
            pass
    return datetime.now().astimezone()


class NothingReadableError(Exception):
    """None of the sources could be read."""


def _feed(agg: Aggregator, source: Path | str, parallel: bool = True) -> None:
    # The fold makes no reference cycles, and its tables are capped: the cyclic
    # collector would only walk the same live objects again and again (10 % of the time).
    enabled = gc.isenabled()
    gc.disable()
    try:
        _feed_source(agg, source, parallel)
    finally:
        if enabled:
            gc.enable()


def _feed_source(agg: Aggregator, source: Path | str, parallel: bool) -> None:
    agg.set_stamp_reference(reference_time(source))
    if parallel and str(source) != "-" and worth_it(Path(source)):
        with open_log(Path(source)):  # the same checks (readable, text) as below
            pass
        try:
            feed_file(agg, Path(source))
        except (EOFError, OSError, ValueError) as exc:  # the file changed under us
            raise UnreadableLogError(f"{source}: could not be read ({exc})") from None
        return
    opener = open_stdin() if str(source) == "-" else open_log(Path(source))
    with opener as stream:
        try:
            agg.feed_chunks(text_chunks(stream))
        except (EOFError, OSError, lzma.LZMAError, ValueError) as exc:
            raise UnreadableLogError(f"{source}: truncated or corrupt ({exc})") from None


def analyze(
    sources: Iterable[Path | str],
    since: datetime | None = None,
    *,
    include_rotated: bool = False,
    max_messages: int = 100_000,
    parallel: bool = True,
) -> LogReport:
    """Read every source (oldest first for rotated sets; "-" is stdin) into one report.

    Sources that cannot be read become warnings in the report; when none can be read
    at all, NothingReadableError is raised. Large plain files are parsed on every CPU
    core (smtpdoctor.logs.parallel) unless parallel is False: the report is the same.
    """
    plain = [Path(s) for s in sources if str(s) != "-"]
    ordered: list[Path | str] = list(order_sources(plain, include_rotated))
    if any(str(s) == "-" for s in sources if isinstance(s, str | Path)):
        ordered.append("-")
    agg = Aggregator(since, max_messages=max_messages)
    warnings: list[str] = []
    readable = 0
    for src in ordered:
        before = agg.totals["lines"]
        try:
            _feed(agg, src, parallel)
            readable += 1
        except UnreadableLogError as exc:
            got = agg.totals["lines"] - before
            if got:
                readable += 1
                warnings.append(f"{exc} after {got} lines")
            else:
                warnings.append(str(exc))
    if ordered and readable == 0:
        raise NothingReadableError("; ".join(warnings) or "no source could be read")
    return agg.report(tuple(str(s) for s in ordered), tuple(warnings))


def analyze_lines(lines: Iterable[str], since: datetime | None = None) -> LogReport:
    """A report over lines already in memory (tests, other tools)."""
    agg = Aggregator(since)
    for line in lines:
        agg.feed_line(line)
    return agg.report()
