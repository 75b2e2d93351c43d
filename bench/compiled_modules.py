"""Benchmark: which modules are worth compiling with mypyc (setup.py's COMPILED list).

Copies the package once per configuration, compiles it there in place with mypyc
(the copies only, never this checkout), and takes the CPU time of `analyze` in one
process (no worker processes: the compiled code's own speed; CPU time, because wall
time on a shared machine is mostly the neighbours' load) on two generated Postfix logs
of bench/logs_bench.py, a busy relay and a failure-heavy one. The configurations are
run round-robin (`--rounds` times, the best of each kept), so a load change on the
machine hits them alike:

- `pure`: no module compiled;
- `all`: every module of COMPILED (what `pip install .` builds);
- `only M`: M alone (fold needs aggregate: its RangeFold subclasses the Aggregator);
- `all but M` (with --leave-one-out): what M adds to the others.

    python bench/compiled_modules.py                  # 200,000 lines per log
    python bench/compiled_modules.py --leave-one-out --rounds 5
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import logs_bench  # noqa: E402  (the generators of the logs)

COMPANIONS = {"smtpdoctor/logs/fold.py": ["smtpdoctor/logs/aggregate.py"]}
TIMER = """
import json, sys, time
from pathlib import Path
from smtpdoctor.logs.api import analyze
out = {}
for log in sys.argv[1:]:
    start = time.process_time()
    analyze([Path(log)], parallel=False)
    out[Path(log).stem] = time.process_time() - start
files = {name: getattr(m, "__file__", None) or "" for name, m in list(sys.modules.items())}
so = [n for n, f in files.items() if f.endswith(".so") and not n.endswith("__mypyc")]
out["compiled"] = sorted(n for n in so if n.startswith("smtpdoctor."))
print(json.dumps(out))
"""


def compiled_list() -> list[str]:
    """setup.py's COMPILED, read without running setup.py."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "COMPILED":
            return list(ast.literal_eval(node.value))
    raise SystemExit("setup.py has no COMPILED list")


def build(workdir: Path, name: str, modules: list[str]) -> Path:
    """A copy of the package with modules compiled in place (mypyc); its directory."""
    where = workdir / name.replace(" ", "-").replace("/", "_")
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.pyc")
    shutil.copytree(REPO / "smtpdoctor", where / "smtpdoctor", ignore=ignore)
    shutil.copy2(REPO / "pyproject.toml", where / "pyproject.toml")  # mypy's settings
    if modules:
        done = subprocess.run(
            ["nice", "-n", "19", sys.executable, "-m", "mypyc", *modules],
            cwd=where,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"mypyc failed for {name}:\n{done.stdout[-2000:]}{done.stderr}")
        shutil.rmtree(where / "build", ignore_errors=True)
    return where


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000, help="lines per log")
    parser.add_argument("--rounds", type=int, default=3, help="round-robin rounds (best kept)")
    parser.add_argument("--leave-one-out", action="store_true", help="also all but each")
    args = parser.parse_args()
    modules = compiled_list()
    workdir = Path(tempfile.mkdtemp(prefix="compiled-bench-"))
    try:
        logs = [workdir / "busy.log", workdir / "failures.log"]
        logs_bench.generate(logs[0], args.lines)
        logs_bench.generate_failures(logs[1], args.lines)
        configs: dict[str, list[str]] = {"pure": [], "all": modules}
        for m in modules:
            configs[f"only {Path(m).stem}"] = [*COMPANIONS.get(m, []), m]
        if args.leave_one_out:
            for m in modules:
                drop = {m} | {k for k, v in COMPANIONS.items() if m in v}
                configs[f"all but {Path(m).stem}"] = [x for x in modules if x not in drop]
        print(f"compiling {len(configs) - 1} configurations ...", file=sys.stderr)
        dirs = {name: build(workdir, name, mods) for name, mods in configs.items()}
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for name, where in dirs.items():
                done = subprocess.run(
                    ["nice", "-n", "19", sys.executable, "-c", TIMER, *map(str, logs)],
                    cwd=where,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                got = json.loads(done.stdout)
                want = sorted(m.removesuffix(".py").replace("/", ".") for m in configs[name])
                assert got.pop("compiled") == want, (name, want)
                old = best.setdefault(name, got)
                for k, v in got.items():
                    old[k] = min(old[k], v)
        pure = best["pure"]
        print(f"{args.lines:,} lines per log, CPU s, best of {args.rounds} rounds, one process")
        print(f"{'configuration':<22} {'busy s':>7} {'gain':>6} {'failures s':>11} {'gain':>6}")
        for name, t in best.items():
            print(
                f"{name:<22} {t['busy']:>7.3f} {pure['busy'] / t['busy']:>5.2f}x "
                f"{t['failures']:>11.3f} {pure['failures'] / t['failures']:>5.2f}x"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
