"""`smtpdoctor trace` in the lab: open path, a drop at the second router, a reject."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.lab.topology import Lab

pytestmark = pytest.mark.netns

R1_V4, R2_V4 = "198.51.100.1", "198.51.100.18"
R1_V6, R2_V6 = "2001:db8:1::1", "2001:db8:2::2"


def trace(lab: Lab, *args: str) -> tuple[int, dict[str, Any]]:
    done = lab.run_client(["smtpdoctor", "trace", *args, "--json", "--timeout", "0.5"])
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == "smtpdoctor.trace/1"
    return done.returncode, doc


@pytest.fixture
def two_routers(make_lab: Callable[..., Lab]) -> Lab:
    lab = make_lab(routers=2)
    lab.start_smtp(lab.servers[0])
    return lab


def test_open_path_both_families(two_routers: Lab) -> None:
    server = two_routers.servers[0]
    for target, hops in ((f"{server.v4}:25", [R1_V4, R2_V4, server.v4]),
                         (f"[{server.v6}]:25", [R1_V6, R2_V6, server.v6])):  # fmt: skip
        code, doc = trace(two_routers, target)
        assert code == 0 and doc["reached"] and doc["stopped"] == "reached"
        assert [h["address"] for h in doc["hops"]] == hops
        assert [h["kind"] for h in doc["hops"]] == ["time_exceeded", "time_exceeded", "reached"]
        assert all(h["rtt_ms"] is not None and h["rtt_ms"] < 500 for h in doc["hops"])


def test_drop_at_second_router_names_it(two_routers: Lab) -> None:
    two_routers.drop(2, dport=25)
    code, doc = trace(two_routers, "s1.lab.test", "-4")
    assert code == 1 and not doc["reached"] and doc["stopped"] == "silent"
    assert doc["address"] == two_routers.servers[0].v4  # the name resolved in the lab's DNS
    assert doc["last_answering_hop"]["address"] == R2_V4
    assert doc["last_answering_hop"]["ttl"] == 2
    assert [h["kind"] for h in doc["hops"][2:]] == ["silent"] * (len(doc["hops"]) - 2)
    # the text report says the same
    text = two_routers.run_client(
        ["smtpdoctor", "trace", "s1.lab.test:25", "-6", "--timeout", "0.5"]
    )
    assert text.returncode == 1
    assert f"Last answering hop: {R2_V6} (hop 2)" in text.stdout


def test_reject_at_second_router(two_routers: Lab) -> None:
    two_routers.reject_icmp(2, kind="admin-prohibited", dport=25)
    code, doc = trace(two_routers, f"{two_routers.servers[0].v4}:25")
    assert code == 1 and doc["stopped"] == "unreachable"
    last = doc["hops"][-1]
    assert (last["kind"], last["address"], last["detail"]) == ("unreachable", R2_V4, "!X")


def test_reset_counts_as_reaching_the_host(two_routers: Lab) -> None:
    code, doc = trace(two_routers, f"{two_routers.servers[0].v4}:2525")  # nothing listens
    assert code == 0 and doc["stopped"] == "reset"
    assert doc["hops"][-1]["address"] == two_routers.servers[0].v4


def test_bad_input_is_one_line(lab: Lab) -> None:
    for args in (["@lab.test"], ["s1.lab.test:99999"], ["s1.lab.test", "--max-hops", "0"],
                 ["nope.lab.test"]):  # fmt: skip
        done = lab.run_client(["smtpdoctor", "trace", *args])
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
