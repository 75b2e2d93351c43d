"""Real Exim, real retry waits: after a connect timeout to dropped.test, Exim's next
attempts (a queue run, and a new message to the same host) log "retry time not
reached". `smtpdoctor logs` must attribute those lines to the cause Exim saw last
(connect_timeout at connect), not leave them without a cause.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.logs.lab import DROPPED, logs_lab
from tests.support.exim import exim_instance

pytestmark = [pytest.mark.netns, pytest.mark.exim, pytest.mark.slow]


@pytest.fixture(scope="module")
def retry_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One message into a dropped host, then a queue run and a second message."""
    base = tmp_path_factory.mktemp("eximretry")
    with logs_lab() as lab:
        routes = {"dropped.test": f"{DROPPED}::25"}
        transport = {"connect_timeout": "2s", "hosts_try_fastopen": ":"}
        with exim_instance(routes, transport, netns=lab.netns) as ex:
            ex.send("sender@example.org", ["user@dropped.test"], subject="first")
            ex.wait_for_log("== user@dropped.test")
            subprocess.run(ex._argv("-q"), capture_output=True, timeout=60, check=True)
            ex.send("sender@example.org", ["other@dropped.test"], subject="second")
            copy = base / "mainlog"
            shutil.copyfile(ex.main_log, copy)
        yield copy


def _json(path: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", str(path), "--json"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def test_exim_really_wrote_retry_lines(retry_log: Path) -> None:
    text = retry_log.read_text()
    assert "retry time not reached" in text, text


def test_retry_lines_take_the_last_known_cause(retry_log: Path) -> None:
    doc = _json(retry_log)
    retry_lines = [ln for ln in retry_log.read_text().splitlines() if "retry time not" in ln]
    groups = {(g["destination"], g["cause"], g["phase"]): g for g in doc["groups"]}
    assert set(groups) == {("dropped.test", "connect_timeout", "connect")}, doc["groups"]
    [group] = groups.values()
    # The real timeout plus every retry wait, all under the cause that made them wait.
    assert group["count"] == 1 + len(retry_lines)
    assert group["relay"].startswith(f"{DROPPED}[{DROPPED}]")
    assert doc["totals"]["deferred"] == 1 + len(retry_lines)
    worst = {t["queue_id"]: t for t in doc["messages"]["worst"]}
    assert all(t["causes"] == ["connect_timeout"] for t in worst.values())
