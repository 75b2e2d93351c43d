"""Fixtures for the monitor tests: real SMTP servers and a real `smtpdoctor monitor` process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.check.conftest import bad, certs, closed_port, good  # noqa: F401 (fixtures)

READY = re.compile(r"(https?)://(\S+):(\d+)/")


@dataclass
class MonitorProcess:
    """A running `smtpdoctor monitor`; ``url`` is its listener."""

    proc: subprocess.Popen[str]
    url: str
    config: Path
    history: Path
    stderr_lines: list[str]

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        """GET a path; (status, body)."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def reload(self) -> None:
        """SIGHUP."""
        self.proc.send_signal(signal.SIGHUP)


def smtpdoctor(*args: str, timeout: float = 60, **kw: object) -> subprocess.CompletedProcess[str]:
    """Run the command line as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "smtpdoctor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,  # type: ignore[call-overload]
    )


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[Callable[[str], MonitorProcess]]:
    """Start `smtpdoctor monitor --config` with TOML text; stopped (SIGTERM) at teardown."""
    started: list[MonitorProcess] = []

    def start(config_text: str) -> MonitorProcess:
        config = tmp_path / f"monitor{len(started)}.toml"
        history = tmp_path / f"history{len(started)}.sqlite3"
        config.write_text(config_text)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smtpdoctor",
                "monitor",
                "--config",
                str(config),
                "--listen",
                "127.0.0.1:0",
                "--history",
                str(history),
            ],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lines: list[str] = []
        deadline = time.monotonic() + 20
        assert proc.stderr is not None
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            m = READY.search(line)
            if m:
                mp = MonitorProcess(
                    proc, f"{m.group(1)}://{m.group(2)}:{m.group(3)}", config, history, lines
                )
                started.append(mp)
                return mp
        proc.kill()
        proc.wait()
        raise AssertionError(f"monitor did not start: {''.join(lines)}")

    yield start
    for mp in started:
        mp.proc.terminate()
        try:
            mp.proc.wait(10)
        except subprocess.TimeoutExpired:
            mp.proc.kill()
            mp.proc.wait()
