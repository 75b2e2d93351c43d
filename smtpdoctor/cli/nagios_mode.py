"""`smtpdoctor check --nagios`: the check as a Nagios/Icinga plugin (exit 0/1/2/3)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from smtpdoctor.exitcodes import CouldNotRun, UsageError


def add_arguments(p: Any) -> None:
    """The plugin flags on check's parser."""
    p.add_argument(
        "--nagios",
        action="store_true",
        help="Nagios/Icinga plugin mode: one status line with perfdata, exit 0/1/2/3",
    )
    for short, name, state in (("-w", "--warning", "WARNING"), ("-c", "--critical", "CRITICAL")):
        p.add_argument(
            short,
            name,
            action="append",
            default=[],
            metavar="PHASE=SECONDS",
            help=f"with --nagios: {state} when a phase (or 'total') takes longer",
        )


def run(args: argparse.Namespace) -> int:
    """Probe, print the plugin line, return the plugin state; never exit 2 for a usage error
    (Nagios would read that as CRITICAL): bad input is UNKNOWN, as the guidelines say."""
    from smtpdoctor.cli.check_options import build_options
    from smtpdoctor.monitor.probing import to_sample
    from smtpdoctor.probe.check import run_check
    from smtpdoctor.report import nagios

    try:
        warning = nagios.parse_thresholds(args.warning, "-w")
        critical = nagios.parse_thresholds(args.critical, "-c")
        options = build_options(args)
        started, clock = time.time(), time.monotonic()
        result = asyncio.run(run_check(options))
        sample = to_sample(args.target, "check", result, started, time.monotonic() - clock)
        answer = nagios.render(sample, warning, critical)
    except (UsageError, CouldNotRun) as exc:
        answer = nagios.unknown(str(exc))
    sys.stdout.write(answer.line + "\n")
    return int(answer.state)
