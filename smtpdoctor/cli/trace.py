"""`smtpdoctor trace TARGET[:PORT]`: TCP traceroute to the SMTP port, no raw sockets."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from typing import Any

from smtpdoctor.cli.terminal import fit
from smtpdoctor.exitcodes import ExitCode, UsageError
from smtpdoctor.net.trace import TraceResult, trace
from smtpdoctor.probe.dns import resolve_host
from smtpdoctor.report import trace_json, trace_terminal
from smtpdoctor.target import parse_port, parse_target


def register(subparsers: Any) -> None:
    """Add the `trace` subcommand."""
    p = subparsers.add_parser(
        "trace",
        help="TCP traceroute to an SMTP port: the hop where packets stop",
        description="Send one TCP SYN per TTL to TARGET's port (default 25) and read the "
        "routers' ICMP time-exceeded answers from the socket error queue (no raw sockets, "
        "no root). Shows who answered at each hop and where the packets stop.",
    )
    p.add_argument("target", help="host, host:port, [IPv6]:port or an IP address")
    p.add_argument("-p", "--port", help="port (default: the target's port, or 25)")
    fam = p.add_mutually_exclusive_group()
    fam.add_argument("-4", dest="family", action="store_const", const=4, help="IPv4 only")
    fam.add_argument("-6", dest="family", action="store_const", const=6, help="IPv6 only")
    p.add_argument("--max-hops", type=int, default=30, help="highest TTL to try (default 30)")
    p.add_argument(
        "--timeout", type=float, default=1.0, help="seconds to wait per probe (default 1)"
    )
    p.add_argument("--json", action="store_true", help="write smtpdoctor.trace/1 JSON")
    p.set_defaults(handler=run)


async def _run(args: argparse.Namespace) -> TraceResult:
    target = parse_target(args.target)
    if target.is_mx:
        raise UsageError("trace takes a host, not @domain: trace one of the domain's MX hosts")
    port = parse_port(args.port) if args.port else (target.port or 25)
    families = {4: (socket.AF_INET,), 6: (socket.AF_INET6,)}.get(
        args.family, (socket.AF_INET, socket.AF_INET6)
    )
    if target.is_address:
        address = target.host
        if args.family and (":" in address) != (args.family == 6):
            raise UsageError(f"{address} is not an IPv{args.family} address")
    else:
        resolved = await resolve_host(target.host, timeout=10.0, families=families)
        if not resolved.addresses:
            statuses = ", ".join(sorted({q.status for q in resolved.queries})) or "no answer"
            raise UsageError(f"cannot resolve {target.host} ({statuses})")
        address = resolved.addresses[0]
    return await trace(
        address, port, target=target.host, max_hops=args.max_hops, probe_timeout=args.timeout
    )


def run(args: argparse.Namespace) -> int:
    """Trace, print, and exit 0 when the port answered, 1 when the packets stop."""
    if not 1 <= args.max_hops <= 64:
        raise UsageError(f"--max-hops {args.max_hops}: choose 1 to 64")
    if not 0.05 <= args.timeout <= 30:
        raise UsageError(f"--timeout {args.timeout}: choose 0.05 to 30 seconds")
    result = asyncio.run(_run(args))
    out = trace_json.render(result) if args.json else fit(trace_terminal.render(result))
    sys.stdout.write(out)
    return ExitCode.HEALTHY if result.reached else ExitCode.PROBLEM_FOUND
