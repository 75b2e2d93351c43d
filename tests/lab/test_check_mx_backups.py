"""`check @domain` where the preferred MX works and only the backup MX hosts fail.

An MTA walks MX hosts in preference order and stops at the first that takes the
message, so dead backups cost nothing until the preferred host fails. The verdict is
`degraded` (something is broken) but the `mx_partial` wording must not claim that mail
is late now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.lab.cli import check_json
from tests.lab.dnsmasq import Zone
from tests.lab.topology import Lab

pytestmark = pytest.mark.netns

FAST = ["--timeout", "connect=2", "--timeout", "greeting=3", "--timeout", "command=3",
        "--timeout", "resolve=3", "--helo", "client.lab.test"]  # fmt: skip


def check(lab: Lab, *args: str) -> tuple[int, dict[str, Any]]:
    return check_json(lab, args, FAST)


@pytest.fixture
def three_mx(make_lab: Callable[..., Lab]) -> Lab:
    """three.lab.test: MX 10 s1 (preferred), 20 s2 and 30 s3 (backups), all on port 25."""
    hosts: dict[str, tuple[str, ...]] = {
        f"s{i}.lab.test": (f"203.0.113.{9 + i}", f"2001:db8:3::{9 + i}") for i in (1, 2, 3)
    }
    mx = {"three.lab.test": [(30, "s3.lab.test"), (10, "s1.lab.test"), (20, "s2.lab.test")]}
    lab = make_lab(servers=3, zone=Zone(domain="lab.test", hosts=hosts, mx=mx))
    for server in lab.servers:
        lab.start_smtp(server)
    return lab


def mx_partial(doc: dict[str, Any]) -> dict[str, Any]:
    found = [c for c in doc["causes"] if c["code"] == "mx_partial"]
    assert len(found) == 1, doc["causes"]
    return dict(found[0])


def test_backups_dead_preferred_works_is_degraded_not_late(three_mx: Lab) -> None:
    s1, s2, s3 = three_mx.servers
    three_mx.drop_to(s2, dport=25)
    three_mx.drop_to(s3, dport=25)
    code, doc = check(three_mx, "@three.lab.test")
    assert code == 1 and doc["verdict"] == "degraded", doc["causes"]
    assert [h["host"] for h in doc["mx"]["hosts"]] == ["s1.lab.test", "s2.lab.test", "s3.lab.test"]
    cause = mx_partial(doc)
    assert cause["severity"] == "warning"
    summary = cause["summary"]
    assert "4 of 6 MX addresses of three.lab.test fail" in summary, summary
    # the failing hosts are backups: mail is not late while the preferred host works
    assert "backup" in summary.lower(), summary
    assert "so delivery is not delayed until it fails" in summary, summary
    assert "s1.lab.test" in summary and "preferred" in summary.lower(), summary
    failing = {line.split()[0] for line in cause["evidence"] if "connect timeout" in line}
    assert failing == {"s2.lab.test", "s3.lab.test"}
    timeouts = {c["address"] for c in doc["causes"] if c["code"] == "connect_timeout"}
    assert timeouts == {s2.v4, s2.v6, s3.v4, s3.v6}
    assert {e["address"] for e in doc["endpoints"] if e["explicit"] and e["status"] == "ok"} == {
        s1.v4, s1.v6,
    }  # fmt: skip


def test_preferred_dead_is_still_late(three_mx: Lab) -> None:
    """The contrast: the preferred host dead means every message waits for it first."""
    s1 = three_mx.servers[0]
    three_mx.drop_to(s1, dport=25)
    code, doc = check(three_mx, "@three.lab.test")
    assert code == 1 and doc["verdict"] == "degraded"
    summary = mx_partial(doc)["summary"]
    assert "late" in summary and "not delayed" not in summary, summary


def test_terminal_headline_for_dead_backups(three_mx: Lab) -> None:
    three_mx.drop_to(three_mx.servers[1], dport=25)
    done = three_mx.run_client(["smtpdoctor", "check", "@three.lab.test", *FAST])
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("DEGRADED  @three.lab.test"), done.stdout
    assert "not delayed" in done.stdout, done.stdout
