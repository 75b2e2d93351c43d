"""Benchmark: `smtpdoctor logs` against pflogsumm on the same logs, a busy relay and a
server in trouble (failure-heavy).

Builds a realistic Postfix log (a busy relay: inbound smtpd sessions, cleanup, qmgr,
outbound smtp deliveries, ~4% deferrals with every kind of timeout, bounces, TLS
lines, anvil statistics), runs both tools on it in the same run and prints wall time,
lines per second, peak memory (ru_maxrss of each child) and the ratios.

The failure-heavy log replays real deferral and bounce reasons (the Postfix lines of
tests/data/logs and the real-reply table tests/data/replies.tsv) with fresh queue IDs,
hosts and times: at least half of its lines are deferrals. Each figure is the median
of --rounds paired rounds (smtpdoctor, then pflogsumm, on the same file).

    python bench/logs_bench.py                       # 1,000,000 lines, both logs
    python bench/logs_bench.py --lines 200000 --rounds 1   # quick
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PFLOGSUMM = "/usr/sbin/pflogsumm"
# What a mail admin runs to see the problems: pflogsumm's problem reports first, with
# the per-message detail.
PFLOGSUMM_ARGS = ("--problems-first", "--verbose-msg-detail")
REPO = Path(__file__).resolve().parents[1]

_DEFERS = (
    "connect to {mx}[{ip}]:25: Connection timed out",
    "connect to {mx}[{ip}]:25: Connection refused",
    "conversation with {mx}[{ip}] timed out while receiving the initial server greeting",
    "conversation with {mx}[{ip}] timed out while sending RCPT TO",
    "conversation with {mx}[{ip}] timed out while sending end of data -- message may be "
    "sent more than once",
    "lost connection with {mx}[{ip}] while sending MAIL FROM",
    "host {mx}[{ip}] said: 450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, "
    "see http://postgrey.schweikert.ch/help/{dom}.html (in reply to RCPT TO command)",
    "Host or domain name not found. Name service error for name={dom} type=MX: Host not "
    "found, try again",
    "Cannot start TLS: handshake failure",
)


def generate(path: Path, lines: int, seed: int = 4) -> int:
    """Write about `lines` lines; returns the exact count."""
    rnd = random.Random(seed)
    domains = [f"d{i}.example" for i in range(400)] + ["gmail.example", "outlook.example"]
    written = 0
    qn = 0x100000
    sec = 0
    with path.open("w") as out:
        while written < lines:
            sec += rnd.randint(0, 1)
            h, m, s = (sec // 3600) % 24, (sec // 60) % 60, sec % 60
            day = 1 + (sec // 86400) % 28
            ts = f"Nov {day:2d} {h:02d}:{m:02d}:{s:02d} relay"
            qn += 1
            qid = f"{qn:X}"
            dom = rnd.choice(domains)
            mx = f"mx{rnd.randint(1, 3)}.{dom}"
            ip = f"198.51.100.{rnd.randint(1, 254)}"
            cip = f"203.0.113.{rnd.randint(1, 254)}"
            pid = rnd.randint(1000, 60000)
            rcpt = f"user{rnd.randint(1, 9999)}@{dom}"
            block = [
                f"{ts} postfix/smtpd[{pid}]: connect from client{cip[-3:]}.example.net[{cip}]",
                f"{ts} postfix/smtpd[{pid}]: Anonymous TLS connection established from "
                f"client.example.net[{cip}]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384",
                f"{ts} postfix/smtpd[{pid}]: {qid}: client=client.example.net[{cip}]",
                f"{ts} postfix/cleanup[{pid + 1}]: {qid}: message-id=<{qid}.{sec}@example.net>",
                f"{ts} postfix/qmgr[99]: {qid}: from=<sender{rnd.randint(1, 500)}@example.net>,"
                f" size={rnd.randint(800, 90000)}, nrcpt=1 (queue active)",
                f"{ts} postfix/smtpd[{pid}]: disconnect from client.example.net[{cip}] ehlo=2 "
                "starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
            ]
            r = rnd.random()
            delays = f"{rnd.random():.2f}/{rnd.random():.2f}/{rnd.random():.2f}/{rnd.random():.1f}"
            if r < 0.04:
                reason = rnd.choice(_DEFERS).format(mx=mx, ip=ip, rcpt=rcpt, dom=dom)
                relay = "none" if reason.startswith(("connect", "Host")) else f"{mx}[{ip}]:25"
                if reason.startswith("connect"):
                    block.append(f"{ts} postfix/smtp[{pid + 2}]: {reason}")
                block.append(
                    f"{ts} postfix/smtp[{pid + 2}]: {qid}: to=<{rcpt}>, relay={relay}, "
                    f"delay={rnd.randint(30, 9000)}, delays={delays}, dsn=4.4.1, "
                    f"status=deferred ({reason})"
                )
            elif r < 0.05:
                block.append(
                    f"{ts} postfix/smtp[{pid + 2}]: {qid}: to=<{rcpt}>, relay={mx}[{ip}]:25, "
                    f"delay=1.2, delays={delays}, dsn=5.1.1, status=bounced (host {mx}[{ip}] "
                    f"said: 550 5.1.1 <{rcpt}>: User unknown (in reply to RCPT TO command))"
                )
                block.append(f"{ts} postfix/qmgr[99]: {qid}: removed")
            else:
                block.append(
                    f"{ts} postfix/smtp[{pid + 2}]: Trusted TLS connection established to "
                    f"{mx}[{ip}]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384"
                )
                block.append(
                    f"{ts} postfix/smtp[{pid + 2}]: {qid}: to=<{rcpt}>, relay={mx}[{ip}]:25, "
                    f"delay={rnd.random() * 3:.1f}, delays={delays}, dsn=2.0.0, status=sent "
                    f"(250 2.0.0 Ok: queued as {qn * 7:X})"
                )
                block.append(f"{ts} postfix/qmgr[99]: {qid}: removed")
            if rnd.random() < 0.01:
                block.append(
                    f"{ts} postfix/smtpd[{pid}]: timeout after DATA (0 bytes) from "
                    f"client.example.net[{cip}]"
                )
            if rnd.random() < 0.002:
                block.append(
                    f"{ts} postfix/anvil[77]: statistics: max connection rate 5/60s for "
                    f"(smtp:{cip}) at Nov {day:2d} {h:02d}:{m:02d}:{s:02d}"
                )
            out.write("\n".join(block) + "\n")
            written += len(block)
    return written


DATA = REPO / "tests" / "data"
_HOSTPORT = re.compile(r"[A-Za-z0-9.-]+\[[0-9A-Fa-f.:]+\](?::\d+)?")


def _real_reasons() -> list[str]:
    """Deferral and bounce reasons as real servers and Postfix wrote them: the Postfix
    failure lines of the third-party corpus (tests/data/logs, labels.tsv) and the
    real-reply table (tests/data/replies.tsv) as Postfix quotes a reply."""
    lines = (DATA / "logs" / "postfix-grok-patterns.log").read_text().splitlines()
    reasons: list[str] = []
    for row in (DATA / "labels.tsv").read_text().splitlines():
        parts = row.split("\t")
        if row.startswith("#") or parts[0] != "postfix-grok-patterns.log" or parts[2] == "-":
            continue
        line = lines[int(parts[1]) - 1]
        msg = line.split("]: ", 1)[1]
        if "status=" in msg:
            msg = msg.split(" (", 1)[1].rsplit(")", 1)[0] if " (" in msg else ""
        elif ": " in msg[:16]:
            msg = msg.split(": ", 1)[1]
        if msg and "timeout after" not in msg:
            reasons.append(msg)
    commands = {"ehlo": "EHLO", "mail": "MAIL FROM", "rcpt": "RCPT TO", "data": "DATA",
                "eod": "end of DATA"}  # fmt: skip
    for row in (DATA / "replies.tsv").read_text().splitlines():
        if row.startswith("#"):
            continue
        code, enhanced, text, phase, expected, _ = row.split("\t")
        if expected == "ok":
            continue
        reply = " ".join(p for p in (code, enhanced, text) if p)
        if phase == "greeting":
            reasons.append(f"host mx.example.com[192.0.2.1] refused to talk to me: {reply}")
        else:
            reasons.append(
                f"host mx.example.com[192.0.2.1] said: {reply} (in reply to "
                f"{commands[phase]} command)"
            )
    return reasons


def generate_failures(path: Path, lines: int, seed: int = 9) -> int:
    """A log of a server in trouble: most lines are deferrals of many kinds (real
    reasons, replayed with fresh queue IDs, hosts and times); returns the line count."""
    rnd = random.Random(seed)
    reasons = _real_reasons()
    temporary = [r for r in reasons if not re.search(r"(?:said|me): 5", r)]
    permanent = [r for r in reasons if r not in temporary]
    domains = [f"d{i}.example" for i in range(600)]
    written = 0
    qn = 0x200000
    sec = 0
    with path.open("w") as out:
        while written < lines:
            sec += rnd.randint(0, 2)
            qn += 1
            qid = f"{qn:X}"
            dom = rnd.choice(domains)
            rcpt = f"user{rnd.randint(1, 9999)}@{dom}"
            cip = f"203.0.113.{rnd.randint(1, 254)}"
            pid = rnd.randint(1000, 60000)

            def stamp(t: int) -> str:
                day = 1 + (t // 86400) % 28
                return f"Nov {day:2d} {(t // 3600) % 24:02d}:{(t // 60) % 60:02d}:{t % 60:02d} mx"

            block = [
                f"{stamp(sec)} postfix/smtpd[{pid}]: {qid}: client=c.example.net[{cip}]",
                f"{stamp(sec)} postfix/cleanup[{pid + 1}]: {qid}: message-id=<{qid}@example.net>",
                f"{stamp(sec)} postfix/qmgr[99]: {qid}: from=<s@example.net>, size=4242, "
                "nrcpt=1 (queue active)",
            ]
            attempts = rnd.randint(4, 10) if rnd.random() < 0.8 else 0
            t = sec
            for a in range(attempts):
                t += 300 * (2**a)
                mx = f"mx{rnd.randint(1, 3)}.{dom}"
                host = f"{mx}[198.51.100.{rnd.randint(1, 254)}]"
                reason = _HOSTPORT.sub(host + ":25", rnd.choice(temporary), count=1)
                if not reason.startswith("connect to"):
                    reason = reason.replace(":25", "", 1)
                relay = "none" if reason.startswith(("connect", "Host", "delivery")) else host
                block.append(
                    f"{stamp(t)} postfix/smtp[{pid + 2 + a}]: {qid}: to=<{rcpt}>, "
                    f"relay={relay}{'' if relay == 'none' else ':25'}, delay={t - sec}, "
                    f"delays={t - sec - 1}/0.01/0.5/0, dsn=4.0.0, status=deferred ({reason})"
                )
            mx = f"mx1.{dom}[198.51.100.{rnd.randint(1, 254)}]"
            if rnd.random() < 0.15:
                reason = _HOSTPORT.sub(mx, rnd.choice(permanent), count=1)
                block.append(
                    f"{stamp(t + 60)} postfix/smtp[{pid + 20}]: {qid}: to=<{rcpt}>, relay={mx}:25, "
                    f"delay={t + 60 - sec}, delays=1/0/0.5/0.1, dsn=5.0.0, "
                    f"status=bounced ({reason})"
                )
            else:
                block.append(
                    f"{stamp(t + 60)} postfix/smtp[{pid + 20}]: {qid}: to=<{rcpt}>, relay={mx}:25, "
                    f"delay={t + 60 - sec}, delays=1/0/0.5/0.1, dsn=2.0.0, status=sent (250 2.0.0 "
                    f"Ok: queued as {qn * 7:X})"
                )
            block.append(f"{stamp(t + 60)} postfix/qmgr[99]: {qid}: removed")
            out.write("\n".join(block) + "\n")
            written += len(block)
    return written


def measure(argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS in MiB and CPU seconds (user+sys) of one child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def _row(n: int, tool: str, m: tuple[float, float, float]) -> None:
    wall, rss, cpu = m
    print(f"{n:>10,} {tool:<24} {wall:>8.2f} {cpu:>7.2f} {n / wall:>11,.0f} {rss:>9.1f}")


def _paired(log: Path, n: int, name: str, rounds: int, have_pflogsumm: bool) -> None:
    """Median of `rounds` paired runs (ours, then pflogsumm, on the same file)."""
    ours_runs, theirs_runs = [], []
    for _ in range(rounds):
        argv = [sys.executable, "-m", "smtpdoctor", "logs", str(log), "--json", "--no-rotated"]
        ours_runs.append(measure(argv))
        if have_pflogsumm:
            theirs_runs.append(measure(["perl", PFLOGSUMM, *PFLOGSUMM_ARGS, str(log)]))
    ours = _median(ours_runs)
    _row(n, f"smtpdoctor {name}", ours)
    if not have_pflogsumm:
        print(f"{'':>10} pflogsumm not installed ({PFLOGSUMM}): no comparison")
        return
    theirs = _median(theirs_runs)
    _row(n, f"pflogsumm {name}", theirs)
    print(
        f"{'':>10} {name}: smtpdoctor is {theirs[0] / ours[0]:.2f}x pflogsumm's speed (wall, "
        f"median of {rounds} paired rounds), {theirs[2] / ours[2]:.2f}x (CPU); "
        f"{ours[1] / theirs[1]:.2f}x its peak memory"
    )


def _median(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return (
        statistics.median(r[0] for r in runs),
        max(r[1] for r in runs),
        statistics.median(r[2] for r in runs),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lines",
        default="1000000",
        help="comma-separated log sizes (default 1000000; quick: 200000)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds (median)")
    parser.add_argument(
        "--kind",
        default="busy,failures",
        help="which logs: busy (a busy relay, ~4%% deferrals), failures (most lines deferrals)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated logs")
    args = parser.parse_args()
    sizes = [int(x) for x in args.lines.split(",")]
    kinds = args.kind.split(",")
    have_pflogsumm = os.access(PFLOGSUMM, os.X_OK) and shutil.which("perl") is not None
    workdir = Path(tempfile.mkdtemp(prefix="logs-bench-"))
    print(f"{'lines':>10} {'tool':<24} {'wall s':>8} {'cpu s':>7} {'lines/s':>11} {'peak MiB':>9}")
    try:
        for size in sizes:
            for kind in kinds:
                log = workdir / f"mail-{kind}-{size}.log"
                make = generate if kind == "busy" else generate_failures
                n = make(log, size)
                _paired(log, n, kind, args.rounds, have_pflogsumm)
                if not args.keep:
                    log.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
