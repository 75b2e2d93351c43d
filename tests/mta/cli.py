"""Running the real `smtpdoctor` command line in a subprocess (optionally in a namespace)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def smtpdoctor(
    *args: str,
    netns: str | None = None,
    env: dict[str, str] | None = None,
    user: str | None = None,
    timeout: float = 90.0,
    python: str = sys.executable,
    pythonpath: Path = REPO,
) -> subprocess.CompletedProcess[str]:
    """`python -m smtpdoctor ARGS`, as the CLI user would run it."""
    argv = [python, "-m", "smtpdoctor", *args]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", "--regid=65534", "--clear-groups", *argv]
    if netns is not None:
        argv = ["ip", "netns", "exec", netns, *argv]
    full_env = {**os.environ, "PYTHONPATH": str(pythonpath), **(env or {})}
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=pythonpath,
        check=False,
    )
