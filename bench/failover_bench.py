"""Postfix alone vs Postfix steered by `smtpdoctor failover`, when the primary relay dies.

For each fault, two labs run side by side in the same run (tests/support/failover_lab:
one network namespace each, a real Postfix from Debian, two recording relays on
documentation addresses that note each message's recipient and arrival time):

- "postfix": `relayhost = [primary]:25, [backup]:25`, Postfix's own passive failover;
- "failover": the same Postfix, plus `smtpdoctor failover` steering relayhost.

Postfix keeps its default timeouts and retry times (smtp_connect_timeout 30 s,
smtp_starttls_timeout 300 s, smtp_data_done_timeout 600 s, queue_run_delay and
minimal_backoff_time 300 s) in both labs; smtpdoctor's own knobs: probe every 1 s,
2 faults open a breaker, 30 s hold, stall watch 30 s (its default is 60 s). TLS is on
(`smtp_tls_security_level = may`, the relays offer STARTTLS). `smtp-source` injects
one message every 1/RATE s with a unique recipient (the message's id); FAULT_AT s in,
the primary starts misbehaving:

- drop: nftables silently drops every packet to it;
- tls: it answers STARTTLS and then never does the handshake;
- eod: it takes the message and never answers the final dot.

Figures, for mail sent after the fault: delivery delay p50/p90/p99/max (first
acknowledged arrival at a relay minus injection time), messages delivered in the first
minute after the fault, delivered by the end of the run, still queued (Postfix still
holds them: not lost), lost (neither delivered nor queued: must be 0), duplicates
(recipients a relay saw twice) and ambiguous (end of data never answered).

Run as root from the repository root: `python3 bench/failover_bench.py` (about 7
minutes with the defaults: 600 messages at 10/s per fault, 60 s drain).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.failover_lab import FailoverLab, failover_lab  # noqa: E402

POSTFIX_DEFAULTS = {
    "smtp_connect_timeout": "30s",
    "queue_run_delay": "300s",
    "minimal_backoff_time": "300s",
    "maximal_backoff_time": "4000s",
}
FAULTS = ("drop", "tls", "eod")
CONNECT_TIMEOUT_S = 30.0


@dataclass
class Column:
    """One lab's run and its figures."""

    name: str
    sent: dict[str, float] = field(default_factory=dict)  # recipient -> injection time
    fault_at: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _failover_config(lab: FailoverLab) -> Path:
    # the lab's config (probe knobs, relays) with production-like breaker settings;
    # jitter 0.2 is the default, named because the lab's own default is 0.1
    return lab.config(failures_to_open=2, successes_to_close=3, backoff=10, backoff_max=60,
                      jitter=0.2, hold=30, stall=30)  # fmt: skip


def _inject(lab: FailoverLab, column: Column, count: int, rate: float, fault: str,
            fault_after: float) -> None:  # fmt: skip
    port = lab.postfix.smtp_port
    procs: list[subprocess.Popen[bytes]] = []
    start = time.time()
    faulted = False
    for i in range(count):
        due = start + i / rate
        if not faulted and time.time() >= start + fault_after:
            _apply_fault(lab, fault)
            column.fault_at = time.time()
            faulted = True
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        rcpt = f"m{i:05d}@dest.test"
        argv = lab.ns(
            "smtp-source", "-m", "1", "-f", "bench@lab.test", "-t", rcpt,
            "-M", "client.lab.test", f"127.0.0.1:{port}",
        )  # fmt: skip
        column.sent[rcpt] = time.time()
        procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        procs = [p for p in procs if p.poll() is None]
    if not faulted:
        _apply_fault(lab, fault)
        column.fault_at = time.time()
    for proc in procs:
        proc.wait(60)


def _apply_fault(lab: FailoverLab, fault: str) -> None:
    if fault == "drop":
        lab.drop("primary")
    else:
        lab.fault("primary", fault)


def _queued(lab: FailoverLab) -> set[str]:
    return {r["address"].lower() for m in lab.postfix.queue_json() for r in m.get("recipients", [])}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _figures(lab: FailoverLab, column: Column, run_end: float) -> dict[str, Any]:
    records = lab.records("primary") + lab.records("backup")
    first_ack: dict[str, float] = {}
    seen: dict[str, int] = {}
    ambiguous = 0
    for record in records:
        for rcpt in record["rcpts"]:
            seen[rcpt] = seen.get(rcpt, 0) + 1
            if record["acked"]:
                first_ack[rcpt] = min(first_ack.get(rcpt, 1e18), record["t"])
        if not record["acked"]:
            ambiguous += 1
    queued = _queued(lab)
    after = {r: t for r, t in column.sent.items() if t >= column.fault_at}
    delays = [first_ack[r] - t for r, t in after.items() if r in first_ack]
    in_first_minute = sum(
        1 for t in first_ack.values() if column.fault_at <= t < column.fault_at + 60
    )
    lost = [r for r in column.sent if r not in first_ack and r not in queued]
    not_delivered_after = [r for r in after if r not in first_ack]
    return {
        "sent": len(column.sent),
        "sent_after_fault": len(after),
        "delivered_after_fault": len(delays),
        "p50_s": round(_percentile(delays, 0.5), 2),
        "p90_s": round(_percentile(delays, 0.9), 2),
        "p99_s": round(_percentile(delays, 0.99), 2),
        "max_s": round(max(delays), 2) if delays else float("nan"),
        "over_connect_timeout_plus_10s": sum(1 for d in delays if d > CONNECT_TIMEOUT_S + 10)
        + len(not_delivered_after),
        "delivered_first_minute": in_first_minute,
        "still_queued": len([r for r in column.sent if r not in first_ack and r in queued]),
        "lost": len(lost),
        "duplicates": sum(1 for n in seen.values() if n > 1),
        "ambiguous": ambiguous,
        "run_s": round(run_end - column.fault_at, 1),
    }


