"""Build script: the package as plain Python, plus (when it can) the hot log-analysis
modules compiled ahead of time with mypyc.

The metadata is in pyproject.toml; this file only adds the optional extensions. They are
compiled from the very same .py files (the .py files ship too: Python prefers the
compiled module when both are installed). Never a failed install: the build falls back
to pure Python, with one warning, when

- SMTPDOCTOR_PURE_PYTHON=1 is set,
- the install is editable (`pip install -e`: a compiled module would shadow edits),
- mypy/mypyc cannot be imported (e.g. `--no-build-isolation` without mypy),
- mypyc rejects the code, or there is no C compiler or no Python headers.

`smtpdoctor --version` says which build runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

# The modules every log line goes through, and the ones that write a large log report
# as JSON (report/json_text, report/logs_json, logs/summary, logs/checks: 5,000 groups), compiled
# together into one shared library:
# calls between them stay native, and fold's RangeFold may subclass aggregate's
# Aggregator (both compiled). Each gains little alone; together `analyze` runs 1.25x
# (busy relay) to 1.35x (failure-heavy) faster in CPU time, parse_line 1.6x to 2.1x
# (bench/compiled_modules.py). Left out, measured to gain nothing: replies,
# timestamps and blocks (their work is str.find, regexes or cached already); and
# logs/parallel.py (it only drives the workers, and tests patch its attributes).
# Compiled and pure builds write the same JSON (tests/test_compiled_build.py).
# smtpdoctor.build_kind looks at logs/parser: keep it in the list.
COMPILED = [
    "smtpdoctor/logs/parser.py",
    "smtpdoctor/logs/syslog.py",
    "smtpdoctor/logs/postfix.py",
    "smtpdoctor/logs/classify.py",
    "smtpdoctor/logs/events.py",
    "smtpdoctor/logs/coverage.py",
    "smtpdoctor/logs/aggregate.py",
    "smtpdoctor/logs/fold.py",
    "smtpdoctor/logs/families.py",
    "smtpdoctor/logs/joins.py",
    "smtpdoctor/logs/codec.py",
    "smtpdoctor/logs/needles.py",
    "smtpdoctor/report/json_text.py",
    "smtpdoctor/report/logs_json.py",
    "smtpdoctor/logs/summary.py",
    "smtpdoctor/logs/checks.py",
    "smtpdoctor/logs/timestamps.py",
]
PURE_ENV = "SMTPDOCTOR_PURE_PYTHON"
_BUILDS = {"bdist_wheel", "build", "build_ext", "install"}  # the commands that build code


def _warn(message: str) -> None:
    print(f"smtpdoctor: {message}; installing the pure-Python build", file=sys.stderr)


def _extensions() -> list[Any]:
    """The mypyc extensions, or [] when this build is pure Python (and why, on stderr)."""
    if not _BUILDS.intersection(sys.argv[1:]):
        # Metadata (egg_info, dist_info), sdist (no generated C in it) and editable
        # installs (editable_wheel, develop: the source tree is what runs, never a
        # compiled copy) need no extensions: mypyc is not run for them.
        return []
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        _warn(f"{PURE_ENV} is set")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:
        _warn(f"mypyc is not available ({exc})")
        return []
    try:
        # mypyc type-checks first (mypy --strict, as pyproject's [tool.mypy] says);
        # on an error it prints it and exits: that is caught too.
        return list(mypycify(COMPILED, opt_level="3", group_name="smtpdoctor"))
    except (Exception, SystemExit) as exc:
        _warn(f"mypyc could not compile the log modules ({exc!r})")
        return []


def _purge_compiled(build_lib: str) -> None:
    """Remove compiled modules left in build_lib by an earlier build (pip builds in the
    source tree's build/): a pure build must not ship them, a compiled one starts clean."""
    root = Path(build_lib)
    for so in [*root.glob("smtpdoctor__mypyc*"), *root.glob("smtpdoctor/**/*.so")]:
        so.unlink()


class BuildPy(build_py):
    """build_py that first clears compiled leftovers from the build directory."""

    def run(self) -> None:
        _purge_compiled(self.build_lib)
        super().run()


class OptionalBuildExt(build_ext):
    """build_ext where a failure (no compiler, no headers) means the pure-Python build,
    and in-place builds (editable installs) compile nothing into the source tree."""

    def run(self) -> None:
        if self.inplace or getattr(self, "editable_mode", False):
            return
        try:
            super().run()
        except Exception as exc:  # CompileError, LinkError, a missing compiler, ...
            _warn(f"the C build of the log modules failed ({exc})")
            for ext in self.extensions:
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
            self.extensions = []

    def get_outputs(self) -> list[str]:
        return [out for out in super().get_outputs() if Path(out).exists()]


setup(
    ext_modules=_extensions(),
    cmdclass={"build_py": BuildPy, "build_ext": OptionalBuildExt},
)
