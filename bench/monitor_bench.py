"""Benchmark `smtpdoctor monitor` and `check --nagios`; prints figures.

1. fleet: N loopback targets (80 % healthy badsmtp servers, 10 % that never greet, 10 %
   closed ports) probed once a minute: CPU of the monitor process (share of one core)
   and its resident memory over time (flat is the goal).
2. probe: `/probe` requests per second and CPU per probe, smtpdoctor against Debian's
   prometheus-blackbox-exporter (a tcp module doing what smtp_starttls-like modules do:
   banner, EHLO, MAIL, RCPT, QUIT) on the same healthy server, same client concurrency.
3. nagios: `check --nagios` as Nagios runs it (a new process per check) against
   check_smtp on the same healthy server: CPU seconds and peak RSS per run.

Run from the repository root: `python3 bench/monitor_bench.py [--only fleet,probe,nagios]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.badsmtp import BadConfig, BadSMTP  # noqa: E402 (after the path fix)

CHECK_SMTP = "/usr/lib/nagios/plugins/check_smtp"
GNU_TIME = "/usr/bin/time"  # Debian package time
BLACKBOX = shutil.which("prometheus-blackbox-exporter")
TICKS = os.sysconf("SC_CLK_TCK")
BLACKBOX_CONFIG = """\
modules:
  smtp:
    prober: tcp
    timeout: 10s
    tcp:
      query_response:
        - expect: "^220"
        - send: "EHLO bench.example\\r"
        - expect: "^250 "
        - send: "MAIL FROM:<>\\r"
        - expect: "^250"
        - send: "RCPT TO:<postmaster@example.org>\\r"
        - expect: "^250"
        - send: "QUIT\\r"
"""


# -- helpers -------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"bench: {url} did not come up")


@contextmanager
def process(argv: list[str], **kw: object) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw
    )  # type: ignore[call-overload]
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def servers(healthy: int, stalled: int) -> Iterator[tuple[list[int], list[int]]]:
    """badsmtp servers on loopback in a child process: (healthy ports, stalled ports)."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(healthy), str(stalled)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ports = json.loads(proc.stdout.readline())
        yield ports["healthy"], ports["stalled"]
    finally:
        proc.terminate()
        proc.wait(20)


async def _serve(healthy: int, stalled: int) -> None:
    started: dict[str, list[int]] = {"healthy": [], "stalled": []}
    for kind, count, mode in (("healthy", healthy, "normal"), ("stalled", stalled, "no-greeting")):
        for _ in range(count):
            server = BadSMTP(BadConfig(mode=mode))
            await server.start()
            started[kind].append(server.port)
    print(json.dumps(started), flush=True)
    await asyncio.Event().wait()


def monitor_argv(config: Path, port: int, tmp: Path) -> list[str]:
    return [sys.executable, "-m", "smtpdoctor", "monitor", "--config", str(config),
            "--listen", f"127.0.0.1:{port}", "--history", str(tmp / "history.sqlite3")]  # fmt: skip


# -- 1. fleet -------------------------------------------------------------------------


def bench_fleet(targets: int, duration: float, tmp: Path) -> None:
    healthy = targets * 8 // 10
    stalled = targets // 10
    closed = targets - healthy - stalled
    with servers(healthy, stalled) as (good_ports, stall_ports):
        closed_ports = [free_port() for _ in range(closed)]
        lines = [
            'interval = "60s"', "concurrency = 64", 'mail_log = "off"', "queue = false",
            "[modules.default]", 'starttls = "never"', "timeouts = { greeting = 10 }",
        ]  # fmt: skip
        for kind, ports in (("ok", good_ports), ("stall", stall_ports), ("closed", closed_ports)):
            for port in ports:
                lines += ["[[targets]]", f'target = "127.0.0.1:{port}"', f'name = "{kind}-{port}"']
        config = tmp / "fleet.toml"
        config.write_text("\n".join(lines) + "\n")
        port = free_port()
        with process(monitor_argv(config, port, tmp)) as proc:
            wait_http(f"http://127.0.0.1:{port}/-/healthy")
            start_cpu, start = cpu_seconds(proc.pid), time.monotonic()
            rss: list[tuple[float, float]] = []
            while time.monotonic() - start < duration:
                time.sleep(10)
                rss.append((time.monotonic() - start, rss_mib(proc.pid)))
            cpu = cpu_seconds(proc.pid) - start_cpu
            elapsed = time.monotonic() - start
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                body = r.read().decode()
    probes = sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("smtpdoctor_probes_total{")
    )
    seen = body.count("smtpdoctor_target_up{")
    lag = next(
        line for line in body.splitlines() if line.startswith("smtpdoctor_monitor_schedule_lag")
    )
    print(f"fleet: {targets} targets ({healthy} healthy, {stalled} never greet, {closed} closed), "
          f"interval 60 s, {elapsed:.0f} s")  # fmt: skip
    print(f"  probes run: {probes:.0f} ({probes / elapsed * 60:.0f}/min); targets reported: {seen}")
    print(f"  CPU: {cpu:.1f} s in {elapsed:.0f} s = {cpu / elapsed * 100:.1f} % of one core")
    print("  RSS MiB over time: " + ", ".join(f"{t:.0f}s {m:.0f}" for t, m in rss))
    print(f"  {lag}")


