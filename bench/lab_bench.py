"""Time to verdict on real network faults: smtpdoctor check against swaks and check_smtp.

Each fault is built in a fresh fault lab (tests/lab: network namespaces, a router with
nftables rules, dnsmasq); the three tools then run in the client namespace against
s1.lab.test port 25, one after the other, each with a 10 s limit (smtpdoctor's default
connect cap; check_smtp's default; `swaks --timeout 10`). For each tool the bench
records the wall time to its verdict and whether its output names the cause. It also
prints the time to build and tear down a lab.

The MX row is a mail domain whose five MX hosts (ten addresses) all drop SYNs:
`smtpdoctor check @dead.lab.test` probes every MX address; `swaks --to
postmaster@dead.lab.test` does its own MX lookup (through the lab's resolver, as it
runs in the client namespace) and tries only the best MX; check_smtp gets the first MX.

Run as root from the repository root: `python3 bench/lab_bench.py [--only NAME]`.
Takes about 3 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab.bigcert import make_big_cert  # noqa: E402 (after the path fix)
from tests.lab.dnsmasq import Zone  # noqa: E402
from tests.lab.topology import Lab, new_tag  # noqa: E402

CHECK_SMTP = "/usr/lib/nagios/plugins/check_smtp"
LIMIT_S = 10


@dataclass
class Fault:
    """One lab fault, the cause it should produce, and how to spot it in free text."""

    name: str
    cause: str
    pattern: str  # in the lower-cased output of swaks / check_smtp
    setup: Callable[[Lab, Path], list[str]]  # builds the fault; returns extra check args
    servers: int = 1
    zone: Zone | None = None  # None: the lab's default zone
    check_target: tuple[str, ...] = ("s1.lab.test", "-p", "25")
    swaks_target: tuple[str, ...] = ("--server", "s1.lab.test", "--port", "25",
                                     "--to", "postmaster@lab.test")  # fmt: skip
    check_smtp_host: str = "s1.lab.test"


def _serve(lab: Lab, *ports: int, extra: list[str] | None = None) -> None:
    for port in ports:
        lab.start_smtp(lab.servers[0], port=port, extra=extra)


def _all_dropped(lab: Lab, _: Path) -> list[str]:
    _serve(lab, 25, 587)
    lab.drop()
    return []


def _port25(lab: Lab, _: Path) -> list[str]:
    _serve(lab, 25, 587)
    lab.drop(dport=25)
    return []


def _reset(lab: Lab, _: Path) -> list[str]:
    _serve(lab, 25)
    lab.reject_reset(dport=25)
    return []


def _unreachable(lab: Lab, _: Path) -> list[str]:
    _serve(lab, 25)
    lab.reject_icmp(kind="host-unreachable", dport=25)
    return []


def _mtu(lab: Lab, tmp: Path) -> list[str]:
    cert = make_big_cert(tmp)
    _serve(lab, 25, extra=["--cert", str(cert.chain), "--key", str(cert.key)])
    lab.mtu_blackhole(mtu=1280)
    return ["--cafile", str(cert.ca)]


def _dns_timeout(lab: Lab, _: Path) -> list[str]:
    _serve(lab, 25)
    lab.set_resolvers(["203.0.113.53"], options="timeout:2 attempts:2")
    lab.block_dns()
    return []


def _mx_dead(lab: Lab, _: Path) -> list[str]:
    for server in lab.servers:
        lab.start_smtp(server)
    lab.drop()
    return []


def _dead_mx_zone() -> Zone:
    hosts: dict[str, tuple[str, ...]] = {
        f"s{i}.lab.test": (f"203.0.113.{9 + i}", f"2001:db8:3::{9 + i}") for i in range(1, 6)
    }
    mx = {"dead.lab.test": [(10 * i, f"s{i}.lab.test") for i in range(1, 6)]}
    return Zone(domain="lab.test", hosts=hosts, mx=mx)


FAULTS = (
    Fault("every port dropped", "connect_timeout", r"timed? ?out|timeout", _all_dropped),
    Fault("port 25 dropped, 587 open", "port25_blocked", r"port ?25.{0,30}block", _port25),
    Fault("tcp reset", "connect_refused", r"refused", _reset),
    Fault(
        "icmp host-unreachable",
        "host_unreachable",
        r"unreachable|prohibited|no route to host",
        _unreachable,
    ),
    Fault("mtu blackhole (1280)", "mtu_blackhole", r"\bmtu\b|\bmss\b|fragment", _mtu),
    Fault("dns blocked", "dns_timeout", r"(dns|resolv|name).{0,60}(time|timed)", _dns_timeout),
    Fault(
        "MX domain, five dead hosts",
        "connect_timeout",
        r"timed? ?out|timeout",
        _mx_dead,
        servers=5,
        zone=_dead_mx_zone(),
        check_target=("@dead.lab.test",),
        swaks_target=("--to", "postmaster@dead.lab.test"),
    ),
)


HUNG_S = 30.0  # a tool still running after this (3x its own limit) has no verdict: killed


def _timed(lab: Lab, argv: list[str]) -> tuple[float, str]:
    start = time.monotonic()
    try:
        done = lab.run_client(argv, timeout=HUNG_S)
    except subprocess.TimeoutExpired:
        return HUNG_S, ""
    return time.monotonic() - start, (done.stdout + done.stderr)


def run_fault(fault: Fault) -> tuple[dict[str, tuple[float, bool]], dict[str, int]]:
    """Build the fault in a fresh lab and time the three tools on it.

    Returns each tool's (seconds, named the cause) and how many addresses it tried.
    """
    lab = Lab(new_tag(), 1, fault.servers, zone=fault.zone)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            lab.build()
            extra = fault.setup(lab, Path(tmp))
            out: dict[str, tuple[float, bool]] = {}
            tried: dict[str, int] = {"check_smtp": 1}  # one host, its first address
            took, text = _timed(
                lab,
                ["smtpdoctor", "check", *fault.check_target, "--json",
                 "--helo", "client.lab.test", *extra],
            )  # fmt: skip
            try:
                doc = json.loads(text[: text.rindex("}") + 1])
                found = {c["code"] for c in doc["causes"]}
                tried["smtpdoctor"] = len({e["address"] for e in doc["endpoints"] if e["explicit"]})
            except (ValueError, KeyError):
                found = set()
            out["smtpdoctor"] = (took, fault.cause in found)
            took, text = _timed(
                lab,
                ["swaks", *fault.swaks_target, "--quit-after", "RCPT",
                 "--timeout", str(LIMIT_S), "-tls", "--helo", "client.lab.test"],
            )  # fmt: skip
            out["swaks"] = (took, bool(re.search(fault.pattern, text.lower())))
            tried["swaks"] = len(re.findall(r"^=== Trying ", text, re.MULTILINE))
            took, text = _timed(
                lab,
                [CHECK_SMTP, "-H", fault.check_smtp_host, "-p", "25", "-S", "-t", str(LIMIT_S)],
            )
            out["check_smtp"] = (took, bool(re.search(fault.pattern, text.lower())))
            return out, tried
        finally:
            lab.close()


def _coverage(fault: Fault, res: dict[str, tuple[float, bool]], tried: dict[str, int]) -> None:
    """How many MX addresses each tool tried, and what trying all would cost the others."""
    total = 2 * fault.servers  # IPv4 and IPv6 for each MX host
    each = max(res["swaks"][0], res["check_smtp"][0])
    serial = each * total
    print(
        f"  addresses tried (of {total}): smtpdoctor {tried.get('smtpdoctor', 0)}, "
        f"swaks {tried.get('swaks', 0)}, check_smtp {tried['check_smtp']}\n"
        f"  one-address tools, one run per address: {total} x {each:.1f} s = {serial:.0f} s "
        f"({serial / res['smtpdoctor'][0]:.1f}x; estimated from the run above)"
    )


def _cell(took: float, named: bool) -> str:
    if took >= HUNG_S:
        return f">{HUNG_S:.0f} s hung"
    return f"{took:6.2f} s {'named' if named else '  -  '}"


def build_figures(rounds: int = 5) -> tuple[float, float]:
    """Median seconds to build and to tear down a two-router, two-server lab."""
    builds, closes = [], []
    for _ in range(rounds):
        lab = Lab(new_tag(), 2, 2)
        start = time.monotonic()
        try:
            lab.build()
            builds.append(time.monotonic() - start)
        finally:
            start = time.monotonic()
            lab.close()
            closes.append(time.monotonic() - start)
    return statistics.median(builds), statistics.median(closes)


def main() -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only faults whose name contains this")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("lab_bench: needs root (network namespaces)", file=sys.stderr)
        return 3
    build, close = build_figures()
    print(f"lab (2 routers, 2 servers, dnsmasq): build {build:.2f} s, teardown {close:.2f} s")
    print(f"limit per tool: {LIMIT_S} s (smtpdoctor default connect cap)\n")
    header = f"{'fault':<27} {'smtpdoctor':>15} {'swaks':>15} {'check_smtp':>15}  ratio"
    print(header)
    print("-" * len(header))
    for fault in FAULTS:
        if args.only and args.only not in fault.name:
            continue
        res, tried = run_fault(fault)
        cells = [_cell(*res[t]) for t in res]
        slowest = max(res["swaks"][0], res["check_smtp"][0])
        ratio = f"{slowest / res['smtpdoctor'][0]:.1f}x" if res["smtpdoctor"][0] else "-"
        print(f"{fault.name:<27} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15}  {ratio}")
        if fault.servers > 1:
            _coverage(fault, res, tried)
    print("\nnamed: the output names the cause (smtpdoctor: the cause code in --json;")
    print("others: the output matches the cause's words). ratio: slower of the other two")
    print(f"tools' time divided by smtpdoctor's. hung: still running after {HUNG_S:.0f} s, killed.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
