"""Hostile servers cannot hold the check past its caps or make it grow; the budget holds."""

from __future__ import annotations

import socket

import pytest

from tests.check.helpers import BadFactory, CheckRun, check


@pytest.fixture(scope="module")
def baseline_rss_kb() -> int:
    """Peak RSS of a check that fails at once (imports and all)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return check(f"127.0.0.1:{port}").maxrss_kb


def _bounded(run: CheckRun, baseline_kb: int) -> None:
    # 32 MiB over a trivial run: a parser that buffered the flood would use far more
    assert run.maxrss_kb < baseline_kb + 32 * 1024, (run.maxrss_kb, baseline_kb)


@pytest.mark.parametrize("mode", ["endless-line", "continuation-flood"])
def test_flood_is_a_protocol_error_quickly(
    bad: BadFactory, baseline_rss_kb: int, mode: str
) -> None:
    server = bad(mode)
    cap = 3
    run = check(server.target, "--timeout", f"greeting={cap}", "--timeout", "tls=1")
    assert run.wall_s < cap + 2, run.wall_s
    assert run.doc["verdict"] == "failed"
    greeting = run.phase("greeting", run.doc["endpoints"][0])
    assert greeting["status"] == "protocol_error", greeting
    assert run.doc["causes"], run.doc
    _bounded(run, baseline_rss_kb)


def test_byte_per_second_greeting_hits_the_cap(bad: BadFactory, baseline_rss_kb: int) -> None:
    server = bad("byte-per-second", delay=0.5)
    cap = 3
    run = check(server.target, "--timeout", f"greeting={cap}", "--timeout", "tls=1")
    assert run.wall_s < cap + 2, run.wall_s
    assert run.doc["verdict"] == "failed"
    greeting = run.phase("greeting", run.doc["endpoints"][0])
    assert greeting["status"] == "timeout"
    assert greeting["ms"] / 1000 < cap + 0.5  # a whole-phase deadline, not per read
    assert run.codes == ["greeting_timeout"]
    # Issue 10, point 5: not "sent no greeting", but how many bytes came and when.
    summary = run.cause("greeting_timeout")["summary"]
    assert summary.startswith(
        f"127.0.0.1:{server.port} began its greeting but did not finish it within {cap} s: only "
    )
    came = int(summary.split("only ", 1)[1].split(" ", 1)[0])
    assert 5 <= came <= 7  # one byte every 0.5 s for 3 s: the first at once
    assert "the first after 0.0 s and the last after 2." in summary
    _bounded(run, baseline_rss_kb)


def test_budget_ends_the_check(bad: BadFactory) -> None:
    server = bad("no-greeting")
    run = check(server.target, "--budget", "3")
    assert run.doc["budget_s"] == 3
    assert run.doc["verdict"] == "failed"
    assert run.doc["elapsed_ms"] < 3600
    assert run.wall_s < 3 + 2, run.wall_s


# The contract: a stalled greeting costs the greeting cap (+2 s), with the other
# limits at their defaults. The implicit-TLS probe that tells a silent plain port from
# an implicit-TLS one runs inside that cap, alongside the wait for the greeting.


def test_silent_greeting_costs_only_the_greeting_cap(bad: BadFactory) -> None:
    server = bad("no-greeting")
    # the budget only keeps this test short while the follow-up probe overruns
    run = check(server.target, "--timeout", "greeting=1", "--budget", "6")
    assert "greeting_timeout" in run.codes
    assert run.wall_s < 1 + 2, run.wall_s


def test_dripping_greeting_costs_only_the_greeting_cap(bad: BadFactory) -> None:
    server = bad("byte-per-second", delay=0.5)
    run = check(server.target, "--timeout", "greeting=2")
    assert "greeting_timeout" in run.codes
    assert run.wall_s < 2 + 2, run.wall_s
