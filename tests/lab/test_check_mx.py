"""`smtpdoctor check @domain` and `user@domain` in the lab: the MX path as an MTA takes it.

The lab's dnsmasq publishes the MX records; the faults are nftables drops on the router
toward single MX hosts. Every test runs the CLI in the client namespace and asserts its
JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.lab.cli import check_json
from tests.lab.dnsmasq import Zone
from tests.lab.topology import Lab

pytestmark = pytest.mark.netns

CONNECT_CAP_S = 2.0
FAST = ["--timeout", f"connect={CONNECT_CAP_S:g}", "--timeout", "greeting=3",
        "--timeout", "command=3", "--timeout", "starttls=2", "--timeout", "resolve=3",
        "--helo", "client.lab.test"]  # fmt: skip


def check(lab: Lab, *args: str) -> tuple[int, dict[str, Any]]:
    return check_json(lab, args, FAST)


def codes(doc: dict[str, Any]) -> set[str]:
    return {c["code"] for c in doc["causes"]}


def probed(doc: dict[str, Any]) -> set[tuple[str, str]]:
    """(host, address) of every explicit endpoint."""
    return {(e["host"], e["address"]) for e in doc["endpoints"] if e["explicit"]}


def mx_zone(lab_servers: int, mx: dict[str, list[tuple[int, int]]], **kw: Any) -> Zone:
    """s1.lab.test ... with A and AAAA, and MX records naming them by server number."""
    hosts: dict[str, tuple[str, ...]] = {
        f"s{i + 1}.lab.test": (f"203.0.113.{10 + i}", f"2001:db8:3::{10 + i}")
        for i in range(lab_servers)
    }
    records = {
        domain: [(pref, f"s{n}.lab.test") for pref, n in entries] for domain, entries in mx.items()
    }
    return Zone(domain="lab.test", hosts=hosts, mx=records, **kw)


@pytest.fixture
def two_mx(make_lab: Callable[..., Lab]) -> Lab:
    """two.lab.test: MX 10 s1 (preferred), MX 20 s2 (backup); both serve port 25."""
    zone = mx_zone(2, {"two.lab.test": [(20, 2), (10, 1)]})
    lab = make_lab(servers=2, zone=zone)
    for server in lab.servers:
        lab.start_smtp(server)
    return lab


def test_preferred_mx_dropped_backup_works_is_mx_partial(two_mx: Lab) -> None:
    s1, s2 = two_mx.servers
    two_mx.drop_to(s1, dport=25)
    code, doc = check(two_mx, "@two.lab.test")
    assert code == 1 and doc["verdict"] == "degraded"
    mx = doc["mx"]
    assert (mx["domain"], mx["status"], mx["null_mx"], mx["implicit"]) == (
        "two.lab.test", "ok", False, False,
    )  # fmt: skip
    hosts = [(h["preference"], h["host"]) for h in mx["hosts"]]
    assert hosts == [(10, "s1.lab.test"), (20, "s2.lab.test")]  # preference order
    assert sorted(mx["hosts"][0]["addresses"]) == sorted([s1.v4, s1.v6])
    [partial] = [c for c in doc["causes"] if c["code"] == "mx_partial"]
    assert partial["severity"] == "warning"
    assert "2 of 4 MX addresses of two.lab.test fail" in partial["summary"]
    assert "s2.lab.test" in partial["summary"] and "late" in partial["summary"]
    # The first working address is s2's IPv4 one: A is resolved and probed before AAAA.
    assert s2.v4 in partial["summary"] and s2.v6 not in partial["summary"]
    failing = [line for line in partial["evidence"] if "connect timeout" in line]
    assert len(failing) == 2 and all(line.startswith("s1.lab.test ") for line in failing)
    assert not any("s2.lab.test" in line for line in partial["evidence"])
    # the dropped host's own causes name its addresses, port 25 only
    timeouts = {(c["address"], c["port"]) for c in doc["causes"] if c["code"] == "connect_timeout"}
    assert timeouts == {(s1.v4, 25), (s1.v6, 25)}
    assert {ep["port"] for ep in doc["endpoints"] if ep["explicit"]} == {25}


def test_healthy_mx_domain_is_ok(two_mx: Lab) -> None:
    code, doc = check(two_mx, "@two.lab.test")
    assert code == 0 and doc["verdict"] == "ok", doc["causes"]
    assert len(probed(doc)) == 4


def test_mailbox_target_is_used_in_rcpt(make_lab: Callable[..., Lab]) -> None:
    lab = make_lab(zone=mx_zone(1, {"mail.lab.test": [(10, 1)]}))
    log = lab.record_smtp(lab.servers[0])
    code, doc = check(lab, "alice@mail.lab.test", "-4")
    assert code == 0, doc["causes"]
    commands = log.read_text().splitlines()
    rcpts = [c for c in commands if c.upper().startswith("RCPT")]
    assert rcpts == ["RCPT TO:<alice@mail.lab.test>"]
    assert not any("postmaster" in c.lower() for c in commands)
    # and @domain alone asks for the domain's postmaster
    check(lab, "@mail.lab.test", "-4")
    rcpts = [c for c in log.read_text().splitlines() if c.upper().startswith("RCPT")]
    assert rcpts[-1] == "RCPT TO:<postmaster@mail.lab.test>"


def test_null_mx_fails_without_probing(lab: Lab) -> None:
    lab.start_smtp(lab.servers[0])
    code, doc = check(lab, "@nullmx.lab.test")
    assert code == 1 and doc["verdict"] == "failed"
    assert "mx_null" in codes(doc)
    assert doc["mx"]["null_mx"] is True and doc["mx"]["hosts"] == []
    assert doc["endpoints"] == []
    text = lab.run_client(["smtpdoctor", "check", "@nullmx.lab.test"]).stdout
    assert "accepts no mail (null MX)" in text.splitlines()[0], text


def test_no_mx_falls_back_to_the_domain_address(lab: Lab) -> None:
    """RFC 5321 5.1: no MX records, an A record: the domain itself is the mail host."""
    server = lab.servers[0]
    lab.start_smtp(server)
    code, doc = check(lab, "@s1.lab.test")
    assert code == 0 and doc["verdict"] == "ok", doc["causes"]
    assert doc["mx"]["implicit"] is True
    assert [(h["preference"], h["host"]) for h in doc["mx"]["hosts"]] == [(0, "s1.lab.test")]
    assert probed(doc) == {("s1.lab.test", server.v4), ("s1.lab.test", server.v6)}


def test_mx_target_without_address(make_lab: Callable[..., Lab]) -> None:
    zone = mx_zone(1, {}, txt_only=["noaddr.lab.test"])
    zone.mx["bad.lab.test"] = [(10, "noaddr.lab.test")]
    lab = make_lab(zone=zone)
    code, doc = check(lab, "@bad.lab.test")
    assert code == 1 and doc["verdict"] == "failed"
    [cause] = [c for c in doc["causes"] if c["code"] == "dns_no_address"]
    assert "noaddr.lab.test" in cause["summary"]
    assert doc["mx"]["hosts"][0]["host"] == "noaddr.lab.test"
    assert doc["mx"]["hosts"][0]["addresses"] == []
    assert doc["endpoints"] == []


def test_all_mx_dead_is_failed_within_one_connect_cap(make_lab: Callable[..., Lab]) -> None:
    """Five MX hosts, ten addresses, every SYN dropped: the probes run concurrently."""
    zone = mx_zone(5, {"dead.lab.test": [(10 * n, n) for n in range(1, 6)]})
    lab = make_lab(servers=5, zone=zone)
    lab.drop()
    code, doc = check(lab, "@dead.lab.test")
    assert code == 1 and doc["verdict"] == "failed"
    assert len(probed(doc)) == 10
    timed_out = {c["address"] for c in doc["causes"] if c["code"] == "connect_timeout"}
    assert timed_out == {a for s in lab.servers for a in (s.v4, s.v6)}
    assert "mx_partial" not in codes(doc)  # nothing works: not partial
    # one at a time this would take 10 x the cap; concurrently it is one cap
    assert doc["elapsed_ms"] < (CONNECT_CAP_S + 3) * 1000


def test_terminal_mx_table_marks_each_address(two_mx: Lab) -> None:
    s1, s2 = two_mx.servers
    two_mx.drop_to(s1, dport=25)
    done = two_mx.run_client(["smtpdoctor", "check", "@two.lab.test", *FAST])
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("DEGRADED  @two.lab.test")
    rows = [line.split() for line in lines if re.match(r"^\s+\d+\s+s\d\.lab\.test\s", line)]
    assert rows == [
        ["10", "s1.lab.test", s1.v4, "✗", s1.v6, "✗"],
        ["20", "s2.lab.test", s2.v4, "✓", s2.v6, "✓"],
    ]


def test_first_mx_drops_25_second_accepts_is_no_outbound_block(two_mx: Lab) -> None:
    """Issue 10, point 2: s1's own firewall drops port 25 while its 587 answers; s2 takes
    mail on 25. A working port 25 in the same run proves this side does not block it."""
    s1, _ = two_mx.servers
    two_mx.start_smtp(s1, port=587)
    two_mx.drop_to(s1, dport=25)
    code, doc = check(two_mx, "@two.lab.test")
    assert code == 1 and doc["verdict"] == "degraded", doc["causes"]
    assert "port25_blocked" not in codes(doc)
    timeouts = {c["address"] for c in doc["causes"] if c["code"] == "connect_timeout"}
    assert timeouts == {s1.v4, s1.v6}
    [partial] = [c for c in doc["causes"] if c["code"] == "mx_partial"]
    assert partial["severity"] == "warning"
    answered = {
        e["address"]
        for e in doc["endpoints"]
        if e["port"] == 587 and e["phases"][0]["status"] == "ok"
    }
    assert answered == {s1.v4, s1.v6}  # the 587 comparison said "block"; s2's 25 outweighs it
    for cause in doc["causes"]:
        if cause["code"] == "connect_timeout":
            assert cause["evidence"][-1].startswith("port 25 of s2.lab.test (")
