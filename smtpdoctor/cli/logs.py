"""`smtpdoctor logs`: timeout forensics over MTA logs (argument parsing and exit codes)."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from smtpdoctor.cli.main import skip_teardown
from smtpdoctor.cli.terminal import terminal_width
from smtpdoctor.exitcodes import CouldNotRun, ExitCode, UsageError
from smtpdoctor.logs.aggregate import Aggregator
from smtpdoctor.logs.api import NothingReadableError, analyze, reference_time
from smtpdoctor.logs.follow import follow_lines
from smtpdoctor.logs.journal import JournalUnavailableError, iter_journal
from smtpdoctor.logs.model import LogReport
from smtpdoctor.logs.reader import UnreadableLogError, iter_file, order_sources
from smtpdoctor.logs.timestamps import parse_since
from smtpdoctor.report import logs_csv, logs_json


def register(subparsers: Any) -> None:
    """Add the `logs` subcommand."""
    p = subparsers.add_parser(
        "logs",
        help="find timeouts in Postfix / Exim / Sendmail / OpenSMTPD logs",
        description="Timeout forensics over MTA logs: which phase timed out, towards which "
        "destination, how often, since when, and the fix. Reads plain, .gz, .bz2 and .xz "
        "files, rotated sets (oldest first), stdin ('-') and journald.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="log files; '-' reads stdin")
    p.add_argument("--journal", action="store_true", help="read journald (journalctl -o json)")
    p.add_argument("--since", help="only events after this: '2 days ago', 'yesterday', ISO time")
    p.add_argument("--follow", "-f", action="store_true", help="keep reading as lines arrive")
    p.add_argument(
        "--interval", type=float, default=10.0, help="seconds between --follow summaries"
    )
    p.add_argument(
        "--no-rotated", action="store_true", help="do not add rotated siblings (mail.log.1 ...)"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON document (smtpdoctor.logs/1)")
    out.add_argument("--csv", action="store_true", help="one CSV row per group")
    p.add_argument("--top", type=int, default=20, help="rows per table in the terminal report")
    p.add_argument(
        "--max-messages",
        type=int,
        default=100_000,
        help="size of the per-message join table (memory bound)",
    )
    p.set_defaults(handler=run)


def _render(args: argparse.Namespace, report: LogReport) -> str:
    if args.json:
        return logs_json.render(report) + "\n"
    if args.csv:
        return logs_csv.render(report)
    width = terminal_width()  # None: not a terminal
    color = width is not None and not os.environ.get("NO_COLOR")
    from smtpdoctor.report import logs_terminal  # rich: only for terminal output

    return logs_terminal.render(report, top=args.top, color=color, width=width or 120)


def _exit_code(report: LogReport) -> int:
    if report.coverage.unreadable:
        return ExitCode.COULD_NOT_RUN  # "could not read this log": never a false OK
    return ExitCode.PROBLEM_FOUND if report.groups else ExitCode.HEALTHY


def _check_args(args: argparse.Namespace) -> datetime | None:
    if not args.interval > 0 or args.top <= 0 or args.max_messages <= 0:  # NaN too
        raise UsageError("--interval, --top and --max-messages must be positive")
    if not args.files and not args.journal:
        raise UsageError("give a log file (or '-' for stdin), or --journal")
    if args.files and args.journal:
        raise UsageError("use either files or --journal, not both")
    for f in args.files:
        if f != "-" and not Path(f).exists():
            raise UsageError(f"{f}: no such file")
        if f != "-" and Path(f).is_dir():
            raise UsageError(f"{f}: is a directory")
    if args.follow and (len(args.files) > 1 or args.files == ["-"]):
        raise UsageError("--follow takes one file (or --journal)")
    if args.since is None:
        return None
    try:
        return parse_since(args.since)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    """Analyse the logs; 0 nothing wrong, 1 failures found, 2 usage, 3 nothing readable."""
    since = _check_args(args)
    if args.follow:
        return _follow(args, since)
    # The analysis and the report make no reference cycles: the cyclic collector would
    # only walk a large log's tables again and again (a full pass after analyze, more
    # while the report is written, 20 to 50 ms on 1,000,000 lines).
    enabled = gc.isenabled()
    gc.disable()
    try:
        code = _report_once(args, since)
        skip_teardown()  # the tables of a large log are not freed one by one at exit
        return code
    finally:
        if enabled:
            gc.freeze()  # what was made meanwhile goes to the oldest generation unwalked
            gc.unfreeze()
            gc.enable()


def _report_once(args: argparse.Namespace, since: datetime | None) -> int:
    if args.journal:
        agg = Aggregator(since, max_messages=args.max_messages)
        try:
            for line in iter_journal(args.since):
                agg.feed_line(line)
        except JournalUnavailableError as exc:
            raise CouldNotRun(str(exc)) from None
        report = agg.report(("journal",))
        if report.totals["lines"] == 0:
            raise CouldNotRun(
                "journald returned no mail records (SYSLOG_FACILITY=2)"
                + (f" since {args.since!r}" if args.since else "")
                + ": does the MTA log to journald here? Give the log file instead."
            )
    else:
        try:
            report = analyze(
                args.files,
                since,
                include_rotated=not args.no_rotated,
                max_messages=args.max_messages,
            )
        except NothingReadableError as exc:
            raise CouldNotRun(str(exc)) from None
    for w in report.warnings:
        sys.stderr.write(f"smtpdoctor: warning: {w}\n")
    sys.stdout.write(_render(args, report))
    return _exit_code(report)


class _Stop(Exception):
    pass


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _follow(args: argparse.Namespace, since: datetime | None) -> int:  # noqa: PLR0912  (one loop over follow events: start, rotate, rolling report, stop)
    agg = Aggregator(since, max_messages=args.max_messages)
    signal.signal(signal.SIGTERM, _on_term)
    source: tuple[str, ...] = ("journal",) if args.journal else (args.files[0],)
    warnings: list[str] = []
    try:
        if not args.journal and not args.no_rotated:
            path = Path(args.files[0])
            for old in order_sources([path], include_rotated=True):
                if old != path:
                    agg.set_stamp_reference(reference_time(old))
                    try:
                        for line in iter_file(old):
                            agg.feed_line(line)
                    except UnreadableLogError as exc:
                        warnings.append(str(exc))
        agg.set_stamp_reference(datetime.now().astimezone())  # the live file: written now
        lines: Iterator[str | None]
        if args.journal:
            lines = iter(iter_journal(args.since, follow=True))
        else:
            lines = follow_lines(Path(args.files[0]), poll=min(0.25, args.interval))
        next_tick = time.monotonic() + args.interval
        for item in lines:
            if item is not None:
                agg.feed_line(item)
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + args.interval
                _rolling(args, agg.report(source, tuple(warnings)))
    except (_Stop, KeyboardInterrupt):
        pass
    except JournalUnavailableError as exc:
        raise CouldNotRun(str(exc)) from None
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    report = agg.report(source, tuple(warnings))
    if args.json:  # JSON Lines: the final report is one line like every rolling one
        sys.stdout.write(logs_json.render(report, indent=None) + "\n")
    else:
        sys.stdout.write(_render(args, report))
    sys.stdout.flush()
    return _exit_code(report)


def _rolling(args: argparse.Namespace, report: LogReport) -> None:
    if args.json:
        sys.stdout.write(logs_json.render(report, indent=None) + "\n")
    elif args.csv:
        sys.stdout.write(logs_csv.render(report))
    else:
        from smtpdoctor.report import logs_terminal  # rich: only for terminal output

        sys.stdout.write(logs_terminal.render_rolling(report))
    sys.stdout.flush()
