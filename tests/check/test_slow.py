"""Slow but successful phases (issue 10, point 1): reply_slow and connect_slow.

A server that answers late and a path that loses the first SYN: mail gets through, but
clients with short timeouts do not, so the verdict is degraded and says which phase.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.check.helpers import REPO, BadFactory, check
from tests.support.netns import loopback_namespace


def test_late_rcpt_reply_is_reply_slow(bad: BadFactory) -> None:
    server = bad("slow-after", after="RCPT", delay=1.5)
    run = check(server.target, "--starttls", "never", "--slow", "rcpt=1")
    assert run.returncode == 1
    assert run.doc["verdict"] == "degraded"
    assert run.codes == ["reply_slow"]
    cause = run.cause("reply_slow")
    assert (cause["phase"], cause["severity"]) == ("rcpt", "warning")
    assert cause["summary"].startswith(
        f"127.0.0.1:{server.port} took 1.5 s to answer RCPT TO (slow above 1 s): "
    )
    assert run.phase("rcpt")["status"] == "ok"


def test_the_same_reply_under_the_default_threshold_is_healthy(bad: BadFactory) -> None:
    server = bad("slow-after", after="RCPT", delay=1.5)
    run = check(server.target, "--starttls", "never")
    assert run.doc["verdict"] == "ok"
    assert run.codes == []


def test_bad_slow_option_is_a_usage_error() -> None:
    run = check_usage("--slow", "rcpt=0")
    assert run.returncode == 2
    assert (
        run.stderr.strip()
        .splitlines()[-1]
        .endswith("--slow wants PHASE=SECONDS with 0 < SECONDS <= 86400, got 'rcpt=0'")
    )


def check_usage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "check", "127.0.0.1:1", "--json", *args],
        capture_output=True, text=True, cwd=REPO, timeout=30, check=False,
    )  # fmt: skip


# The first SYN of every connection to PORT is dropped, the retransmission (same source
# port, one second later) passes: a lossy path, made exactly.
RULESET = """table inet sdslow {{
 set seen {{ type inet_service; flags dynamic,timeout; timeout 1m; }}
 chain in {{
  type filter hook input priority 0;
  tcp dport {port} tcp flags & (syn|ack) == syn tcp sport @seen accept
  tcp dport {port} tcp flags & (syn|ack) == syn add @seen {{ tcp sport }} drop
 }}
}}
"""
PORT = 2525


@pytest.fixture
def lossy_namespace() -> Iterator[str]:
    with loopback_namespace("sdslow-", (), RULESET.format(port=PORT)) as name:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        argv = [
            "ip", "netns", "exec", name, sys.executable, "-m", "tests.support.badsmtp",
            "--listen", f"127.0.0.1:{PORT}", "--mode", "normal",
        ]  # fmt: skip
        server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            assert server.stdout is not None
            assert server.stdout.readline().strip() == str(PORT).encode()
            yield name
        finally:
            server.terminate()
            server.wait(10)


@pytest.mark.netns
def test_lost_syn_is_connect_slow_with_the_retransmission(lossy_namespace: str) -> None:
    run = check(
        f"127.0.0.1:{PORT}", "--starttls", "never",
        wrapper=("ip", "netns", "exec", lossy_namespace), timeout=30,
    )  # fmt: skip
    assert run.doc["verdict"] == "degraded", run.describe()
    assert run.codes == ["connect_slow"]
    cause = run.cause("connect_slow")
    assert (cause["phase"], cause["severity"]) == ("connect", "warning")
    assert cause["summary"].startswith(
        f"Connecting to 127.0.0.1:{PORT} took 1.0 s: the kernel had to send the SYN 2 times "
        "(TCP_INFO counts 1 retransmission(s)); packets are lost on the path."
    )
    assert 1000 <= run.phase("connect")["ms"] < 1500
    notes = [t["text"] for t in run.endpoint["transcript"] if t["dir"] == "*"]
    assert "the kernel sent the SYN 2 times before it was answered" in notes
