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

The build users run is measured: with a C compiler `pip install .` compiles the
log-analysis modules with mypyc (setup.py), so unless this interpreter already runs a
compiled build (or --python names one), the bench builds one from this checkout into
a temporary venv first; the header line says which build was measured.

    python bench/logs_bench.py                       # 1,000,000 lines, both logs
    python bench/logs_bench.py --lines 200000 --rounds 1   # quick
    python bench/logs_bench.py --build both          # compiled and pure Python too
    python bench/logs_bench.py --python /opt/smtpdoctor/.venv/bin/python
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
import venv
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Build:
    """An interpreter that runs smtpdoctor, and which build it runs."""

    python: str
    kind: str  # "compiled" or "pure Python"
    cwd: Path  # the repository for this checkout's sources; elsewhere for an install


def build_kind(python: str, cwd: Path) -> str:
    """Which smtpdoctor build python runs from cwd ("compiled" or "pure Python")."""
    return subprocess.run(
        [python, "-c", "from smtpdoctor import build_kind; print(build_kind())"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def install_compiled(workdir: Path) -> Build:
    """`pip install` a copy of this checkout into a fresh venv under workdir (a compiled
    build when a C compiler is there; setup.py falls back to pure Python otherwise)."""
    src = workdir / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.pyc")
    shutil.copytree(REPO / "smtpdoctor", src / "smtpdoctor", ignore=ignore)
    venv.EnvBuilder(with_pip=True).create(workdir / "venv")
    python = str(workdir / "venv" / "bin" / "python")
    print(f"building and installing this checkout into {workdir / 'venv'} ...", file=sys.stderr)
    subprocess.run(
        ["nice", "-n", "19", python, "-m", "pip", "install", "-q", str(src)],
        cwd=workdir,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "SMTPDOCTOR_PURE_PYTHON"},
    )
    return Build(python, build_kind(python, workdir), workdir)


def pick_builds(wanted: str, python: str | None, workdir: Path) -> list[Build]:
    """The builds to measure: --python's, or as --build says."""
    if python:
        return [Build(python, build_kind(python, workdir), workdir)]
    here = Build(sys.executable, build_kind(sys.executable, REPO), REPO)
    if wanted == "pure" and here.kind != "pure Python":
        raise SystemExit("this interpreter runs a compiled build: --python a pure one")
    if wanted == "pure" or (wanted == "auto" and here.kind == "compiled"):
        return [here]
    compiled = here if here.kind == "compiled" else install_compiled(workdir)
    if wanted == "compiled" and compiled.kind != "compiled":
        raise SystemExit("the build fell back to pure Python (no C compiler or mypy?)")
    if wanted == "both" and here.kind == "pure Python":
        return [compiled, here]
    return [compiled]


def measure(argv: list[str], cwd: Path = REPO) -> tuple[float, float, float]:
    """Wall seconds, peak RSS in MiB and CPU seconds (user+sys) of one child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def _row(n: int, tool: str, m: tuple[float, float, float]) -> None:
    wall, rss, cpu = m
    print(f"{n:>10,} {tool:<28} {wall:>8.2f} {cpu:>7.2f} {n / wall:>11,.0f} {rss:>9.1f}")


def _paired(
    log: Path, n: int, name: str, rounds: int, have_pflogsumm: bool, builds: list[Build]
) -> None:
    """Median of `rounds` paired runs (ours, each build, then pflogsumm, on the same file)."""
    ours_runs: list[list[tuple[float, float, float]]] = [[] for _ in builds]
    theirs_runs = []
    for _ in range(rounds):
        for build, runs in zip(builds, ours_runs, strict=True):
            argv = [build.python, "-m", "smtpdoctor", "logs", str(log), "--json", "--no-rotated"]
            runs.append(measure(argv, build.cwd))
        if have_pflogsumm:
            theirs_runs.append(measure(["perl", PFLOGSUMM, *PFLOGSUMM_ARGS, str(log)]))
    tags = {"compiled": "", "pure Python": " (pure)"} if len(builds) > 1 else {}
    ours = [_median(runs) for runs in ours_runs]
    for build, m in zip(builds, ours, strict=True):
        _row(n, f"smtpdoctor {name}{tags.get(build.kind, '')}", m)
    if len(builds) > 1:
        print(
            f"{'':>10} {name}: the compiled build is {ours[1][0] / ours[0][0]:.2f}x the pure "
            f"one's speed (wall), {ours[1][2] / ours[0][2]:.2f}x (CPU)"
        )
    if not have_pflogsumm:
        print(f"{'':>10} pflogsumm not installed ({PFLOGSUMM}): no comparison")
        return
    theirs = _median(theirs_runs)
    _row(n, f"pflogsumm {name}", theirs)
    for build, m in zip(builds, ours, strict=True):
        print(
            f"{'':>10} {name}: smtpdoctor ({build.kind}) is {theirs[0] / m[0]:.2f}x "
            f"pflogsumm's speed (wall, median of {rounds} paired rounds), "
            f"{theirs[2] / m[2]:.2f}x (CPU); {m[1] / theirs[1]:.2f}x its peak memory"
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
    parser.add_argument(
        "--build",
        choices=("auto", "compiled", "pure", "both"),
        default="auto",
        help="which smtpdoctor build to measure (auto: the compiled one when it can be "
        "built, as `pip install .` does; both: compiled and pure Python)",
    )
    parser.add_argument("--python", help="measure the smtpdoctor this interpreter runs")
    args = parser.parse_args()
    sizes = [int(x) for x in args.lines.split(",")]
    kinds = args.kind.split(",")
    have_pflogsumm = os.access(PFLOGSUMM, os.X_OK) and shutil.which("perl") is not None
    workdir = Path(tempfile.mkdtemp(prefix="logs-bench-"))
    try:
        builds = pick_builds(args.build, args.python, workdir)
        print("smtpdoctor build: " + ", ".join(f"{b.kind} ({b.python})" for b in builds))
        print(
            f"{'lines':>10} {'tool':<28} {'wall s':>8} {'cpu s':>7} {'lines/s':>11} {'peak MiB':>9}"
        )
        for size in sizes:
            for kind in kinds:
                log = workdir / f"mail-{kind}-{size}.log"
                make = generate if kind == "busy" else generate_failures
                n = make(log, size)
                _paired(log, n, kind, args.rounds, have_pflogsumm, builds)
                if not args.keep:
                    log.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
