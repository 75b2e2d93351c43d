"""`smtpdoctor doctor`: config, queue, logs and a live check, ranked into one report."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smtpdoctor.cli.config import add_audit_arguments, audit_options
from smtpdoctor.cli.queue import parse_duration
from smtpdoctor.cli.terminal import fit
from smtpdoctor.doctor.rank import report_verdict
from smtpdoctor.doctor.run import DoctorOptions, run_doctor
from smtpdoctor.exitcodes import CouldNotRun, ExitCode, UsageError
from smtpdoctor.finding import Verdict
from smtpdoctor.logs.timestamps import parse_since
from smtpdoctor.report import doctor_json, doctor_text


def register(subparsers: Any) -> None:
    """Add the `doctor` subcommand."""
    parser = subparsers.add_parser(
        "doctor",
        help="everything at once: config, queue, logs and a live check, ranked",
        description="Audits the configuration, shapes the queue, reads the mail log and "
        "probes the relay host (or the MX path of the top deferred destinations), then "
        "ranks the likely causes of timeouts with the evidence from each source.",
    )
    add_audit_arguments(parser)
    parser.add_argument(
        "--log",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="mail log to analyse (repeatable; default: maillog_file or /var/log/mail.log)",
    )
    parser.add_argument(
        "--since",
        default="24h",
        help="log window: 24h, 2d, or what `logs --since` takes ('2 days ago', 'yesterday', "
        "an ISO time; default 24h)",
    )
    parser.add_argument("--no-probe", action="store_true", help="no live check")
    parser.add_argument(
        "--probe",
        metavar="TARGET",
        action="append",
        default=[],
        help="check this target instead of the relay host / top destinations (repeatable)",
    )
    parser.add_argument(
        "--probe-connect-timeout",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="connect timeout of the live check (default 10)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(handler=run)


def _silent(_message: str) -> None:
    pass


def _to_stderr(message: str) -> None:
    sys.stderr.write(f"... {message}\n")


def parse_window(text: str) -> timedelta:
    """--since: a duration (24h) or anything `logs --since` accepts, as a window back from now."""
    try:
        return parse_duration(text)
    except UsageError:
        pass
    try:
        start = parse_since(text)
    except ValueError as exc:
        raise UsageError(f"{exc}, or a duration such as 24h") from None
    window = datetime.now(start.tzinfo or UTC) - start
    if window.total_seconds() < 0:
        raise UsageError(f"--since {text!r} is in the future")
    return window


def run(args: argparse.Namespace) -> int:
    """Run every check and print the ranked report."""
    if not 0.1 <= args.probe_connect_timeout <= 300:
        raise UsageError("--probe-connect-timeout must be between 0.1 and 300 seconds")
    quiet = args.json or not sys.stderr.isatty()
    options = DoctorOptions(
        audit=audit_options(args),
        logs=tuple(args.log),
        since=parse_window(args.since),
        probe=not args.no_probe,
        probe_targets=tuple(args.probe),
        probe_connect_timeout=args.probe_connect_timeout,
        progress=_silent if quiet else _to_stderr,
    )
    report = run_doctor(options)
    if not report.checked:
        raise CouldNotRun("nothing could be checked: " + "; ".join(report.not_checked))
    result = report_verdict(report)
    render = doctor_json.render if args.json else doctor_text.render
    out = render(report, result)
    out = out if args.json else fit(out)
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return ExitCode.HEALTHY if result is Verdict.OK else ExitCode.PROBLEM_FOUND
