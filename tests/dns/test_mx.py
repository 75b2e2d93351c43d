"""resolve_mx against a real dnsmasq: order, null MX, implicit MX, failures."""

from __future__ import annotations

import asyncio

from smtpdoctor.probe.dns import Nameserver, ResolverConfig
from smtpdoctor.probe.mx import MxPlan, parse_mx, resolve_mx


def plan(domain: str, config: ResolverConfig, timeout: float = 3.0) -> MxPlan:
    return asyncio.run(resolve_mx(domain, timeout=timeout, config=config))


def test_sorted_by_preference_with_addresses(zone_config: ResolverConfig) -> None:
    result = plan("lab.test", zone_config)
    assert result.status == "ok" and not result.null_mx and not result.implicit
    assert [(h.preference, h.host) for h in result.hosts] == [
        (10, "mx1.lab.test"), (20, "mx2.lab.test"), (30, "gone.lab.test"),
    ]  # fmt: skip
    assert result.hosts[0].addresses == ("192.0.2.10", "2001:db8::10")
    assert result.hosts[2].addresses == ()
    assert {q.status for q in result.hosts[2].resolve.queries} == {"nxdomain"}
    assert [a for _, a in result.addresses] == ["192.0.2.10", "2001:db8::10", "192.0.2.20"]


def test_user_at_domain_and_at_prefix(zone_config: ResolverConfig) -> None:
    assert plan("postmaster@LAB.test", zone_config).domain == "lab.test"
    assert plan("@lab.test.", zone_config).hosts[0].host == "mx1.lab.test"


def test_null_mx(zone_config: ResolverConfig) -> None:
    result = plan("nullmx.lab.test", zone_config)
    assert result.null_mx and result.hosts == ()


def test_implicit_mx_falls_back_to_the_domain(zone_config: ResolverConfig) -> None:
    result = plan("implicit.lab.test", zone_config)
    assert result.implicit and result.status == "nodata"
    assert [h.host for h in result.hosts] == ["implicit.lab.test"]
    assert result.hosts[0].addresses == ("192.0.2.12", "2001:db8::12")


def test_nxdomain_domain(zone_config: ResolverConfig) -> None:
    result = plan("nowhere.lab.test", zone_config)
    assert result.status == "nxdomain" and result.hosts == ()


def test_mx_target_without_address(zone_config: ResolverConfig) -> None:
    result = plan("noaddr-mx.lab.test", zone_config)
    assert [h.host for h in result.hosts] == ["noaddr.lab.test"]
    assert result.hosts[0].addresses == ()


def test_timeout_within_deadline(silent_server: Nameserver) -> None:
    config = ResolverConfig((silent_server,), timeout_s=0.3, attempts=3, hosts_file=None)
    result = plan("lab.test", config, timeout=0.5)
    assert result.status == "timeout" and result.elapsed_ms < 800


def test_parse_mx() -> None:
    assert parse_mx("10 MX1.Example.") == (10, "mx1.example")
    assert parse_mx("0 .") == (0, ".")
    assert parse_mx("garbage") is None
