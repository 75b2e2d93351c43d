"""`smtpdoctor failover`: keep mail flowing by steering the MTA to the best healthy relay.

smtpdoctor failover --config FILE [--dry-run] [--listen 127.0.0.1:9332]
smtpdoctor failover status [--config FILE | --state-dir DIR] [--json]
smtpdoctor failover rules
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtpdoctor.exitcodes import CouldNotRun, ExitCode, UsageError

if TYPE_CHECKING:
    from smtpdoctor.failover.config import FailoverConfig
    from smtpdoctor.failover.exim import EximSteering
    from smtpdoctor.failover.postfix import PostfixSteering

DEFAULT_CONFIG = "/etc/smtpdoctor/failover.toml"
DEFAULT_STATE_DIR = "/var/lib/smtpdoctor/failover"


def register(subparsers: Any) -> None:
    """Add the failover parser."""
    parser = subparsers.add_parser(
        "failover",
        help="steer the MTA to the best healthy relay (active checks, circuit breakers)",
        description="Probe each relay, keep a circuit breaker per relay driven by cause "
        "codes, and point the MTA (Postfix relayhost) at the best healthy one.",
    )
    parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"default {DEFAULT_CONFIG}")
    parser.add_argument(
        "--dry-run", action="store_true", help="probe once, say what would be done and why"
    )
    parser.add_argument(
        "--listen", metavar="HOST:PORT", help="serve Prometheus /metrics (e.g. 127.0.0.1:9332)"
    )
    parser.add_argument(
        "--rounds", type=int, default=0, help=argparse.SUPPRESS
    )  # stop after N rounds (tests, benchmarks)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every round")
    parser.set_defaults(handler=run)
    sub = parser.add_subparsers(dest="failover_command", metavar="{status,rules}")
    status = sub.add_parser("status", help="each relay's health, breaker, the route, last actions")
    status.add_argument("--config", dest="status_config", help="read state_dir from this config")
    status.add_argument("--state-dir", help=f"default {DEFAULT_STATE_DIR}")
    status.add_argument("--json", action="store_true", help="one JSON document")
    status.set_defaults(handler=run_status)
    rules = sub.add_parser("rules", help="print the Prometheus alert rules")
    rules.set_defaults(handler=run_rules)


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise UsageError(f"--listen wants ADDRESS:PORT, got {text!r}") from None
    if not sep or not 0 < number < 65536:
        raise UsageError(f"--listen wants ADDRESS:PORT, got {text!r}")
    return host, number


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("smtpdoctor.failover")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def run(args: argparse.Namespace) -> int:
    """The daemon (or one dry-run round)."""
    from smtpdoctor.failover.config import load_config
    from smtpdoctor.failover.engine import Engine
    from smtpdoctor.failover.metrics import FailoverMetrics
    from smtpdoctor.failover.postfix import SteeringError
    from smtpdoctor.failover.probing import check_options, check_relay
    from smtpdoctor.failover.state import write_state

    config = load_config(Path(args.config))
    for relay in config.relays:
        check_options(relay)  # a missing password file is a config error, before anything runs
    listen = _listen(args.listen) if args.listen else None
    _setup_logging(args.verbose)
    steering = _steering(config)
    metrics = FailoverMetrics(tuple(r.name for r in config.relays))
    engine = Engine(config, steering, check_relay, metrics=metrics, dry_run=args.dry_run)
    if args.dry_run:
        return _dry_run(engine)
    engine.restore()
    if listen is not None:
        try:
            metrics.serve(*listen)
        except OSError as exc:
            raise CouldNotRun(f"cannot listen on {args.listen}: {exc.strerror or exc}") from None
    log = logging.getLogger("smtpdoctor.failover")
    candidates = [
        (r.route, tuple(o.route for o in config.relays if o is not r)) for r in config.relays
    ]
    for problem in steering.prevalidate(candidates):
        log.error("cannot steer there: %s", problem)
    try:
        steering.sync()
    except SteeringError as exc:
        log.error("%s", exc)
    log.info(
        "starting: mta=%s relays=%s interval=%.0fs state=%s",
        config.mta,
        ", ".join(f"{r.name}={r.route}" for r in config.relays),
        config.interval_s,
        config.state_dir,
    )

    async def loop() -> None:
        stop = asyncio.Event()
        running = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            running.add_signal_handler(sig, stop.set)
        rounds = 0
        while not stop.is_set():
            started = time.monotonic()
            await engine.tick()
            write_state(config.state_dir, engine.document())
            rounds += 1
            if args.rounds and rounds >= args.rounds:
                break
            wait = max(0.0, config.interval_s - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
        log.info("stopping: the MTA keeps the last route")

    asyncio.run(loop())
    return ExitCode.HEALTHY


def _steering(config: FailoverConfig) -> PostfixSteering | EximSteering:
    from smtpdoctor.failover.exim import EximSteering
    from smtpdoctor.failover.postfix import PostfixSteering

    if config.mta == "exim":
        route_file = config.exim_route_file
        if route_file is None:
            raise UsageError(f"{config.path}: mta = exim needs [exim] route_file")
        if not route_file.parent.is_dir():
            raise CouldNotRun(f"{route_file.parent} (for the route file) does not exist")
        return EximSteering(
            route_file, config.exim_binary, config.exim_config, config.exim_check_address
        )
    if not (config.postfix_config_dir / "main.cf").exists():
        raise CouldNotRun(f"{config.postfix_config_dir}/main.cf does not exist")
    return PostfixSteering(config.postfix_config_dir)


def _dry_run(engine: Any) -> int:
    from smtpdoctor.failover.engine import evidence
    from smtpdoctor.failover.route import Action, decide

    async def probe_all() -> None:
        for relay, health in zip(
            engine.config.relays,
            await asyncio.gather(*(engine.probe(r) for r in engine.config.relays)),
            strict=True,
        ):
            engine._observe(relay.name, health, engine.clock())

    asyncio.run(probe_all())
    now = engine.clock()
    engine.seed_steady(now)
    current = engine.read_route()
    decision = decide(
        engine.preference,
        {n: r.breaker for n, r in engine.records.items()},
        current,
        now,
        engine.config.breaker.hold_s,
    )
    out = sys.stdout
    out.write(f"route now: {', '.join(engine.relayhost) or '(none)'}")
    out.write(f" ({current or 'not a configured relay'})\n")
    for relay in engine.config.relays:
        record = engine.records[relay.name]
        health = record.health
        out.write(
            f"  {relay.name:<16} {relay.route:<24} {record.outcome.value:<8} {evidence(health)}\n"
        )
    verb = {
        Action.KEEP: "would keep the route",
        Action.SWITCH: "would switch",
        Action.FAILBACK: "would fail back",
        Action.ALL_DOWN: "would change nothing: ALL RELAYS DOWN",
    }[decision.action]
    out.write(f"{verb}: {decision.reason}\n")
    if decision.changes and decision.route is not None:
        route = engine.config.relay(decision.route).route
        others = [r.route for r in engine.config.relays if r.name != decision.route]
        if engine.config.mta == "postfix":
            value = ", ".join([route, *others])
            out.write(f"  postconf -e 'relayhost = {value}'; postfix reload\n")
        else:
            value = " ; ".join([route, *others])
            out.write(f'  route file {engine.config.exim_route_file}: "<; {value}"\n')
    healthy = all(
        r.outcome is not None and r.outcome.value == "success" for r in engine.records.values()
    )
    return ExitCode.HEALTHY if healthy and not decision.changes else ExitCode.PROBLEM_FOUND


def run_status(args: argparse.Namespace) -> int:
    """Show the state file the daemon writes."""
    from smtpdoctor.failover.state import read_state

    if args.state_dir:
        state_dir = Path(args.state_dir)
    elif args.status_config or args.config != DEFAULT_CONFIG or Path(args.config).exists():
        from smtpdoctor.failover.config import load_config

        state_dir = load_config(Path(args.status_config or args.config)).state_dir
    else:
        state_dir = Path(DEFAULT_STATE_DIR)
    data = read_state(state_dir)
    if data is None:
        raise CouldNotRun(f"no failover state in {state_dir}: is `smtpdoctor failover` running?")
    age = time.time() - float(data.get("updated_at_epoch", 0))
    data["age_s"] = round(age, 1)
    data["stale"] = age > 3 * float(data.get("interval_s", 10)) + 60
    if args.json:
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_status_text(data))
    problem = (
        data["all_down"]
        or data["stale"]
        or not data["current_route"]["preferred"]
        or not all(r["up"] for r in data["relays"])
    )
    return ExitCode.PROBLEM_FOUND if problem else ExitCode.HEALTHY


def _status_text(data: dict[str, Any]) -> str:
    route = data["current_route"]
    lines = [
        f"route: {route['relay'] or 'not a configured relay'} "
        f"(relayhost = {', '.join(route['relayhost']) or '(none)'})"
        + ("" if route["preferred"] else "  << on a backup relay"),
    ]
    if data["all_down"]:
        lines.append("ALL RELAYS DOWN: route left as it was, mail waits in the queue")
    stale = f"  << STALE: no update for {data['age_s']:.0f} s" if data["stale"] else ""
    lines.append(f"updated {data['updated_at']} by pid {data['pid']}{stale}")
    lines.append("")
    lines.append(
        f"{'relay':<16} {'route':<24} {'up':<4} {'breaker':<10} {'ambiguous':<9} last check"
    )
    for relay in data["relays"]:
        last = relay["last_check"]
        if last is None:
            check = "not probed yet"
        else:
            causes = (
                ", ".join(f"{c['code']}@{c['phase'] or '-'}" for c in last["causes"]) or "no causes"
            )
            check = f"{last['at']} {last['outcome']}: {causes} ({last['elapsed_ms']:.0f} ms)"
        breaker = relay["breaker"]["state"]
        lines.append(
            f"{relay['name']:<16} {relay['route']:<24} {'yes' if relay['up'] else 'no':<4} "
            f"{breaker:<10} {relay['ambiguous_eod']:<9} {check}"
        )
    if data["last_actions"]:
        lines.append("")
        lines.append("last actions:")
        for action in data["last_actions"][-10:]:
            relay = action["relay"] or "-"
            lines.append(f"  {action['at']} {action['action']:<9} {relay}: {action['reason']}")
    return "\n".join(lines) + "\n"


def run_rules(args: argparse.Namespace) -> int:
    """Print the alert rules."""
    from smtpdoctor.failover.alerts import RULES

    sys.stdout.write(RULES)
    return ExitCode.HEALTHY
