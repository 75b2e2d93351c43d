"""The compiled build (setup.py: the log-analysis modules through mypyc) gives the very
same reports as the pure-Python build, and the build falls back to pure Python instead
of failing.

One compiled wheel is built per test session (shared by xdist workers through a lock),
from a copy of the sources, and installed into a fresh venv; a second venv gets the
pure-Python build through SMTPDOCTOR_PURE_PYTHON=1. Both run `smtpdoctor logs --json` on
the third-party corpus (tests/data/logs) and on generated failure-heavy logs, in one
process and through the worker processes (RangePart pickled out of compiled code).
"""

from __future__ import annotations

import ast
import fcntl
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = sorted((REPO / "tests" / "data" / "logs").glob("*.log"))
BUILD_TIMEOUT = 900
# What setup.py compiles (each must come out as an extension module, and nothing else).
COMPILED = next(
    ast.literal_eval(node.value)
    for node in ast.parse((REPO / "setup.py").read_text()).body
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "COMPILED"
)
# Runs `smtpdoctor logs --json` in the interpreter under test; "parallel" makes even a
# small file go through the worker processes (parallel.py stays interpreted).
RUNNER = """
import sys
from smtpdoctor import build_kind
from smtpdoctor.cli.main import main
from smtpdoctor.logs import parallel
mode, expected, *files = sys.argv[1:]
assert build_kind() == expected, build_kind()
merged = []
if mode == "parallel":
    parallel.MIN_SIZE = 0
    parallel.RANGE_SIZE = 150_000
    merge = parallel.merge_part
    parallel.merge_part = lambda agg, part: merged.append(1) or merge(agg, part)
code = main(["logs", "--json", "--no-rotated", *files])
print(f"ranges merged: {len(merged)}", file=sys.stderr)
sys.exit(code)
"""

# One worker runs them all under `--dist loadgroup` (scripts/test.sh): one build, no waiting.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("compiled-build")]


def _can_compile() -> bool:
    include = sysconfig.get_paths()["include"]
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) is not None and (Path(include) / "Python.h").exists()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SMTPDOCTOR_"))}
    return {**env, **extra}


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["nice", "-n", "19", *argv],
        cwd=cwd,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def _stdout(argv: list[str], cwd: Path) -> str:
    """The output of a quick command of an installed build (it must succeed)."""
    return subprocess.run(
        argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=60, check=True
    ).stdout


def _copy_sources(dest: Path) -> Path:
    """What `pip install .` needs, without build leftovers or the venv."""
    dest.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(
        REPO / "smtpdoctor",
        dest / "smtpdoctor",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"),
    )
    return dest


@dataclass(frozen=True)
class Builds:
    """The two installs under test and where they came from."""

    root: Path
    sources: Path
    wheel: Path
    compiled: Path  # the python of the venv with the compiled wheel
    pure: Path  # the python of the venv with SMTPDOCTOR_PURE_PYTHON=1 from the sources
    pure_log: str  # pip's output of the pure install (the fallback's warning)


def _venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin" / "python"


def _make_builds(root: Path) -> Builds:
    cache = {"PIP_CACHE_DIR": str(root / "pip-cache")}  # the second install reuses the first's
    sources = _copy_sources(root / "src")
    wheel_argv = ["-m", "pip", "wheel", "--no-deps", "-w", str(root / "dist"), str(sources)]
    _run([sys.executable, *wheel_argv], cwd=root, env=_env(**cache))
    [wheel] = (root / "dist").glob("smtpdoctor-*.whl")
    compiled = _venv(root / "compiled")
    _run([str(compiled), "-m", "pip", "install", "-q", str(wheel)], cwd=root, env=_env(**cache))
    pure = _venv(root / "pure")
    log = _run(
        [str(pure), "-m", "pip", "install", "-v", str(sources)],
        cwd=root,
        env=_env(SMTPDOCTOR_PURE_PYTHON="1", **cache),
    )
    return Builds(root, sources, wheel, compiled, pure, log)


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    """Built once per session: under xdist the workers share the first one's build."""
    if not _can_compile():
        pytest.skip("no C compiler or no Python headers (Debian: gcc libc6-dev python3-dev)")
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this session's directory, shared by its workers
    root = base / "compiled-build"
    root.mkdir(exist_ok=True)
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / "pure-install.log"  # written last: the builds are complete
        if not done.exists():
            made = _make_builds(root)
            done.write_text(made.pure_log)
        else:
            made = Builds(root, root / "src", next((root / "dist").glob("*.whl")),
                          root / "compiled" / "bin" / "python", root / "pure" / "bin" / "python",
                          done.read_text())  # fmt: skip
    yield made


