"""`smtpdoctor config`: audits the MTA, resolver, firewall and resources for timeout causes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from smtpdoctor.cli.queue import add_mta_arguments, mta_options
from smtpdoctor.cli.terminal import fit
from smtpdoctor.exitcodes import CouldNotRun, ExitCode, UsageError
from smtpdoctor.finding import Severity
from smtpdoctor.mta.audit import AuditOptions, run_audit
from smtpdoctor.mta.findings import ConfigReport
from smtpdoctor.report import config_json, config_text


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    """Options config and doctor share."""
    add_mta_arguments(parser)
    parser.add_argument(
        "--resolv-conf",
        metavar="FILE",
        type=Path,
        default=Path("/etc/resolv.conf"),
        help="the resolver configuration to audit (default /etc/resolv.conf)",
    )
    parser.add_argument(
        "--no-dns-query", action="store_true", help="read resolv.conf but do not ask its servers"
    )


def audit_options(args: argparse.Namespace) -> AuditOptions:
    """AuditOptions from parsed arguments; UsageError for a --resolv-conf that is not a file."""
    resolv: Path = args.resolv_conf
    if resolv != Path("/etc/resolv.conf") and not resolv.is_file():
        why = "is a directory" if resolv.is_dir() else "no such file"
        raise UsageError(f"--resolv-conf {resolv}: {why}")
    return AuditOptions(mta_options(args), args.resolv_conf, not args.no_dns_query)


def exit_code(report: ConfigReport) -> int:
    """0 clean, 1 warnings or errors found, 3 nothing could be checked."""
    if not report.ran:
        return ExitCode.COULD_NOT_RUN
    if any(f.severity is not Severity.INFO for f in report.findings):
        return ExitCode.PROBLEM_FOUND
    return ExitCode.HEALTHY


def register(subparsers: Any) -> None:
    """Add the `config` subcommand."""
    parser = subparsers.add_parser(
        "config",
        help="audit MTA timeouts, relay, resolver, firewall and resources",
        description="Reads the MTA settings (postconf, exim -bP), /etc/resolv.conf, the "
        "firewall rules and the machine's resources; reports what leads to timeouts with "
        "the exact command to fix it. Changes nothing.",
    )
    add_audit_arguments(parser)
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Audit and print."""
    report = run_audit(audit_options(args))
    if not report.ran:
        reasons = "; ".join(
            f"{u.source}: {u.reason}" for s in report.sections for u in s.unreadable
        )
        raise CouldNotRun(f"nothing could be checked ({reasons})")
    sys.stdout.write(
        config_json.render(report) + "\n" if args.json else fit(config_text.render(report))
    )
    return exit_code(report)