def _run_column(base: Path, name: str, fault: str, args: argparse.Namespace,
                column: Column, barrier: threading.Barrier) -> None:  # fmt: skip
    try:
        with failover_lab(base / name, main_cf=POSTFIX_DEFAULTS, tls=True) as lab:
            if name == "failover":
                _, log = lab.start_daemon(_failover_config(lab))
                column.figures["daemon_log"] = str(log)
                deadline = time.monotonic() + 30
                while "relay=backup outcome=success" not in log.read_text(errors="replace"):
                    if time.monotonic() > deadline:
                        raise RuntimeError("failover daemon did not start probing")
                    time.sleep(0.2)
            barrier.wait(120)
            _inject(lab, column, args.messages, args.rate, fault, args.fault_at)
            drain_end = time.time() + args.drain
            while time.time() < drain_end:
                delivered = {
                    rc for r in lab.records("primary") + lab.records("backup")
                    if r["acked"] for rc in r["rcpts"]
                }  # fmt: skip
                if set(column.sent) <= delivered:
                    break
                time.sleep(1)
            column.figures.update(_figures(lab, column, time.time()))
            if args.keep_logs:
                keep = Path(args.keep_logs)
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(lab.postfix.log_path, keep / f"{fault}-{name}-maillog")
                if name == "failover":
                    shutil.copy(column.figures["daemon_log"], keep / f"{fault}-daemon.log")
            if name == "failover":
                text = Path(column.figures["daemon_log"]).read_text(errors="replace")
                switch = [ln for ln in text.splitlines() if "switch: postfix relayhost" in ln]
                column.figures["switched"] = bool(switch)
                column.figures["switch_line"] = switch[0][:19] if switch else None
    except Exception as exc:
        column.error = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.abort()


ROWS = (
    ("sent after fault", "sent_after_fault"),
    ("delay p50 (s)", "p50_s"),
    ("delay p90 (s)", "p90_s"),
    ("delay p99 (s)", "p99_s"),
    ("delay max (s)", "max_s"),
    ("delivered in 1st minute", "delivered_first_minute"),
    ("delivered (after fault)", "delivered_after_fault"),
    ("still queued at end", "still_queued"),
    ("lost", "lost"),
    ("duplicates", "duplicates"),
    ("ambiguous end of data", "ambiguous"),
    ("> connect timeout+10 s", "over_connect_timeout_plus_10s"),
)


def _print(fault: str, alone: Column, steered: Column) -> None:
    print(f"\nfault: {fault}")
    if alone.error or steered.error:
        print(f"  error: postfix={alone.error} failover={steered.error}")
        return
    print(f"  {'':<26} {'postfix':>10} {'failover':>10} {'ratio':>8}")
    for label, key in ROWS:
        a, s = alone.figures.get(key), steered.figures.get(key)
        ratio = ""
        if key == "delivered_first_minute" and a:
            ratio = f"{s / a:.1f}x"
        elif key == "p50_s" and s and not math.isnan(s) and not math.isnan(a):
            ratio = f"{a / s:.1f}x"
        print(f"  {label:<26} {a!s:>10} {s!s:>10} {ratio:>8}")
    print(f"  failover switched: {steered.figures.get('switched')}")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--fault-at", type=float, default=10.0)
    parser.add_argument("--drain", type=float, default=60.0)
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep-logs", help="copy the daemon and Postfix logs to this directory")
    args = parser.parse_args()
    print(
        f"failover bench: {args.messages} messages at {args.rate:g}/s per fault, fault "
        f"{args.fault_at:g} s in, drain {args.drain:g} s; Postfix defaults, TLS may"
    )
    results: dict[str, Any] = {}
    for fault in args.faults.split(","):
        with tempfile.TemporaryDirectory(prefix="sdfobench-", dir="/var/tmp") as tmp:
            base = Path(tmp)
            alone, steered = Column("postfix"), Column("failover")
            barrier = threading.Barrier(2)
            threads = [
                threading.Thread(target=_run_column, args=(base, c.name, fault, args, c, barrier))
                for c in (alone, steered)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            _print(fault, alone, steered)
            results[fault] = {
                "postfix": alone.figures | {"error": alone.error},
                "failover": steered.figures | {"error": steered.error},
            }
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
