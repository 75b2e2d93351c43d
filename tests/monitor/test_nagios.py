"""`check --nagios`: the plugin line, perfdata, thresholds and exit codes 0/1/2/3."""

from __future__ import annotations

import re

import pytest

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.report.nagios import parse_thresholds
from tests.check.helpers import BadFactory
from tests.monitor.conftest import smtpdoctor
from tests.support.servers import GoodSMTP

PERF = re.compile(r"^(\w+)=(\d+(?:\.\d+)?)s;([\d.]*);([\d.]*);0;$")


def plugin(*args: str) -> tuple[int, str]:
    done = smtpdoctor("check", *args, "--nagios", "--starttls", "never")
    assert done.stderr == ""
    assert done.stdout.count("\n") == 1, done.stdout  # exactly one line
    return done.returncode, done.stdout.rstrip("\n")


def perfdata(line: str) -> dict[str, tuple[float, str, str]]:
    _, _, perf = line.partition("|")
    out = {}
    for item in perf.split():
        m = PERF.match(item)
        assert m, item
        out[m.group(1)] = (float(m.group(2)), m.group(3), m.group(4))
    return out


def test_healthy_server_is_ok_with_perfdata_per_phase(good: GoodSMTP) -> None:
    code, line = plugin(good.target, "-w", "rcpt=5", "-c", "rcpt=20")
    assert code == 0
    assert line.startswith(f"SMTP OK - {good.target}: mail accepted in ")
    perf = perfdata(line)
    assert list(perf) == ["connect", "greeting", "ehlo", "mail", "rcpt", "quit", "time"]
    assert perf["rcpt"][1:] == ("5", "20")
    assert perf["time"][0] >= perf["rcpt"][0]


def test_a_phase_over_its_thresholds_warns_then_goes_critical(bad: BadFactory) -> None:
    # The server's delay runs from accept, the greeting phase from the end of connect:
    # 0.45 s leaves the reading in 0.4x however long connect takes on a loaded machine
    # (with 0.4 s, a 9 ms connect once gave "greeting 0.395").
    slow = bad("slow-greeting", delay=0.45)
    code, line = plugin(slow.target, "-w", "greeting=0.1", "-c", "rcpt=20")
    assert code == 1
    assert line.startswith("SMTP WARNING - greeting 0.4")
    assert "> 0.1 s" in line
    code, line = plugin(slow.target, "-w", "greeting=0.1", "-c", "greeting=0.2,rcpt=20")
    assert code == 2
    assert line.startswith("SMTP CRITICAL - greeting 0.4")


def test_a_silent_server_is_critical_with_its_cause(bad: BadFactory) -> None:
    silent = bad("no-greeting")
    code, line = plugin(silent.target, "--timeout", "greeting=0.5")
    assert code == 2
    assert line.startswith("SMTP CRITICAL - greeting_timeout in greeting: ")
    assert "greeting" in perfdata(line)


def test_bad_arguments_are_unknown_exit_3(good: GoodSMTP) -> None:
    code, line = plugin(good.target, "-w", "rcpt=soon")
    assert code == 3
    assert line == "SMTP UNKNOWN - -w rcpt: 'soon' is not a number of seconds"
    code, line = plugin("bad host name", "-w", "rcpt=1")
    assert code == 3
    assert line.startswith("SMTP UNKNOWN - ")


def test_threshold_parsing() -> None:
    assert parse_thresholds(["rcpt=5,connect=0.5", "total=30"], "-w") == {
        "rcpt": 5.0,
        "connect": 0.5,
        "total": 30.0,
    }
    for bad_item in ("rcpt", "nope=1", "rcpt=-1", "rcpt=x"):
        with pytest.raises(UsageError):
            parse_thresholds([bad_item], "-w")
