"""`smtpdoctor check TARGET`: arguments, progress, the report and exit codes.

Nagios starts a new process for every check, so importing this module loads no rich,
dnspython, cryptography or report module: each is imported where it is used (the report
of one output format in `run`, DNS and certificates in the probe);
tests/check/test_lazy_imports.py keeps it so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtpdoctor.cli import nagios_mode
from smtpdoctor.cli.check_options import PASSWORD_ENV, build_options
from smtpdoctor.cli.interrupt import INTERRUPTED_EXIT, Interrupted, Measured, run_interruptible
from smtpdoctor.cli.terminal import terminal_console, use_color
from smtpdoctor.diagnose.rules import diagnose
from smtpdoctor.diagnose.slow import SlowLimits
from smtpdoctor.exitcodes import ExitCode
from smtpdoctor.finding import Verdict
from smtpdoctor.phases import Phase
from smtpdoctor.probe.check import run_check
from smtpdoctor.probe.results import PhaseStatus

if TYPE_CHECKING:
    from rich.console import Console


def register(subparsers: Any) -> None:
    """Add the `check` subcommand."""
    p = subparsers.add_parser(
        "check",
        help="probe an SMTP server phase by phase and diagnose why mail times out",
        description="Probe every address and port of TARGET phase by phase (connect, TLS, "
        "greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA), then name the causes with "
        "evidence and fixes. Without --send, no message is sent.",
    )
    p.add_argument("target", help="host, host:port, [IPv6]:port or an IPv4 address")
    p.add_argument(
        "-p",
        "--port",
        action="append",
        default=[],
        metavar="PORT",
        help="port to probe (repeatable; default: the target's port, or 25, 465, 587)",
    )
    p.add_argument(
        "--tls",
        choices=("auto", "implicit", "plain"),
        default="auto",
        help="how a session starts: auto (implicit TLS on 465, plain elsewhere)",
    )
    p.add_argument(
        "--starttls",
        choices=("auto", "require", "never"),
        default="auto",
        help="use STARTTLS when offered (auto), insist on it, or never use it",
    )
    p.add_argument("--user", help="user name for AUTH")
    p.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help="file whose first line is the AUTH password",
    )
    p.add_argument(
        "--password-env",
        metavar="VAR",
        default=None,
        help=f"environment variable holding the password (default {PASSWORD_ENV})",
    )
    p.add_argument(
        "--auth-mech",
        choices=("PLAIN", "LOGIN"),
        type=str.upper,
        help="AUTH mechanism (default: PLAIN if offered, else LOGIN)",
    )
    p.add_argument(
        "--from",
        dest="sender",
        metavar="ADDRESS",
        help="envelope sender (default: the null sender <>)",
    )
    p.add_argument(
        "--to",
        dest="recipients",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="envelope recipient (repeatable; default postmaster@ the host's domain)",
    )
    p.add_argument(
        "--send",
        action="store_true",
        help="also send a small dated test message (DATA, body, end of data)",
    )
    p.add_argument("--helo", metavar="NAME", help="name to announce in EHLO")
    p.add_argument(
        "--cafile",
        type=Path,
        metavar="FILE",
        help="CA bundle to verify certificates with (default: system trust store)",
    )
    p.add_argument(
        "--timeout",
        action="append",
        default=[],
        metavar="PHASE=SECONDS",
        help="override one phase's limit (repeatable; 'command' sets all commands)",
    )
    p.add_argument(
        "--slow",
        action="append",
        default=[],
        metavar="PHASE=SECONDS",
        help="a phase that succeeds after more than SECONDS is reported slow (repeatable; "
        "defaults: connect 0.9, greeting/tls/starttls/commands 5, eod 10; 'command' sets all)",
    )
    p.add_argument(
        "--rfc",
        action="store_true",
        help="use RFC 5321 section 4.5.3.2 timeouts instead of the quick profile",
    )
    p.add_argument(
        "--budget", type=float, metavar="SECONDS", help="overall time budget for the whole check"
    )
    p.add_argument(
        "--reference",
        metavar="HOST",
        help="a host known to accept port 25, to tell an outbound block from a dead server",
    )
    p.add_argument(
        "--trace",
        action="store_true",
        help="on a connect timeout, run a TCP traceroute to find the last hop",
    )
    family = p.add_mutually_exclusive_group()
    family.add_argument("-4", dest="family", action="store_const", const=4, help="IPv4 only")
    family.add_argument("-6", dest="family", action="store_const", const=6, help="IPv6 only")
    p.add_argument("--json", action="store_true", help="write one JSON document to stdout")
    p.add_argument("--no-color", action="store_true", help="plain text output")
    p.add_argument("-v", "--verbose", action="store_true", help="show the transcripts")
    nagios_mode.add_arguments(p)
    p.set_defaults(handler=run)


class _Progress:
    """A one-line status on stderr while probes run (only on a terminal)."""

    def __init__(self, console: Console):
        self.console = console
        self.status = console.status("resolving…", spinner="dots")
        self.active: dict[str, Phase] = {}
        self.finished = 0

    def __call__(self, label: str, phase: Phase, status: PhaseStatus | None) -> None:
        if status is None:
            self.active[label] = phase
        elif status is not PhaseStatus.OK or phase is Phase.QUIT:
            self.active.pop(label, None)
            self.finished += 1
        shown = ", ".join(f"{k} {v.value}" for k, v in list(self.active.items())[:3])
        more = f" +{len(self.active) - 3}" if len(self.active) > 3 else ""
        self.status.update(f"probing: {shown}{more}  ({self.finished} done)")


def run(args: argparse.Namespace) -> int:
    """Run the check and print the report; returns the exit code."""
    if args.nagios:
        return nagios_mode.run(args)
    options = build_options(args)
    slow = SlowLimits().with_overrides(args.slow)
    color = use_color(args)
    progress = None
    if color and not args.json:
        # rich only for a terminal: --json and --nagios never load it (~50 ms of start-up)
        from rich.console import Console

        err = Console(stderr=True, no_color=not color)
        progress = _Progress(err) if err.is_terminal else None
    measured = Measured(progress)
    if progress is not None:
        with progress.status:
            outcome = run_interruptible(run_check(options, measured))
    else:
        outcome = run_interruptible(run_check(options, measured))
    if isinstance(outcome, Interrupted):
        from smtpdoctor.report import check_interrupted  # here: only after a signal

        render = check_interrupted.render_json if args.json else check_interrupted.render_text
        sys.stdout.write(
            render(
                args.target,
                outcome.signal_name,
                outcome.elapsed_ms,
                measured.as_dict(outcome.stopped_at),
            )
        )
        return INTERRUPTED_EXIT
    result = outcome
    diagnosis = diagnose(result, slow)
    if args.json:
        from smtpdoctor.report import check_json  # here: the terminal path does without it

        sys.stdout.write(check_json.render(result, diagnosis))
    else:
        from smtpdoctor.report import check_terminal  # here: it loads rich

        out = terminal_console(color)
        check_terminal.render(result, diagnosis, out, verbose=args.verbose)
    return ExitCode.HEALTHY if diagnosis.verdict is Verdict.OK else ExitCode.PROBLEM_FOUND