# -- 2. /probe ------------------------------------------------------------------------


def hammer(url: str, seconds: float, workers: int) -> int:
    """GET url from `workers` threads for `seconds`; returns successful probes."""
    done = [0] * workers
    stop = time.monotonic() + seconds

    def work(i: int) -> None:
        request = urllib.request.Request(url, headers={"X-Prometheus-Scrape-Timeout-Seconds": "10"})
        while time.monotonic() < stop:
            with urllib.request.urlopen(request, timeout=15) as r:
                if b"probe_success 1" in r.read():
                    done[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done)


def bench_probe(seconds: float, workers: int, tmp: Path) -> None:
    if BLACKBOX is None:
        print("probe: prometheus-blackbox-exporter not installed, skipped")
        return
    with servers(1, 0) as (good_ports, _):
        target = f"127.0.0.1:{good_ports[0]}"
        config = tmp / "probe.toml"
        config.write_text('mail_log = "off"\nqueue = false\n[modules.smtp]\nstarttls = "never"\n')
        (tmp / "blackbox.yml").write_text(BLACKBOX_CONFIG)
        results = {}
        sd_port, bb_port = free_port(), free_port()
        blackbox = [
            BLACKBOX,
            f"--config.file={tmp / 'blackbox.yml'}",
            f"--web.listen-address=127.0.0.1:{bb_port}",
        ]
        with process(monitor_argv(config, sd_port, tmp)) as sd, process(blackbox) as bb:
            for name, proc, port in (
                ("smtpdoctor", sd, sd_port),
                ("blackbox_exporter", bb, bb_port),
            ):
                wait_http(f"http://127.0.0.1:{port}/metrics")
                url = f"http://127.0.0.1:{port}/probe?target={target}&module=smtp"
                hammer(url, 1.0, 1)  # warm up
                before = cpu_seconds(proc.pid)
                count = hammer(url, seconds, workers)
                cpu = cpu_seconds(proc.pid) - before
                results[name] = (count / seconds, cpu / max(count, 1) * 1000)
    print(
        f"probe: /probe on one healthy loopback server, {workers} concurrent clients, "
        f"{seconds:.0f} s each"
    )
    for name, (rps, cpu_ms) in results.items():
        print(f"  {name:<18} {rps:7.1f} probes/s   {cpu_ms:6.2f} ms CPU per probe")
    sd_rps, sd_cpu = results["smtpdoctor"]
    bb_rps, bb_cpu = results["blackbox_exporter"]
    print(
        f"  ratio smtpdoctor/blackbox: {sd_rps / bb_rps:.2f}x the rate, "
        f"{sd_cpu / bb_cpu:.1f}x the CPU per probe"
    )


# -- 3. nagios ------------------------------------------------------------------------


def run_measured(argv: list[str]) -> tuple[float, float, int]:
    """(CPU seconds, peak RSS MiB, exit code) of one run, measured by GNU time: the
    rusage of a child forked from this (large) process would count the parent's pages."""
    done = subprocess.run(
        [GNU_TIME, "-f", "%U %S %M", *argv],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    user, system, kib = done.stderr.strip().splitlines()[-1].split()
    return float(user) + float(system), int(kib) / 1024, done.returncode


def bench_nagios(runs: int) -> None:
    with servers(1, 0) as (good_ports, _):
        port = good_ports[0]
        smtpdoctor = [sys.executable, "-m", "smtpdoctor", "check", f"127.0.0.1:{port}", "--nagios",
                      "--starttls", "never", "-w", "rcpt=5", "-c", "rcpt=20"]  # fmt: skip
        tools = {"smtpdoctor check --nagios": smtpdoctor}
        if os.path.exists(CHECK_SMTP):
            tools["check_smtp"] = [
                CHECK_SMTP,
                "-H",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                "5",
                "-c",
                "20",
            ]
        results = {}
        for name, argv in tools.items():
            samples = [run_measured(argv) for _ in range(runs)]
            codes = {c for _, _, c in samples}
            results[name] = (
                statistics.median(c for c, _, _ in samples),
                statistics.median(r for _, r, _ in samples),
                codes,
            )
    print(f"nagios: one healthy loopback server, a new process per check, median of {runs}")
    for name, (cpu, rss, codes) in results.items():
        print(
            f"  {name:<26} {cpu * 1000:6.0f} ms CPU   {rss:5.1f} MiB peak RSS   "
            f"exit {sorted(codes)}"
        )
    if "check_smtp" in results:
        # GNU time counts in 10 ms ticks: check_smtp often rounds to 0
        floor = max(results["check_smtp"][0], 0.01)
        ratio = results["smtpdoctor check --nagios"][0] / floor
        print(f"  ratio smtpdoctor/check_smtp CPU: at least {ratio:.0f}x (check_smtp <= 10 ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="fleet,probe,nagios")
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=150.0)
    parser.add_argument("--probe-seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--serve", nargs=2, type=int, metavar=("HEALTHY", "STALLED"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(*args.serve))
        return 0
    wanted = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
        if "nagios" in wanted:
            bench_nagios(args.runs)
        if "probe" in wanted:
            bench_probe(args.probe_seconds, args.workers, Path(tmp))
        if "fleet" in wanted:
            bench_fleet(args.targets, args.duration, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
