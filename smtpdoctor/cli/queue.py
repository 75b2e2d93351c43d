"""`smtpdoctor queue`: the mail queue shaped by destination, reason and age."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.cli.terminal import fit
from smtpdoctor.exitcodes import CouldNotRun, ExitCode, UsageError
from smtpdoctor.mta import flush as mta_flush
from smtpdoctor.mta.audit import master_running
from smtpdoctor.mta.detect import MtaOptions, detect, not_found_reason, read_queue
from smtpdoctor.mta.model import Mta, QueueSnapshot, Unreadable
from smtpdoctor.mta.postconf import parse_time, read_settings
from smtpdoctor.mta.runner import ToolError
from smtpdoctor.mta.shape import Action, Insight, QueueFilter, QueueShape, shape_queue
from smtpdoctor.report import queue_json, queue_text

POSTQUEUE_DOWN = "mail system is down"  # postqueue(1): "Queue report unavailable - ..."
_DURATION = re.compile(r"^(\d+)([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def add_mta_arguments(parser: argparse.ArgumentParser) -> None:
    """The options queue, config and doctor share: which MTA and where its files are."""
    parser.add_argument(
        "--mta", choices=[m.value for m in Mta], help="the MTA to read (default: detect)"
    )
    parser.add_argument(
        "--postfix-config",
        metavar="DIR",
        type=Path,
        help="a Postfix config directory other than /etc/postfix (postconf -c DIR)",
    )
    parser.add_argument(
        "--exim-config", metavar="FILE", type=Path, help="an Exim configuration file (exim -C FILE)"
    )
    parser.add_argument(
        "--queue-dir", metavar="DIR", type=Path, help="the queue directory (default: from the MTA)"
    )


def mta_options(args: argparse.Namespace) -> MtaOptions:
    """MtaOptions from parsed arguments; UsageError for a config dir that is not a directory."""
    config: Path | None = args.postfix_config
    if config is not None and config.exists() and not config.is_dir():
        raise UsageError(f"--postfix-config {config}: not a directory")
    return MtaOptions(
        mta=Mta(args.mta) if args.mta else None,
        postfix_config=config.resolve() if config is not None and config.exists() else config,
        queue_dir=args.queue_dir,
        exim_config=args.exim_config,
    )


def parse_duration(text: str) -> timedelta:
    """'90', '30m', '1h', '2d' as a timedelta; UsageError otherwise."""
    m = _DURATION.match(text.strip())
    if m is None:
        raise UsageError(f"bad duration {text!r}: use a number with s, m, h, d or w (e.g. 1h)")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def register(subparsers: Any) -> None:
    """Add the `queue` subcommand."""
    parser = subparsers.add_parser(
        "queue",
        help="the mail queue by destination, reason and age (Postfix, Exim, Sendmail)",
        description="Shapes the MTA's queue like qshape and groups it by deferral reason, "
        "destination and relay; says what the shape means and which commands help. "
        "Reads only, except --flush.",
    )
    add_mta_arguments(parser)
    parser.add_argument("--older-than", metavar="AGE", help="only messages older than AGE (1h)")
    parser.add_argument(
        "--reason", help="only recipients waiting for this cause code, 'timeout', or words"
    )
    parser.add_argument("--domain", help="only recipients at this domain (and its subdomains)")
    parser.add_argument(
        "--flush", metavar="DOMAIN", help="ask the MTA to retry DOMAIN now (asks first)"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask before --flush")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(handler=run)


def _confirm(command: str) -> bool:
    if not sys.stdin.isatty():
        raise UsageError("--flush asks before it runs; without a terminal add --yes")
    sys.stderr.write(f"Run `{command}`? [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _run_flush(options: MtaOptions, mta: Mta, domain: str, yes: bool) -> None:
    if not mta_flush.valid_domain(domain):
        raise UsageError(f"--flush {domain!r}: not a domain name")
    try:
        argv = mta_flush.flush_command(options, mta, domain)
    except ToolError as exc:
        raise CouldNotRun(str(exc)) from None
    command = " ".join(argv)
    if not yes and not _confirm(command):
        sys.stderr.write("not flushed\n")
        return
    try:
        output = mta_flush.flush(argv)
    except ToolError as exc:
        hint = " (Postfix flushes per site only for fast_flush_domains; try postqueue -f)"
        raise CouldNotRun(f"{exc}{hint if mta is Mta.POSTFIX else ''}") from None
    sys.stderr.write(f"ran `{command}`{': ' + output if output else ''}\n")


def run(args: argparse.Namespace) -> int:
    """Read, shape and print the queue."""
    options = mta_options(args)
    flt = QueueFilter(
        older_than=parse_duration(args.older_than) if args.older_than else None,
        reason=args.reason,
        domain=args.domain.lower() if args.domain else None,
    )
    mta = detect(options)
    if mta is None:
        raise CouldNotRun(not_found_reason(options))
    if args.flush:
        _run_flush(options, mta, args.flush, args.yes)
    lifetime: float | None = None
    down = False
    try:
        if mta is Mta.POSTFIX:
            settings = read_settings(options.postfix_target())
            lifetime = parse_time(settings.get("maximal_queue_lifetime", "5d"), "d")
            if options.queue_dir is None and settings.get("queue_directory"):
                options = replace(options, queue_dir=Path(settings.get("queue_directory")))
            down = options.queue_dir is not None and master_running(options.queue_dir) is False
    except ToolError as exc:
        raise CouldNotRun(f"cannot read the {mta.value} queue: {exc}") from None
    try:
        snapshot = read_queue(options, mta)
    except ToolError as exc:
        # Non-root users cannot read master.pid; postqueue then says it itself.
        down = down or (mta is Mta.POSTFIX and POSTQUEUE_DOWN in str(exc))
        if not down:
            raise CouldNotRun(f"cannot read the {mta.value} queue: {exc}") from None
        # postqueue refuses non-root users while the master is down: say so, still report
        snapshot = QueueSnapshot(
            mta, datetime.now(UTC), (), "postqueue", (Unreadable("postqueue", str(exc)),)
        )
    shape = shape_queue(snapshot, flt, config_dir=options.postfix_config, queue_lifetime_s=lifetime)
    if down:
        shape = with_mail_system_down(shape, options)
    sys.stdout.write(
        queue_json.render(shape) + "\n" if args.json else fit(queue_text.render(shape))
    )
    return ExitCode.PROBLEM_FOUND if shape.stuck or down else ExitCode.HEALTHY


def with_mail_system_down(shape: QueueShape, options: MtaOptions) -> QueueShape:
    """The shape with the first insight saying the mail system is down, and the command."""
    config = f" -c {options.postfix_config}" if options.postfix_config else ""
    insight = Insight(
        "mail_system_down",
        "the mail system is down: no Postfix master process runs, nothing delivers the queue",
        CauseCode.MTA_STOPPED,
        "master",
    )
    action = Action(f"postfix{config} start", "start the mail system")
    # a queue that could not be read is not known to be empty
    known = [i for i in shape.insights if not (shape.problems and i.kind == "empty")]
    return replace(
        shape,
        insights=(insight, *known),
        actions=(action, *shape.actions),
    )
