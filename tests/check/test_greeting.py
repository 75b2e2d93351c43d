"""The greeting: silence, lateness, busy servers."""

from __future__ import annotations

import pytest

from tests.check.helpers import BadFactory, check


def test_greeting_timeout(bad: BadFactory) -> None:
    server = bad("no-greeting")
    run = check(server.target, "--timeout", "greeting=1", "--timeout", "tls=1")
    assert run.doc["verdict"] == "failed"
    cause = run.cause("greeting_timeout")
    assert cause["severity"] == "error"
    assert cause["phase"] == "greeting"
    greeting = run.phase("greeting", run.doc["endpoints"][0])
    assert greeting["status"] == "timeout"
    assert greeting["limit_s"] == 1
    assert 0.9 < greeting["ms"] / 1000 < 2.0
    assert run.phase("connect", run.doc["endpoints"][0])["status"] == "ok"
    assert run.wall_s < 8, run.wall_s


def test_greeting_slow_is_a_warning(bad: BadFactory) -> None:
    server = bad("slow-greeting", delay=5.5)
    run = check(server.target)
    assert run.returncode == 1, run.describe()
    assert run.doc["verdict"] == "degraded"
    cause = run.cause("greeting_slow")
    assert cause["severity"] == "warning"
    assert cause["phase"] == "greeting"
    assert "10" in cause["summary"] and "30" in cause["summary"], cause["summary"]
    greeting = run.phase("greeting")
    assert greeting["status"] == "ok"
    assert 5.3 < greeting["ms"] / 1000 < 7
    assert run.phase("rcpt")["status"] == "ok"  # the session went on


@pytest.mark.parametrize(
    ("mode", "code", "named"),
    [
        ("busy-421", 421, "server_busy"),  # 421 4.3.2 Too many connections
        ("busy-554", 554, "rejected"),  # 554 5.7.1 No SMTP service here: a refusal, not load
    ],
)
def test_greeting_refusal(bad: BadFactory, mode: str, code: int, named: str) -> None:
    server = bad(mode)
    run = check(server.target)
    assert run.doc["verdict"] == "failed"
    assert [c["code"] for c in run.doc["causes"] if c["severity"] != "info"] == [named]
    cause = run.cause(named)
    assert cause["phase"] == "greeting"
    assert cause["severity"] == "error"
    assert str(code) in " ".join(cause["evidence"]) + cause["summary"]
    greeting = run.phase("greeting")
    assert greeting["reply"]["code"] == code
    assert greeting["status"] == ("temp_fail" if code == 421 else "perm_fail")
    assert run.wall_s < 5
