"""Benchmark: `smtpdoctor queue` against qshape and `postqueue -p` on one real Postfix queue.

Starts a private Postfix instance (tests/support/postfix.py) whose relay host is a refused
loopback port, submits N messages over SMTP (one connection, many transactions) to a mix
of destination domains, waits until all N sit in the deferred queue, then times each tool
on that same queue several times: wall time (best of runs) and peak memory (ru_maxrss of
the tool's process tree as /usr/bin/time reports it).

Caveat printed with the figures: `postqueue -p` and `postqueue -j` have the showq daemon
read the queue; its memory is not in postqueue's figure (smtpdoctor's includes postqueue,
not showq). qshape (Perl) reads the queue files itself.

Run as root (Postfix instance):
    python bench/queue_bench.py                 # 10,000 messages
    python bench/queue_bench.py --messages 1000 # quick
"""

from __future__ import annotations

import argparse
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.postfix import PostfixInstance, postfix_instance  # noqa: E402

DOMAINS = [f"dest{i}.example" for i in range(40)] + ["example.com", "example.net"]


def fill_queue(pf: PostfixInstance, count: int) -> float:
    """Submit count messages over SMTP; returns seconds until all are deferred."""
    start = time.monotonic()
    sent = 0
    while sent < count:
        with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=60) as smtp:
            for _ in range(min(500, count - sent)):
                rcpt = f"user{sent}@{DOMAINS[sent % len(DOMAINS)]}"
                body = f"Subject: bench {sent}\r\n\r\n" + "x" * (200 + sent % 2000) + "\r\n"
                smtp.sendmail("app@example.org", [rcpt], body)
                sent += 1
    deferred = pf.queue_dir / "deferred"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        n = sum(1 for p in deferred.rglob("*") if p.is_file())
        if n >= count:
            return time.monotonic() - start
        time.sleep(0.5)
    raise SystemExit(f"only {n} of {count} messages reached the deferred queue")


def measure(argv: list[str], runs: int) -> tuple[float, int, int]:
    """Best wall time (s), peak RSS (KiB) and output bytes over runs."""
    best, peak, size = float("inf"), 0, 0
    for _ in range(runs):
        start = time.monotonic()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", *argv],
            capture_output=True,
            check=False,
            cwd=REPO,
            timeout=600,
        )
        elapsed = time.monotonic() - start
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()[-300:]}")
        best = min(best, elapsed)
        peak = max(peak, int(proc.stderr.decode().strip().splitlines()[-1]))
        size = len(proc.stdout)
    return best, peak, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp,
        postfix_instance(
            Path(tmp),
            {
                "relayhost": "[127.0.0.1]:9",
                "queue_run_delay": "1h",
                "minimal_backoff_time": "1h",
                "maximal_backoff_time": "2h",
                "default_destination_rate_delay": "0",
            },
        ) as pf,
    ):
        print(f"filling a real Postfix queue with {args.messages} messages ...", file=sys.stderr)
        fill_s = fill_queue(pf, args.messages)
        conf = str(pf.config_dir)
        tools = {
            "smtpdoctor queue": [
                sys.executable,
                "-m",
                "smtpdoctor",
                "queue",
                "--postfix-config",
                conf,
            ],
            "smtpdoctor queue --json": [
                sys.executable,
                "-m",
                "smtpdoctor",
                "queue",
                "--json",
                "--postfix-config",
                conf,
            ],
            "qshape deferred": ["/usr/sbin/qshape", "-c", conf, "deferred"],
            "qshape -s deferred": ["/usr/sbin/qshape", "-c", conf, "-s", "deferred"],
            "postqueue -p": ["/usr/sbin/postqueue", "-c", conf, "-p"],
            "postqueue -j": ["/usr/sbin/postqueue", "-c", conf, "-j"],
        }
        results = {name: measure(argv, args.runs) for name, argv in tools.items()}
    base_t, base_m, _ = results["smtpdoctor queue"]
    print(
        f"Postfix queue: {args.messages} deferred messages to {len(DOMAINS)} domains "
        f"(filled in {fill_s:.1f}s); best of {args.runs} runs"
    )
    print(
        f"{'tool':<26} {'wall s':>8} {'peak MiB':>9} {'output':>9}  "
        "smtpdoctor time ratio   memory ratio"
    )
    for name, (wall, rss, size) in results.items():
        print(
            f"{name:<26} {wall:>8.3f} {rss / 1024:>9.1f} {size:>9}  "
            f"{base_t / wall:>10.2f}x {base_m / rss:>14.2f}x"
        )
    print(
        "ratio = smtpdoctor queue / tool (above 1: smtpdoctor slower or bigger). "
        "postqueue's memory excludes the showq daemon that reads the queue for it."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
