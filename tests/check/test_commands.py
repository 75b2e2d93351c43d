"""The envelope and the data: silent servers, greylisting, rejection, dropped sessions."""

from __future__ import annotations

import pytest

from tests.check.helpers import BadFactory, check

SEND = ("--send", "--from", "probe@example.org", "--to", "postmaster@example.net")


@pytest.mark.parametrize(
    ("after", "option"), [("MAIL", "mail=1"), ("RCPT", "command=1"), ("EHLO", "ehlo=1")]
)
def test_command_timeout(bad: BadFactory, after: str, option: str) -> None:
    server = bad("stall-after", after=after)
    run = check(server.target, "--timeout", option)
    assert run.doc["verdict"] == "failed"
    cause = run.cause("command_timeout")
    assert cause["phase"] == after.lower()
    phase = run.phase(after.lower())
    assert phase["status"] == "timeout"
    assert phase["limit_s"] == 1
    assert 0.9 < phase["ms"] / 1000 < 2
    assert run.endpoint["failed_phase"] == after.lower()
    assert run.wall_s < 8


@pytest.mark.parametrize(("after", "phase_name"), [("DATA", "data"), ("EOD", "eod")])
def test_data_timeout(bad: BadFactory, after: str, phase_name: str) -> None:
    server = bad("stall-after", after=after)
    run = check(server.target, *SEND, "--timeout", f"{phase_name}=1")
    assert run.doc["verdict"] == "failed"
    cause = run.cause("data_timeout")
    assert cause["phase"] == phase_name
    assert run.phase(phase_name)["status"] == "timeout"
    assert run.endpoint["failed_phase"] == phase_name
    assert run.wall_s < 8


def test_greylisted(bad: BadFactory) -> None:
    server = bad("greylist")
    run = check(server.target)
    assert run.returncode == 1
    cause = run.cause("greylisted")
    assert cause["phase"] == "rcpt"
    rcpt = run.phase("rcpt")
    assert rcpt["status"] == "temp_fail"
    assert rcpt["reply"]["code"] == 450


def test_unknown_recipient(bad: BadFactory) -> None:
    """550 5.1.1 User unknown on a port other than 465/587: one address fails, the
    server works (a warning, verdict degraded)."""
    server = bad("reject-rcpt")
    run = check(server.target, "--to", "nobody@example.net")
    assert run.doc["verdict"] == "degraded"
    cause = run.cause("recipient_unknown")
    assert "rejected" not in run.codes
    assert cause["phase"] == "rcpt"
    assert cause["severity"] == "warning"
    rcpt = run.phase("rcpt")
    assert rcpt["status"] == "perm_fail"
    assert rcpt["reply"]["code"] == 550
    assert "5.1.1" in " ".join(cause["evidence"]) + cause["summary"]


@pytest.mark.parametrize("after", ["EHLO", "MAIL"])
def test_connection_dropped(bad: BadFactory, after: str) -> None:
    server = bad("drop-after", after=after)
    run = check(server.target)
    assert run.doc["verdict"] == "failed"
    cause = run.cause("connection_dropped")
    assert cause["phase"] == after.lower()
    assert run.phase(after.lower())["status"] == "closed"
    assert run.wall_s < 5
