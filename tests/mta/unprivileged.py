"""A copy of smtpdoctor and its runtime dependencies that an unprivileged user can run.

Root's Python (pyenv) lives under /root, which other users cannot enter. The system
interpreter (/usr/bin/python3) can run smtpdoctor if the package and its dependencies sit
somewhere readable: this copies the files each installed distribution lists in its RECORD
(as `pip install --target` would lay them out, without asking an index) for smtpdoctor's
declared dependencies and theirs, plus the smtpdoctor package from this checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = ("dnspython", "rich", "cryptography")
SYSTEM_PYTHON = Path("/usr/bin/python3")


@dataclass(frozen=True)
class Unprivileged:
    """An interpreter and a PYTHONPATH that the user `nobody` can use."""

    python: str
    pythonpath: Path


def _closure(names: tuple[str, ...]) -> list[metadata.Distribution]:
    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = re.split(r"[\s;<>=!~\[(]", todo.pop(), maxsplit=1)[0].lower()
        if not name or name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional extra's requirement that is not installed
        seen[name] = dist
        todo += [r for r in dist.requires or [] if "extra ==" not in r]
    return list(seen.values())


def _copy(dist: metadata.Distribution, target: Path) -> None:
    for entry in dist.files or []:
        source = Path(str(dist.locate_file(entry)))
        if ".." in entry.parts or not source.is_file() or "__pycache__" in entry.parts:
            continue
        dest = target / entry
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


def _readable_by_all(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


def build(target: Path) -> Unprivileged:
    """Lay out smtpdoctor and its dependencies under target (which must exist)."""
    for dist in _closure(RUNTIME):
        _copy(dist, target)
    shutil.copytree(
        REPO / "smtpdoctor", target / "smtpdoctor", ignore=shutil.ignore_patterns("__pycache__")
    )
    _readable_by_all(target)
    return Unprivileged(str(SYSTEM_PYTHON), target)


@pytest.fixture(scope="module")
def unprivileged() -> Iterator[Unprivileged]:
    """smtpdoctor runnable as nobody through the system Python; skips if there is none."""
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} missing: no interpreter outside /root for nobody")
    mine = sys.version_info[:2]
    out = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout.strip()
    if out != str(mine):
        pytest.skip(f"{SYSTEM_PYTHON} is {out}, not {mine}: the compiled dependencies differ")
    root = Path(tempfile.mkdtemp(prefix="sdnobody-", dir="/var/tmp"))
    try:
        os.chmod(root, 0o755)
        yield build(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
