"""resolve_host against a real dnsmasq and real misbehaving servers on loopback."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path

from smtpdoctor.probe.dns import (
    Nameserver,
    ResolverConfig,
    final_queries,
    lookup_hosts_file,
    parse_resolv_conf,
    resolve_host,
)
from smtpdoctor.probe.results import ResolveResult


def resolve(name: str, config: ResolverConfig, timeout: float = 3.0, **kw: object) -> ResolveResult:
    return asyncio.run(resolve_host(name, timeout=timeout, config=config, **kw))  # type: ignore[arg-type]


def statuses(result: ResolveResult) -> dict[str, str]:
    return {t: q.status for t, q in final_queries(result.queries).items()}


def test_both_families(zone_config: ResolverConfig) -> None:
    result = resolve("mx1.lab.test", zone_config)
    assert result.addresses == ("192.0.2.10", "2001:db8::10")
    assert statuses(result) == {"A": "ok", "AAAA": "ok"}
    assert not result.is_literal
    ns = zone_config.nameservers[0].label
    assert result.nameservers == (ns,)
    assert all(q.nameserver == ns and q.elapsed_ms >= 0 for q in result.queries)


def test_family_order_and_filter(zone_config: ResolverConfig) -> None:
    both = resolve("mx1.lab.test", zone_config, families=(socket.AF_INET6, socket.AF_INET))
    assert both.addresses == ("2001:db8::10", "192.0.2.10")
    v6 = resolve("mx1.lab.test", zone_config, families=(socket.AF_INET6,))
    assert v6.addresses == ("2001:db8::10",)
    assert [q.rdtype for q in v6.queries] == ["AAAA"]


def test_nodata_for_one_family(zone_config: ResolverConfig) -> None:
    result = resolve("v4only.lab.test", zone_config)
    assert result.addresses == ("192.0.2.11",)
    assert statuses(result) == {"A": "ok", "AAAA": "nodata"}


def test_nxdomain(zone_config: ResolverConfig) -> None:
    result = resolve("missing.lab.test", zone_config)
    assert result.addresses == ()
    assert statuses(result) == {"A": "nxdomain", "AAAA": "nxdomain"}


def test_name_without_address(zone_config: ResolverConfig) -> None:
    result = resolve("noaddr.lab.test", zone_config)
    assert result.addresses == ()
    assert statuses(result) == {"A": "nodata", "AAAA": "nodata"}


def test_literals_skip_dns(silent_server: Nameserver) -> None:
    config = ResolverConfig((silent_server,), timeout_s=5.0)
    for name, address in [("192.0.2.7", "192.0.2.7"), ("[2001:db8::7]", "2001:db8::7"),
                          ("2001:DB8::7", "2001:db8::7")]:  # fmt: skip
        result = resolve(name, config)
        assert result.is_literal and result.addresses == (address,) and result.queries == ()


def test_hosts_file_first(tmp_path: Path, silent_server: Nameserver) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("# comment\n192.0.2.99 relay.lab.test relay\n2001:db8::99 relay.lab.test\n")
    config = ResolverConfig((silent_server,), timeout_s=5.0, hosts_file=hosts)
    start = time.monotonic()
    result = resolve("RELAY.lab.test.", config)
    assert time.monotonic() - start < 1.0  # DNS (silent) was never asked
    assert result.addresses == ("192.0.2.99", "2001:db8::99")
    assert all("hosts" in q.detail for q in result.queries)
    assert lookup_hosts_file("localhost", tmp_path / "missing") == ("127.0.0.1", "::1")
    assert lookup_hosts_file("other.lab.test", hosts) is None


def test_timeout_names_each_nameserver_and_respects_deadline(silent_server: Nameserver) -> None:
    other = Nameserver(silent_server.address, silent_server.port + 1)
    config = ResolverConfig((silent_server, other), timeout_s=0.4, attempts=2, hosts_file=None)
    start = time.monotonic()
    result = resolve("mx1.lab.test", config, timeout=1.0)
    took = time.monotonic() - start
    assert 0.9 < took < 1.4
    assert result.addresses == ()
    a_tries = [q for q in result.queries if q.rdtype == "A"]
    assert [q.nameserver for q in a_tries] == [
        silent_server.label,
        other.label,
        silent_server.label,
    ]
    assert [q.status for q in a_tries] == ["timeout"] * 3
    assert 350 < a_tries[0].elapsed_ms < 600
    assert a_tries[2].elapsed_ms < 300  # the last try got only what was left of the deadline


def test_servfail_then_next_nameserver(
    stub_server: Callable[..., Nameserver], dnsmasq_server: Nameserver
) -> None:
    bad = stub_server("servfail")
    config = ResolverConfig((bad, dnsmasq_server), timeout_s=1.0, attempts=1, hosts_file=None)
    result = resolve("mx2.lab.test", config)
    assert result.addresses == ("192.0.2.20",)
    a_tries = [(q.nameserver, q.status) for q in result.queries if q.rdtype == "A"]
    assert a_tries == [(bad.label, "servfail"), (dnsmasq_server.label, "ok")]


def test_servfail_and_refused_only(stub_server: Callable[..., Nameserver]) -> None:
    for mode in ("servfail", "refused"):
        config = ResolverConfig((stub_server(mode),), timeout_s=1.0, attempts=1, hosts_file=None)
        result = resolve("mx1.lab.test", config)
        assert result.addresses == ()
        assert statuses(result) == {"A": mode, "AAAA": mode}


def test_slow_answer_is_timed(stub_server: Callable[..., Nameserver]) -> None:
    config = ResolverConfig((stub_server("slow", 0.6),), timeout_s=2.0, attempts=1, hosts_file=None)
    result = resolve("mx1.lab.test", config)
    assert result.addresses == ("192.0.2.10", "2001:db8::10")
    assert all(600 <= q.elapsed_ms < 1500 for q in result.queries)
    assert result.elapsed_ms < 1500  # A and AAAA ran concurrently, not one after the other


def test_unreachable_nameserver_is_an_error_not_an_exception() -> None:
    # A closed port on loopback answers ICMP port-unreachable, which dnspython's unconnected
    # UDP socket never sees: the query is recorded as a timeout, never raised.
    config = ResolverConfig((Nameserver("127.0.0.1", 9),), timeout_s=1.0, attempts=1,
                            hosts_file=None)  # fmt: skip
    result = resolve("mx1.lab.test", config)
    assert result.addresses == ()
    assert {q.status for q in result.queries} == {"timeout"}


def test_invalid_name_is_an_error() -> None:
    config = ResolverConfig((Nameserver("127.0.0.1", 9),), hosts_file=None)
    result = resolve("a" * 70 + ".lab.test", config)
    assert result.addresses == ()
    assert {q.status for q in result.queries} == {"error"}


def test_parse_resolv_conf() -> None:
    cfg = parse_resolv_conf(
        "# generated\nsearch lab.test\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\n"
        "nameserver bogus\nnameserver 198.51.100.53 # second\nnameserver 203.0.113.53\n"
        "options timeout:1 attempts:3 rotate ndots:2\n"
    )
    assert [n.address for n in cfg.nameservers] == ["192.0.2.53", "fe80::1", "198.51.100.53"]
    assert (cfg.timeout_s, cfg.attempts, cfg.rotate) == (1.0, 3, True)
    empty = parse_resolv_conf("")
    assert [n.address for n in empty.nameservers] == ["127.0.0.1"]
    assert (empty.timeout_s, empty.attempts) == (5.0, 2)
