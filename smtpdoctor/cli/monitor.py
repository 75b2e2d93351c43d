"""`smtpdoctor monitor`: run the monitor, print the alert rules, or show the history."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

from smtpdoctor.cli.queue import add_mta_arguments, mta_options
from smtpdoctor.exitcodes import CouldNotRun, ExitCode, UsageError
from smtpdoctor.monitor.config import MonitorConfig, load_config, parse_listen


def _common(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=default,
        help="TOML config (default: watch the relay host and the local MTA)",
    )
    p.add_argument(
        "--history",
        type=Path,
        metavar="FILE",
        default=default,
        help="SQLite history (default: $STATE_DIRECTORY or ~/.local/state/smtpdoctor)",
    )


def register(subparsers: Any) -> None:
    """Add the `monitor` subcommand."""
    p = subparsers.add_parser(
        "monitor",
        help="probe targets on a schedule; Prometheus metrics, alert rules, history, status page",
        description="Probe every target on a schedule and serve /metrics, /probe (blackbox "
        "style) and a status page at /. Without --config it watches this machine's relay host "
        "and local MTA. SIGHUP reloads the config.",
    )
    _common(p, None)
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="HTTP listener (default 127.0.0.1:9925; loopback unless told otherwise)",
    )
    p.add_argument(
        "--web-config",
        type=Path,
        metavar="FILE",
        help="TLS and basic auth for the listener (Prometheus exporter-toolkit web-config file)",
    )
    add_mta_arguments(p)
    p.set_defaults(handler=run, action=None)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    rules = actions.add_parser("rules", help="print the Prometheus alert rules")
    rules.set_defaults(handler=print_rules)
    status = actions.add_parser("status", help="last results, uptime and p50/p95 per phase")
    _common(status, argparse.SUPPRESS)
    status.add_argument("--json", action="store_true", help="write one JSON document")
    status.set_defaults(handler=show_status)


def _config(args: argparse.Namespace) -> MonitorConfig:
    if args.config is not None:
        config = load_config(args.config)
    else:
        from smtpdoctor.monitor.defaults import default_targets

        targets, found = default_targets(mta_options(args))
        sys.stderr.write(f"smtpdoctor monitor: no --config: {found}\n")
        config = MonitorConfig(targets=targets, source="(defaults)")
    if getattr(args, "listen", None):
        parse_listen(args.listen)
        config = MonitorConfig(**{**config.__dict__, "listen": args.listen})
    if getattr(args, "web_config", None):
        config = MonitorConfig(**{**config.__dict__, "web_config": args.web_config})
    return config


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT."""
    from smtpdoctor.monitor.daemon import Monitor

    config = _config(args)
    reload = (lambda: _config(args)) if args.config is not None else None
    monitor = Monitor(config, reload, args.history, mta_options(args))

    def ready(address: tuple[str, int]) -> None:
        host = f"[{address[0]}]" if ":" in address[0] else address[0]
        sys.stderr.write(
            f"smtpdoctor monitor: {len(config.targets)} target(s) every {config.interval_s:g} s; "
            f"{monitor.scheme}://{host}:{address[1]}/ (metrics at /metrics)\n"
        )

    asyncio.run(monitor.run(ready))
    return ExitCode.HEALTHY


def rules_text() -> str:
    """The shipped alert rules."""
    return resources.files("smtpdoctor.monitor").joinpath("rules.yml").read_text("utf-8")


def print_rules(args: argparse.Namespace) -> int:
    """`monitor rules`."""
    sys.stdout.write(rules_text())
    return ExitCode.HEALTHY


def show_status(args: argparse.Namespace) -> int:
    """`monitor status [--json]`: exit 0 all ok, 1 a target is degraded or failed."""
    from smtpdoctor.monitor.daemon import status_document, status_rows
    from smtpdoctor.monitor.history import History, default_path

    path = args.history
    if path is None and args.config is not None:
        path = load_config(args.config).history
    path = path or default_path()
    if not path.exists():
        raise CouldNotRun(f"{path}: no history yet (is `smtpdoctor monitor` running?)")
    try:
        history = History(path, readonly=True)
        rows = status_rows(history)
        history.close()
    except Exception as exc:  # sqlite3.Error and friends: one line, not a traceback
        raise CouldNotRun(f"{path}: cannot read the history: {exc}") from None
    document = status_document(rows)
    if args.json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        _print_status(document)
    bad = any(t["verdict"] != "ok" for t in document["targets"])
    return ExitCode.PROBLEM_FOUND if bad else ExitCode.HEALTHY


def _print_status(document: dict[str, Any]) -> None:
    if not document["targets"]:
        print("no probe results in the last 24 hours")
    for t in document["targets"]:
        ago = time.time() - t["last_probe"]
        print(
            f"{t['target']}: {t['verdict']} ({ago:.0f} s ago; "
            f"uptime {t['uptime'] * 100:.2f}% of {t['samples']} probes in 24 h)"
        )
        for c in t["causes"]:
            phase = f" in {c['phase']}" if c["phase"] else ""
            print(f"  {c['severity']}: {c['cause']}{phase}: {c['summary']}")
            if c["fix"]:
                print(f"    fix: {c['fix']}")
        if t["error"]:
            print(f"  probe error: {t['error']}")
        for phase, q in t["phases"].items():
            print(f"  {phase:<9} p50 {q['p50_s'] * 1000:8.1f} ms   p95 {q['p95_s'] * 1000:8.1f} ms")


__all__ = ["UsageError", "register"]
