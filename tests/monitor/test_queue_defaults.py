"""With no config, on a machine with Postfix: the relay host and the local MTA are watched,
and the deferred queue is exported by cause (real Postfix, relay dropped by nftables)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.dnsmasq import REPO
from tests.mta.netns import DROPPED_RELAY
from tests.mta.test_live_postfix import MESSAGES, stuck
from tests.support.postfix import PostfixInstance

__all__ = ["stuck"]

pytestmark = [pytest.mark.postfix, pytest.mark.netns, pytest.mark.slow]

GET = (
    "import sys, urllib.request;"
    "print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
)
PORT = 9925


@pytest.fixture
def defaults_monitor(
    stuck: tuple[PostfixInstance, str, Path], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    pf, ns, _ = stuck
    proc = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            ns,
            sys.executable,
            "-m",
            "smtpdoctor",
            "monitor",
            "--postfix-config",
            str(pf.config_dir),
            "--listen",
            f"127.0.0.1:{PORT}",
            "--history",
            str(tmp_path / "h.sqlite3"),
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        yield proc, first
    finally:
        proc.terminate()
        proc.wait(10)


def metrics(ns: str) -> str:
    done = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", GET, f"http://127.0.0.1:{PORT}/metrics"],
        capture_output=True, text=True, timeout=15, check=False,
    )  # fmt: skip
    return done.stdout


def test_no_config_watches_the_relay_host_and_exports_the_queue(
    stuck: tuple[PostfixInstance, str, Path],
    defaults_monitor: tuple[subprocess.Popen[str], str],
) -> None:
    _, ns, _ = stuck
    _, first = defaults_monitor
    assert first == (
        f"smtpdoctor monitor: no --config: postfix installed; relay host {DROPPED_RELAY}:25\n"
    )
    # the relay's first turn may come half an interval (30 s) after start, then a 10 s connect
    deadline = time.monotonic() + 90
    body = ""
    while time.monotonic() < deadline:
        body = metrics(ns)
        if 'smtpdoctor_target_up{target="relay"}' in body and "smtpdoctor_queue_messages" in body:
            break
        time.sleep(0.5)
    assert 'smtpdoctor_target_up{target="relay"} 0.0' in body, body
    assert 'smtpdoctor_target_up{target="local-mta"}' in body
    causes = re.findall(
        r'smtpdoctor_target_cause_info\{cause="(\w+)",phase="(\w+)",severity="error",target="relay"\}',
        body,
    )
    assert causes == [("connect_timeout", "connect")], body
    assert (
        f'smtpdoctor_queue_messages{{cause="connect_timeout",queue="deferred"}} {MESSAGES}.0'
        in body
    )
    oldest = re.search(r'smtpdoctor_queue_oldest_seconds\{queue="deferred"\} (\S+)', body)
    assert oldest is not None and float(oldest.group(1)) > 0
    assert "smtpdoctor_queue_read_success 1.0" in body
