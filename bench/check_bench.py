"""Benchmark `smtpdoctor check` against swaks and check_smtp; prints figures.

1. A full check of one healthy loopback server (aiosmtpd with STARTTLS): smtpdoctor
   (connect, greeting, EHLO, STARTTLS, EHLO, MAIL, RCPT, RSET, QUIT) against
   `swaks --quit-after RCPT -tls` and `check_smtp -S`, median of N runs each.
2. As root: a host in a network namespace whose ports 25, 465 and 587 silently drop
   SYNs (documentation address 192.0.2.10). smtpdoctor probes the three ports at
   once; check_smtp, the tool a monitoring setup would loop over the ports with, waits
   for each in turn. The namespace is removed at the end, whatever happens.

Run from the repository root: `python3 bench/check_bench.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.certs import make_certs  # noqa: E402 (after the path fix)
from tests.support.servers import GoodSMTP  # noqa: E402

CHECK_SMTP = "/usr/lib/nagios/plugins/check_smtp"
DROP_ADDRESS = "192.0.2.10"
DROP_PORTS = (25, 465, 587)


_CHECK_MS: list[float] = []  # smtpdoctor's own elapsed_ms of each run (no start-up)


def timed(argv: Sequence[str], timeout: float = 60.0) -> tuple[float, int, str]:
    """Seconds taken, exit code and the first output line of one run."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    first = (proc.stdout.strip().splitlines() or [""])[0][:90]
    if proc.stdout.startswith("{"):
        doc = json.loads(proc.stdout)
        _CHECK_MS.append(float(doc["elapsed_ms"]))
        first = f"verdict {doc['verdict']}, in-process {doc['elapsed_ms']:.0f} ms"
    return time.perf_counter() - start, proc.returncode, first


def median_of(argv: Sequence[str], runs: int) -> tuple[float, int, str]:
    """Median seconds over ``runs`` runs, with the last exit code and output line."""
    times = []
    code, first = 0, ""
    for _ in range(runs):
        seconds, code, first = timed(argv)
        times.append(seconds)
    return statistics.median(times), code, first


def healthy(runs: int) -> None:
    """Part 1: one healthy server, every tool, median of ``runs``."""
    with tempfile.TemporaryDirectory(prefix="sdbench-") as tmp:
        certs = make_certs(Path(tmp))
        server = GoodSMTP(certs.server_context("valid")).start()
        try:
            port = str(server.port)
            tools: list[tuple[str, list[str]]] = [
                (
                    "smtpdoctor check",
                    [sys.executable, "-m", "smtpdoctor", "check", f"127.0.0.1:{port}",
                     "--cafile", str(certs.ca_pem), "--json"],
                ),
            ]  # fmt: skip
            if shutil.which("swaks"):
                tools.append((
                    "swaks --quit-after RCPT -tls",
                    ["swaks", "--server", f"127.0.0.1:{port}", "--quit-after", "RCPT", "-tls",
                     "--to", "postmaster@example.org", "--from", "probe@example.org"],
                ))  # fmt: skip
            if os.path.exists(CHECK_SMTP):
                tools.append(("check_smtp -S", [CHECK_SMTP, "-H", "127.0.0.1", "-p", port, "-S"]))
            results = {name: median_of(argv, runs) for name, argv in tools}
        finally:
            server.stop()
    base = results["smtpdoctor check"][0]
    print(f"== healthy loopback server (aiosmtpd + STARTTLS), median of {runs} runs")
    print(f"{'tool':32} {'median s':>9} {'exit':>5} {'vs smtpdoctor':>14}  first line")
    for name, (seconds, code, first) in results.items():
        ratio = seconds / base if base else float("nan")
        print(f"{name:32} {seconds:9.3f} {code:5d} {ratio:13.2f}x  {first}")
    startup = median_of([sys.executable, "-m", "smtpdoctor", "--version"], runs)[0]
    print(
        f"   smtpdoctor's own check time (elapsed_ms, no start-up): median "
        f"{statistics.median(_CHECK_MS):.0f} ms; `smtpdoctor --version` alone takes "
        f"{startup:.3f} s (interpreter and imports)"
    )


@contextmanager
def drop_namespace() -> Iterator[str]:
    """A namespace where DROP_ADDRESS is local and SYNs to DROP_PORTS vanish."""
    name = f"sdbench-{uuid.uuid4().hex[:8]}"
    ports = ", ".join(map(str, DROP_PORTS))
    steps = [
        ["ip", "netns", "add", name],
        ["ip", "-n", name, "link", "set", "lo", "up"],
        ["ip", "-n", name, "addr", "add", f"{DROP_ADDRESS}/24", "dev", "lo"],
        ["ip", "netns", "exec", name, "nft", "add table inet sdbench"],
        ["ip", "netns", "exec", name, "nft",
         "add chain inet sdbench in { type filter hook input priority 0; }"],
        ["ip", "netns", "exec", name, "nft",
         f"add rule inet sdbench in ip daddr {DROP_ADDRESS} tcp dport {{ {ports} }} drop"],
    ]  # fmt: skip
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True, timeout=10)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True, timeout=10)


def dropped(cap: int) -> None:
    """Part 2: every port silently dropped; concurrent probes against a port loop."""
    with drop_namespace() as ns:
        inside = ["ip", "netns", "exec", ns]
        sd_s, sd_code, sd_first = timed(
            [*inside, sys.executable, "-m", "smtpdoctor", "check", DROP_ADDRESS, "--json",
             "--timeout", f"connect={cap}"]
        )  # fmt: skip
        loop_s = 0.0
        if os.path.exists(CHECK_SMTP):
            for port in DROP_PORTS:
                seconds, _, _ = timed(
                    [*inside, CHECK_SMTP, "-H", DROP_ADDRESS, "-p", str(port), "-t", str(cap)]
                )
                loop_s += seconds
    print(f"\n== {DROP_ADDRESS}, ports {DROP_PORTS} silently dropped, connect cap {cap} s")
    print(f"smtpdoctor check (3 ports at once)    {sd_s:6.2f} s  exit {sd_code}  ({sd_first})")
    print(f"sum of caps over the ports            {cap * len(DROP_PORTS):6.2f} s")
    if loop_s:
        print(
            f"check_smtp -t {cap}, one port after another {loop_s:6.2f} s  "
            f"({loop_s / sd_s:.2f}x smtpdoctor)"
        )


def main() -> int:
    """Run both parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per tool (median)")
    parser.add_argument("--cap", type=int, default=3, help="connect cap for the drop test")
    args = parser.parse_args()
    healthy(args.runs)
    if os.geteuid() == 0 and shutil.which("ip") and shutil.which("nft"):
        dropped(args.cap)
    else:
        print("\n(not root: the silently-dropped-ports part needs network namespaces)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
