"""`smtpdoctor check --trace` in the lab: the cause of a lost connection names the hop.

Two routers; the second one drops port 25. The TCP traceroute that `--trace` runs after
the probes must find router 2 as the last hop that answered, put it in the JSON `traces`
list and in the evidence of the cause about that address and port.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.lab.cli import check_json
from tests.lab.topology import Lab

pytestmark = pytest.mark.netns

R2 = {"IPv4": "198.51.100.18", "IPv6": "2001:db8:2::2"}
R1 = {"IPv4": "198.51.100.1", "IPv6": "2001:db8:1::1"}
FAST = ["--timeout", "connect=1.5", "--timeout", "greeting=3", "--timeout", "command=3",
        "--timeout", "resolve=3", "--helo", "client.lab.test"]  # fmt: skip


def check(lab: Lab, *args: str) -> dict[str, Any]:
    return check_json(lab, args, FAST, returncodes=(1,))[1]


@pytest.fixture
def two_routers(make_lab: Callable[..., Lab]) -> Lab:
    lab = make_lab(routers=2)
    lab.start_smtp(lab.servers[0])
    lab.drop(2, dport=25)
    return lab


def _label(address: str) -> str:
    return f"[{address}]:25" if ":" in address else f"{address}:25"


def assert_traced(doc: dict[str, Any], lab: Lab, code: str) -> None:
    server = lab.servers[0]
    traces = {t["address"]: t for t in doc["traces"]}
    assert set(traces) == {server.v4, server.v6}  # port 25 only: 587 and 465 are not traced
    for address, t in traces.items():
        family = t["family"]
        assert t["port"] == 25 and not t["reached"] and t["stopped"] == "silent"
        assert t["last_answering_hop"]["address"] == R2[family]
        assert t["last_answering_hop"]["ttl"] == 2
        assert [h["address"] for h in t["hops"][:2]] == [R1[family], R2[family]]
        [cause] = [c for c in doc["causes"] if c["code"] == code and c["address"] == address]
        # "trace to ADDR:25" (or "[ADDR]:25" for IPv6): the last hop that answered is R2
        heads = (f"trace to {address}:25: ", f"trace to {_label(address)}: ")
        found = [line for line in cause["evidence"] if line.startswith(heads)]
        assert len(found) == 1, cause["evidence"]
        assert f"the last hop that answered is {R2[family]} (hop 2)" in found[0]
        path = next(line for line in cause["evidence"] if line.startswith("path: "))
        assert path.startswith(f"path: {R1[family]} > {R2[family]} > *")


def test_trace_names_the_second_router_on_connect_timeout(two_routers: Lab) -> None:
    doc = check(two_routers, "s1.lab.test", "-p", "25", "--trace")  # nothing on 587
    assert "port25_blocked" not in {c["code"] for c in doc["causes"]}
    assert_traced(doc, two_routers, "connect_timeout")


def test_trace_names_the_second_router_on_port25_blocked(two_routers: Lab) -> None:
    two_routers.start_smtp(two_routers.servers[0], port=587)
    doc = check(two_routers, "s1.lab.test", "-p", "25", "--trace")
    assert_traced(doc, two_routers, "port25_blocked")


def test_no_trace_without_the_flag(two_routers: Lab) -> None:
    doc = check(two_routers, "s1.lab.test", "-p", "25")
    assert doc["traces"] == []
    assert not any(line.startswith("trace to ") for c in doc["causes"] for line in c["evidence"])
