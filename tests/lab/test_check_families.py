"""`check -4` / `-6` with a dual-stack name in the lab: only that family is probed.

s1.lab.test has an A and an AAAA record (dnsmasq in the lab); badsmtp listens on both
addresses, ports 25 and 587. Every test runs the CLI in the client namespace.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.lab.cli import check_json
from tests.lab.topology import Lab

pytestmark = pytest.mark.netns

FAST = ["--timeout", "connect=2", "--timeout", "greeting=3", "--timeout", "command=3",
        "--timeout", "resolve=3", "--helo", "client.lab.test"]  # fmt: skip


def check(lab: Lab, *args: str) -> tuple[int, dict[str, Any]]:
    return check_json(lab, args, FAST)


def endpoints(doc: dict[str, Any]) -> set[tuple[str, str, int, bool]]:
    """(family, address, port, explicit) of every endpoint, follow-up probes included."""
    return {(e["family"], e["address"], e["port"], e["explicit"]) for e in doc["endpoints"]}


@pytest.fixture
def dual(lab: Lab) -> Lab:
    server = lab.servers[0]
    lab.start_smtp(server)
    lab.start_smtp(server, port=587)
    return lab


@pytest.mark.parametrize("flag", ["-4", "-6"])
def test_one_family_probes_only_its_addresses(dual: Lab, flag: str) -> None:
    s1 = dual.servers[0]
    family, address = ("IPv4", s1.v4) if flag == "-4" else ("IPv6", s1.v6)
    code, doc = check(dual, "s1.lab.test", "-p", "25", flag)
    assert code == 0 and doc["verdict"] == "ok", doc["causes"]
    probed = endpoints(doc)
    assert {(f, a, p) for f, a, p, explicit in probed if explicit} == {(family, address, 25)}
    # the follow-up connect-only probes (587, 465) stay in the family too
    assert {f for f, _, _, _ in probed} == {family}
    assert {a for _, a, _, _ in probed} == {address}
    other = s1.v6 if flag == "-4" else s1.v4
    assert other not in json.dumps(doc["endpoints"])


def test_one_family_does_not_hide_the_others_fault(dual: Lab) -> None:
    """IPv6 dropped: -4 is ok (it never tries IPv6), no flag is ipv6_broken."""
    s1 = dual.servers[0]
    dual.drop(dport=25, family=6)
    code, doc = check(dual, "s1.lab.test:25", "-4")
    assert code == 0 and doc["verdict"] == "ok", doc["causes"]
    assert {e["address"] for e in doc["endpoints"] if e["explicit"]} == {s1.v4}
    code, doc = check(dual, "s1.lab.test:25")
    assert code == 1 and doc["verdict"] == "degraded"
    assert "ipv6_broken" in {c["code"] for c in doc["causes"]}


def test_dual_stack_name_shows_both_families(dual: Lab) -> None:
    s1 = dual.servers[0]
    code, doc = check(dual, "s1.lab.test:25")
    assert code == 0 and doc["verdict"] == "ok", doc["causes"]
    explicit = {(f, a) for f, a, _, e in endpoints(doc) if e}
    assert explicit == {("IPv4", s1.v4), ("IPv6", s1.v6)}
    assert sorted(doc["resolve"]["addresses"]) == sorted([s1.v4, s1.v6])
    text = dual.run_client(["smtpdoctor", "check", "s1.lab.test:25", *FAST]).stdout
    assert s1.v4 in text and s1.v6 in text, text


def test_six_on_a_v4_only_name_is_dns_no_address(dual: Lab) -> None:
    code, doc = check(dual, "v4only.lab.test:25", "-6")
    assert code == 1 and doc["verdict"] == "failed"
    assert [c["code"] for c in doc["causes"] if c["severity"] == "error"] == ["dns_no_address"]
    assert doc["endpoints"] == []
