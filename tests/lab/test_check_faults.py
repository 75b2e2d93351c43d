"""`smtpdoctor check` run as a CLI in the client namespace against real faults.

Each test builds a fault on a router (or in DNS), runs check with short limits and
asserts the causes in its JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.lab.bigcert import make_big_cert
from tests.lab.cli import check_json
from tests.lab.topology import Lab

pytestmark = pytest.mark.netns

# --helo: without it check asks libc for this machine's FQDN, which waits on a slow DNS.
FAST = ["--timeout", "connect=1.5", "--timeout", "greeting=3", "--timeout", "command=3",
        "--timeout", "starttls=2", "--timeout", "resolve=3",
        "--helo", "client.lab.test"]  # fmt: skip


def check(lab: Lab, *args: str) -> dict[str, Any]:
    return check_json(lab, args, FAST)[1]


def causes(doc: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    """(code, address) -> cause."""
    return {(c["code"], c["address"]): c for c in doc["causes"]}


def codes(doc: dict[str, Any]) -> set[str]:
    return {c["code"] for c in doc["causes"]}


def test_healthy_server_has_no_network_cause(lab: Lab) -> None:
    lab.start_smtp(lab.servers[0])
    doc = check(lab, "s1.lab.test", "-p", "25")
    assert doc["verdict"] == "ok", doc["causes"]


def test_syn_dropped_is_connect_timeout(lab: Lab) -> None:
    lab.start_smtp(lab.servers[0])
    lab.drop()  # every TCP port: no port25_blocked, just silence
    doc = check(lab, "s1.lab.test", "-p", "25")
    found = causes(doc)
    assert doc["verdict"] == "failed"
    for address in (lab.servers[0].v4, lab.servers[0].v6):
        cause = found[("connect_timeout", address)]
        assert cause["phase"] == "connect" and cause["port"] == 25
    assert "port25_blocked" not in codes(doc)


def test_tcp_reset_is_connect_refused(lab: Lab) -> None:
    lab.start_smtp(lab.servers[0])
    lab.reject_reset(dport=25)
    doc = check(lab, "s1.lab.test", "-p", "25")
    assert {("connect_refused", lab.servers[0].v4), ("connect_refused", lab.servers[0].v6)} <= set(
        causes(doc)
    )
    assert doc["elapsed_ms"] < 1000  # a reset answers at once


@pytest.mark.parametrize("kind", ["host-unreachable", "admin-prohibited"])
def test_icmp_unreachable_is_host_unreachable(lab: Lab, kind: str) -> None:
    lab.start_smtp(lab.servers[0])
    lab.reject_icmp(kind=kind, dport=25)
    doc = check(lab, "s1.lab.test", "-p", "25")
    found = causes(doc)
    assert ("host_unreachable", lab.servers[0].v4) in found
    assert ("host_unreachable", lab.servers[0].v6) in found
    assert doc["elapsed_ms"] < 1000


def test_no_route_is_network_unreachable(lab: Lab) -> None:
    lab.start_smtp(lab.servers[0])
    lab.no_route(4)
    doc = check(lab, f"{lab.servers[0].v4}:25")
    assert ("network_unreachable", lab.servers[0].v4) in causes(doc)


def test_port25_dropped_while_587_answers(lab: Lab) -> None:
    server = lab.servers[0]
    lab.start_smtp(server)
    lab.start_smtp(server, port=587)
    lab.drop(dport=25)
    doc = check(lab, "s1.lab.test", "-p", "25")
    found = causes(doc)
    for address in (server.v4, server.v6):
        cause = found[("port25_blocked", address)]
        assert "587" in cause["summary"]
        assert any("587" in line and "connect ok" in line for line in cause["evidence"])
        assert ("connect_timeout", address) not in found  # explained by the block


def test_ipv6_dropped_ipv4_fine_is_ipv6_broken(lab: Lab) -> None:
    server = lab.servers[0]
    lab.start_smtp(server)
    lab.drop(family=6)
    doc = check(lab, "s1.lab.test", "-p", "25")
    cause = causes(doc)[("ipv6_broken", server.v6)]
    assert server.v4 in cause["summary"]
    assert any(line.startswith("IPv4") for line in cause["evidence"])
    assert any(line.startswith("IPv6") and "timeout" in line for line in cause["evidence"])
    assert any("smtp_address_preference = ipv4" in f for f in cause["fix"])
    assert doc["verdict"] == "degraded"


@pytest.mark.parametrize("family", [4, 6])
def test_mtu_blackhole_confirmed_by_clamped_mss(lab: Lab, tmp_path: Path, family: int) -> None:
    cert = make_big_cert(tmp_path)
    server = lab.servers[0]
    lab.start_smtp(server, extra=["--cert", str(cert.chain), "--key", str(cert.key)])
    lab.mtu_blackhole(mtu=1280)
    doc = check(lab, "s1.lab.test", "-p", "25", f"-{family}", "--cafile", str(cert.ca))
    address = server.v4 if family == 4 else server.v6
    cause = causes(doc)[("mtu_blackhole", address)]
    assert cause["phase"] == "starttls"
    assert "MSS clamped to" in cause["summary"]
    endpoint = next(e for e in doc["endpoints"] if e["address"] == address and e["explicit"])
    phases = {p["phase"]: p["status"] for p in endpoint["phases"]}
    assert phases["greeting"] == "ok" and phases["starttls"] == "timeout"
    assert ("tls_handshake_timeout", address) not in causes(doc)  # explained by the blackhole


def test_dns_nxdomain(lab: Lab) -> None:
    doc = check(lab, "missing.lab.test", "-p", "25")
    assert codes(doc) == {"dns_nxdomain"}


def test_dns_no_address(lab: Lab) -> None:
    doc = check(lab, "noaddr.lab.test", "-p", "25")
    assert codes(doc) == {"dns_no_address"}


def test_dns_timeout_names_the_resolver(lab: Lab) -> None:
    lab.block_dns()
    doc = check(lab, "s1.lab.test", "-p", "25")
    [cause] = [c for c in doc["causes"] if c["code"] == "dns_timeout"]
    assert "203.0.113.53" in cause["summary"]
    assert any(line.startswith("nameserver 203.0.113.53: ") for line in cause["evidence"])


def test_dns_servfail(lab: Lab) -> None:
    lab.dns_stub("servfail")
    doc = check(lab, "s1.lab.test", "-p", "25")
    assert "dns_servfail" in codes(doc)


def test_dns_slow(lab: Lab) -> None:
    lab.start_smtp(lab.servers[0])
    lab.dns_stub("slow", delay=1.2)
    lab.set_resolvers(["203.0.113.54"], options="timeout:3 attempts:1")
    doc = check(lab, "s1.lab.test", "-p", "25")
    [cause] = [c for c in doc["causes"] if c["code"] == "dns_slow"]
    assert "threshold 1000 ms" in cause["summary"]
    assert doc["verdict"] == "degraded"
