"""`smtpdoctor check --reference HOST` in the lab: an outbound block or one dead host?

s1.lab.test is the target, s2.lab.test the reference (a host known to accept port 25).
When port 25 times out to both, the block is on this machine's way out: port25_blocked,
even with no other port of the target to compare with. When the reference connects and
the target's 25 and 587 both time out, nothing says "port 25 only": connect_timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.lab.cli import check_json
from tests.lab.topology import Lab

pytestmark = pytest.mark.netns

FAST = ["--timeout", "connect=1.5", "--timeout", "greeting=3", "--timeout", "command=3",
        "--timeout", "resolve=3", "--helo", "client.lab.test"]  # fmt: skip


def check(lab: Lab, *args: str) -> dict[str, Any]:
    return check_json(lab, args, FAST, returncodes=(1,))[1]


def by_address(doc: dict[str, Any], code: str) -> dict[str, dict[str, Any]]:
    return {c["address"]: c for c in doc["causes"] if c["code"] == code}


@pytest.fixture
def pair(make_lab: Callable[..., Lab]) -> Lab:
    """s1 (target) and s2 (reference), both serving port 25."""
    lab = make_lab(servers=2)
    for server in lab.servers:
        lab.start_smtp(server)
    return lab


def reference_endpoints(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in doc["endpoints"] if e["host"] == "s2.lab.test"]


def test_reference_times_out_too_is_port25_blocked(pair: Lab) -> None:
    target, ref = pair.servers
    pair.drop(1, dport=25)  # the client's own router: every port-25 SYN leaving is dropped
    doc = check(pair, "s1.lab.test", "-p", "25", "--reference", "s2.lab.test")
    refs = reference_endpoints(doc)
    assert {e["address"] for e in refs} == {ref.v4, ref.v6}
    assert all(not e["explicit"] and e["port"] == 25 for e in refs)
    assert all([p["phase"] for p in e["phases"]] == ["connect"] for e in refs)  # connect only
    assert all(e["phases"][0]["status"] == "timeout" for e in refs)
    blocked = by_address(doc, "port25_blocked")
    assert set(blocked) == {target.v4, target.v6}
    for cause in blocked.values():
        assert "reference host s2.lab.test" in cause["summary"]
        assert "outbound port 25 is blocked here" in cause["summary"]
        assert sum(line.startswith("reference s2.lab.test: ") for line in cause["evidence"]) == 2
    assert by_address(doc, "connect_timeout") == {}  # explained by the block
    # the reference host is evidence, never a finding of its own
    assert not any(c["address"] in (ref.v4, ref.v6) for c in doc["causes"])


def test_reference_connects_target_dead_is_connect_timeout(pair: Lab) -> None:
    target, ref = pair.servers
    pair.start_smtp(target, port=587)
    pair.drop_to(target, dport=25)
    pair.drop_to(target, dport=587)
    doc = check(pair, "s1.lab.test", "-p", "25", "--reference", "s2.lab.test")
    refs = reference_endpoints(doc)
    assert {e["address"] for e in refs} == {ref.v4, ref.v6}
    assert all(e["phases"][0]["status"] == "ok" for e in refs)
    assert set(by_address(doc, "connect_timeout")) == {target.v4, target.v6}
    assert by_address(doc, "port25_blocked") == {}
    assert doc["verdict"] == "failed"  # the reference working does not make the target pass


def test_bad_reference_is_one_line(pair: Lab) -> None:
    for ref in ("s2.lab.test:25", "@lab.test", "nope.lab.test"):  # the last does not resolve
        done = pair.run_client(["smtpdoctor", "check", "s1.lab.test", "--reference", ref])
        assert done.returncode == 2, done.stdout
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_reference_that_is_the_target_itself(pair: Lab) -> None:
    """Reference endpoints are told apart by a flag, not by name: naming the target as its
    own reference must not hide the target's endpoints from the port-25 rule."""
    target, _ = pair.servers
    pair.start_smtp(target, port=587)
    pair.drop_to(target, dport=25)
    doc = check(pair, "s1.lab.test", "-p", "25", "--reference", "s1.lab.test")
    assert set(by_address(doc, "port25_blocked")) == {target.v4, target.v6}
    refs = [e for e in doc["endpoints"] if e["host"] == "s1.lab.test" and not e["explicit"]]
    assert any(e["port"] == 25 for e in refs)  # the reference probes are there too