def _logs_json(python: Path, expected: str, files: list[Path], cwd: Path, mode: str = "") -> str:
    done = subprocess.run(
        [str(python), "-c", RUNNER, mode or "single", expected, *map(str, files)],
        cwd=cwd,  # not the repository: the installed package is what runs
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "Traceback" not in done.stderr and done.stdout.startswith("{"), done.stderr
    # The one field that differs between two runs of the same build.
    out = re.sub(r'"generated_at": "[^"]*"', '"generated_at": ""', done.stdout)
    return f"exit {done.returncode}\n{done.stderr}{out}"


def _same_reports(builds: Builds, files: list[Path], mode: str = "") -> str:
    cwd = builds.root
    compiled = _logs_json(builds.compiled, "compiled", files, cwd, mode)
    pure = _logs_json(builds.pure, "pure Python", files, cwd, mode)
    assert compiled == pure
    return compiled


def test_the_wheel_holds_the_compiled_modules(builds: Builds) -> None:
    names = zipfile.ZipFile(builds.wheel).namelist()
    compiled = {n.split(".cpython-")[0] + ".py" for n in names if n.endswith(".so")}
    assert compiled == {*COMPILED, "smtpdoctor__mypyc.py"}  # and one shared library
    assert all(path in names for path in COMPILED)  # the sources ship too
    # Built in build/: nothing compiled is left next to the .py files (it would shadow them).
    assert not list((builds.sources / "smtpdoctor").rglob("*.so"))
    assert not list(builds.sources.glob("*.so"))


def test_version_names_the_build(builds: Builds) -> None:
    for python, kind in ((builds.compiled, "compiled"), (builds.pure, "pure Python")):
        out = _stdout([str(python.parent / "smtpdoctor"), "--version"], builds.root)
        assert out == f"smtpdoctor 0.1.0 ({kind})\n"


def test_pure_python_is_forced_by_the_environment(builds: Builds) -> None:
    assert "SMTPDOCTOR_PURE_PYTHON is set; installing the pure-Python build" in builds.pure_log
    site = Path(
        _stdout(
            [str(builds.pure), "-c", "import smtpdoctor; print(smtpdoctor.__file__)"], builds.root
        ).strip()
    ).parent
    assert (site / "logs" / "parser.py").exists()
    assert not list(site.rglob("*.so"))
    assert not list(site.parent.glob("smtpdoctor__mypyc*"))


@pytest.mark.parametrize("log", CORPUS, ids=[p.name for p in CORPUS])
def test_compiled_and_pure_agree_on_the_real_corpus(builds: Builds, log: Path) -> None:
    out = _same_reports(builds, [log])
    assert '"schema": "smtpdoctor.logs/1"' in out


@pytest.fixture(scope="module")
def failure_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A failure-heavy Postfix log (real reasons, bench/logs_bench.py) with the corpus,
    NUL runs and junk in between."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import logs_bench
    finally:
        sys.path.pop(0)
    log = tmp_path_factory.mktemp("compiled-logs") / "mail.log"
    logs_bench.generate_failures(log, 40_000)
    with log.open("ab") as f:
        for path in CORPUS:
            f.write(b"\x00" * 300 + path.read_bytes())
        f.write(b"not a log line\n" * 20)
    busy = log.with_name("busy.log")
    logs_bench.generate(busy, 20_000)
    with log.open("ab") as f:
        f.write(busy.read_bytes())
    return log


def test_compiled_and_pure_agree_on_a_failure_heavy_log(builds: Builds, failure_log: Path) -> None:
    out = _same_reports(builds, [failure_log])
    assert '"deferred": ' in out and '"deferred": 0,' not in out


def test_compiled_and_pure_agree_through_the_worker_processes(
    builds: Builds, failure_log: Path
) -> None:
    parallel = _same_reports(builds, [failure_log], mode="parallel")
    merged = int(re.search(r"ranges merged: (\d+)", parallel)[1])  # type: ignore[index]
    assert merged >= 10  # RangeParts came back from the workers (pickled, compiled code)
    # ... and the workers' report is the one pass's (the exact merge, compiled too).
    single = _same_reports(builds, [failure_log])
    assert "ranges merged: 0" in single
    assert parallel.replace(f"ranges merged: {merged}", "ranges merged: 0") == single


def _wheel(python: Path | str, sources: Path, dest: Path, *pip_args: str, **env: str) -> str:
    """pip wheel's verbose output; the wheel must come out with no compiled module."""
    log = _run(
        [str(python), "-m", "pip", "wheel", "-v", "--no-deps", *pip_args, "-w", str(dest),
         str(sources)],
        cwd=dest,
        env=_env(**env),
    )  # fmt: skip
    [wheel] = dest.glob("smtpdoctor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "smtpdoctor/logs/parser.py" in names
    assert not [n for n in names if n.endswith(".so")]
    return log


def test_no_c_compiler_means_a_pure_python_wheel(builds: Builds, tmp_path: Path) -> None:
    sources = _copy_sources(tmp_path / "src")
    cache = str(builds.root / "pip-cache")
    log = _wheel(sys.executable, sources, tmp_path, CC="/bin/false", PIP_CACHE_DIR=cache)
    assert "the C build of the log modules failed" in log


def test_no_mypy_means_a_pure_python_wheel(builds: Builds, tmp_path: Path) -> None:
    # The pure venv has no mypy: a build there without isolation cannot import mypyc.
    cache = str(builds.root / "pip-cache")
    pip = [str(builds.pure), "-m", "pip", "install", "-q", "setuptools>=77", "wheel"]
    _run(pip, tmp_path, _env(PIP_CACHE_DIR=cache))
    sources = _copy_sources(tmp_path / "src")
    log = _wheel(builds.pure, sources, tmp_path, "--no-build-isolation", PIP_CACHE_DIR=cache)
    assert "mypyc is not available" in log


def test_code_mypyc_rejects_means_a_pure_python_wheel(builds: Builds, tmp_path: Path) -> None:
    sources = _copy_sources(tmp_path / "src")
    with (sources / "smtpdoctor" / "logs" / "parser.py").open("a") as f:
        f.write('\n_BROKEN: int = "a type error mypy --strict reports"\n')
    cache = str(builds.root / "pip-cache")
    log = _wheel(sys.executable, sources, tmp_path, PIP_CACHE_DIR=cache)
    assert "mypyc could not compile the log modules" in log
    assert 'Incompatible types in assignment (expression has type "str"' in log
