"""`smtpdoctor check` run as the unprivileged user `nobody`, as a user without root would.

Tests run as root, and root reads any file, so an unreadable --password-file can only
be tested as another user. Root's Python packages may live where `nobody` cannot read
them (a pyenv under /root), so the fixture builds a directory `nobody` can read with a
copy of the smtpdoctor package and of the installed distributions it needs (copied from
this interpreter's site-packages: no network), and runs a Python `nobody` may execute.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.check.helpers import REPO

RUNUSER = shutil.which("runuser")
DISTRIBUTIONS = ("dnspython", "rich", "cryptography")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or RUNUSER is None, reason="needs root and runuser to become nobody"
)


def _as_nobody(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    assert RUNUSER is not None
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [RUNUSER, "-u", "nobody", "--", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,
    )


def _python_for_nobody() -> str | None:
    """This interpreter if nobody may run it, else a system one of the same version."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    for candidate in (sys.executable, f"/usr/bin/python{version}", "/usr/bin/python3"):
        if not Path(candidate).exists():
            continue
        done = _as_nobody([candidate, "-I", "-c", probe], cwd="/")
        if done.returncode == 0 and done.stdout.strip() == version:
            return candidate
    return None


def _closure(names: tuple[str, ...]) -> list[md.Distribution]:
    """The distributions and their (non-extra) requirements, recursively."""
    seen: dict[str, md.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        dist = md.distribution(name)
        seen[key] = dist
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            marker = req.split(";", 1)[1] if ";" in req else ""
            if 'python_version < "3.1' in marker.replace("'", '"'):
                continue  # backports for Python versions older than this one
            match = re.match(r"[A-Za-z0-9._-]+", req)
            if match:
                todo.append(match.group(0))
    return list(seen.values())


def _copy_distribution(dist: md.Distribution, target: Path) -> None:
    for file in dist.files or []:
        if file.parts and file.parts[0] == "..":
            continue  # console scripts outside site-packages
        source = Path(str(file.locate()))
        if source.is_file() and "__pycache__" not in file.parts:
            dest = target / file
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)


@dataclass(frozen=True)
class NobodyEnv:
    """A Python nobody may run, and a directory nobody may read holding the packages."""

    python: str
    root: Path

    def smtpdoctor(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`python -m smtpdoctor ARGS` as nobody, with only the copied packages."""
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(self.root / "site"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "NO_COLOR": "1",
            "HOME": "/nonexistent",
        }
        return _as_nobody([self.python, "-m", "smtpdoctor", *args], cwd=str(self.root), env=env)


@pytest.fixture(scope="module")
def nobody() -> Iterator[NobodyEnv]:
    python = _python_for_nobody()
    if python is None:
        pytest.skip("no Python interpreter of this version is executable by nobody")
    root = Path(tempfile.mkdtemp(prefix="sd-nobody-", dir="/var/tmp"))
    try:
        site = root / "site"
        site.mkdir()
        for dist in _closure(DISTRIBUTIONS):
            _copy_distribution(dist, site)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(REPO / "smtpdoctor", site / "smtpdoctor", ignore=ignore)
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield NobodyEnv(python, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_copy_is_what_runs_as_nobody(nobody: NobodyEnv) -> None:
    """Why the fixture builds its own directory (and that its copy is what runs)."""
    done = nobody.smtpdoctor("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("smtpdoctor "), done.stdout
    where = _as_nobody(
        [nobody.python, "-c", "import smtpdoctor, dns; print(smtpdoctor.__file__, dns.__file__)"],
        cwd=str(nobody.root),
        env={"PYTHONPATH": str(nobody.root / "site"), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert where.returncode == 0, where.stderr
    assert all(p.startswith(str(nobody.root)) for p in where.stdout.split()), where.stdout


def test_unreadable_password_file_is_one_line_exit_2(nobody: NobodyEnv, closed_port: int) -> None:
    secret = nobody.root / "root-only-pw"
    secret.write_text("hunter2-root-only\n")
    secret.chmod(0o600)  # root's, in a directory nobody can enter: only the file says no
    done = nobody.smtpdoctor(
        "check", f"127.0.0.1:{closed_port}", "--user", "alice", "--password-file", str(secret)
    )
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("smtpdoctor: error: "), lines
    assert str(secret) in lines[0] and "Permission denied" in lines[0], lines
    assert "hunter2" not in done.stdout + done.stderr
    assert done.stdout == ""


def test_readable_password_file_gets_past_the_password(nobody: NobodyEnv, closed_port: int) -> None:
    """The control: the same run with a file nobody may read probes (and finds the port shut)."""
    readable = nobody.root / "readable-pw"
    readable.write_text("hunter2-readable\n")
    readable.chmod(0o644)
    done = nobody.smtpdoctor(
        "check", f"127.0.0.1:{closed_port}", "--json", "--budget", "10",
        "--user", "alice", "--password-file", str(readable),
    )  # fmt: skip
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert '"connect_refused"' in done.stdout
    assert "hunter2" not in done.stdout + done.stderr
