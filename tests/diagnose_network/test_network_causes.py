"""network_causes over constructed CheckResults: pure, no IO."""

from __future__ import annotations

import socket
from dataclasses import replace

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.network import network_causes
from smtpdoctor.finding import Severity
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import (
    CheckResult,
    EndpointResult,
    PhaseResult,
    PhaseStatus,
    ReferenceHost,
    ResolveResult,
    TlsMode,
)
from smtpdoctor.probe.timeouts import Timeouts

OK = PhaseStatus.OK
TIMEOUT = PhaseStatus.TIMEOUT


def ep(
    address: str,
    port: int,
    *phases: tuple[Phase, PhaseStatus, float],
    host: str = "mx.lab.test",
    explicit: bool = True,
    **kw: object,
) -> EndpointResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return EndpointResult(
        host=host, address=address, family=family, port=port, tls_mode=TlsMode.STARTTLS,
        phases=tuple(PhaseResult(p, s, ms, limit_s=5.0) for p, s, ms in phases),
        transcript=(), explicit=explicit, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


GOOD = ((Phase.CONNECT, OK, 1.0), (Phase.GREETING, OK, 2.0), (Phase.EHLO, OK, 1.0))
CONNECT_TIMEOUT = ((Phase.CONNECT, TIMEOUT, 5000.0),)
CONNECTED = ((Phase.CONNECT, OK, 1.0),)


def check(*endpoints: EndpointResult, reference: str | None = None) -> CheckResult:
    return CheckResult(
        target="mx.lab.test", host="mx.lab.test", ports=(25,),
        resolve=ResolveResult("mx.lab.test", ("192.0.2.10", "2001:db8::10")),
        endpoints=endpoints, timeouts=Timeouts.quick(), budget_s=30.0,
        started_at="2026-01-01T00:00:00+00:00", elapsed_ms=5000.0,
        reference=ReferenceHost(reference, ()) if reference else None,
    )  # fmt: skip


def codes(result: CheckResult) -> list[CauseCode]:
    return [c.code for c in network_causes(result)]


def test_healthy_check_has_no_network_cause() -> None:
    assert network_causes(check(ep("192.0.2.10", 25, *GOOD), ep("2001:db8::10", 25, *GOOD))) == []


def test_ipv6_broken() -> None:
    result = check(ep("192.0.2.10", 25, *GOOD), ep("2001:db8::10", 25, *CONNECT_TIMEOUT))
    [cause] = network_causes(result)
    assert cause.code is CauseCode.IPV6_BROKEN and cause.severity is Severity.WARNING
    assert (cause.address, cause.port, cause.phase) == ("2001:db8::10", 25, Phase.CONNECT)
    assert "connect timeout after 5000 ms" in cause.summary and "192.0.2.10" in cause.summary
    assert "without fallback never deliver" in cause.summary
    assert cause.evidence_lines[0].startswith("IPv4 192.0.2.10:25: connect ok")
    assert cause.evidence_lines[1].startswith(
        "IPv6 [2001:db8::10]:25: connect timeout after 5000 ms"
    )
    assert "smtp_address_preference = ipv4" in cause.fixes[0]
    assert "inet_protocols = ipv4" in cause.fixes[0]
    assert "smtpdoctor trace [2001:db8::10]:25" in cause.fixes[1]


def test_ipv6_broken_needs_working_ipv4_and_all_ipv6_failing() -> None:
    both_bad = check(
        ep("192.0.2.10", 25, *CONNECT_TIMEOUT), ep("2001:db8::10", 25, *CONNECT_TIMEOUT)
    )
    assert codes(both_bad) == []
    one_v6_works = check(
        ep("192.0.2.10", 25, *GOOD), ep("2001:db8::10", 25, *CONNECT_TIMEOUT),
        ep("2001:db8::11", 25, *GOOD),
    )  # fmt: skip
    assert codes(one_v6_works) == []
    other_port = check(ep("192.0.2.10", 587, *GOOD), ep("2001:db8::10", 25, *CONNECT_TIMEOUT))
    assert codes(other_port) == []
    v4_only = check(ep("192.0.2.10", 25, *GOOD))
    assert codes(v4_only) == []


def test_ipv6_broken_any_failure() -> None:
    stalled = ((Phase.CONNECT, OK, 1.0), (Phase.GREETING, TIMEOUT, 5000.0))
    result = check(ep("192.0.2.10", 25, *GOOD), ep("2001:db8::10", 25, *stalled))
    [cause] = network_causes(result)
    assert cause.code is CauseCode.IPV6_BROKEN and cause.phase is Phase.GREETING


def test_port25_blocked_by_own_submission_port() -> None:
    result = check(
        ep("192.0.2.10", 25, *CONNECT_TIMEOUT),
        ep("192.0.2.10", 587, *CONNECTED, explicit=False),
        ep("192.0.2.10", 465, *CONNECT_TIMEOUT, explicit=False),
    )
    [cause] = network_causes(result)
    assert cause.code is CauseCode.PORT25_BLOCKED and cause.severity is Severity.ERROR
    assert (cause.address, cause.port, cause.phase) == ("192.0.2.10", 25, Phase.CONNECT)
    assert "port 587 of the same address connects" in cause.summary
    assert "outbound port-25" in cause.summary
    assert cause.fixes[0] == "Find where the packets stop: `smtpdoctor trace 192.0.2.10:25`."
    assert "Port 587 of this host answers" in cause.fixes[1]
    assert any("nft list ruleset" in f for f in cause.fixes)  # the catalogue's firewall listing


def test_port25_not_blocked_when_nothing_else_answers() -> None:
    result = check(
        ep("192.0.2.10", 25, *CONNECT_TIMEOUT),
        ep("192.0.2.10", 587, *CONNECT_TIMEOUT, explicit=False),
        ep("192.0.2.10", 465, (Phase.CONNECT, PhaseStatus.REFUSED, 1.0), explicit=False),
    )
    assert codes(result) == []


def test_port25_other_address_does_not_count() -> None:
    result = check(ep("192.0.2.10", 25, *CONNECT_TIMEOUT), ep("192.0.2.99", 587, *CONNECTED))
    assert codes(result) == []


def test_port25_budget_exhaustion_is_not_a_block() -> None:
    exhausted = EndpointResult(
        host="mx.lab.test", address="192.0.2.10", family=socket.AF_INET, port=25,
        tls_mode=TlsMode.STARTTLS, transcript=(),
        phases=(PhaseResult(Phase.CONNECT, TIMEOUT, 100.0, budget_exhausted=True),),
    )  # fmt: skip
    assert codes(check(exhausted, ep("192.0.2.10", 587, *CONNECTED, explicit=False))) == []


def test_port25_blocked_confirmed_by_reference_timing_out_too() -> None:
    result = check(
        ep("192.0.2.10", 25, *CONNECT_TIMEOUT),
        ep(
            "198.51.100.25",
            25,
            *CONNECT_TIMEOUT,
            host="ref.lab.test",
            explicit=False,
            reference=True,
        ),
        reference="ref.lab.test",
    )
    [cause] = network_causes(result)
    assert cause.code is CauseCode.PORT25_BLOCKED
    assert "reference host ref.lab.test" in cause.summary
    assert any(
        line.startswith("reference ref.lab.test: IPv4 198.51.100.25:25")
        for line in cause.evidence_lines
    )


def test_reference_connecting_means_no_outbound_block() -> None:
    result = check(
        ep("192.0.2.10", 25, *CONNECT_TIMEOUT),
        ep("198.51.100.25", 25, *CONNECTED, host="ref.lab.test", explicit=False, reference=True),
        reference="ref.lab.test",
    )
    assert codes(result) == []
    with_587 = check(
        ep("192.0.2.10", 25, *CONNECT_TIMEOUT),
        ep("192.0.2.10", 587, *CONNECTED, explicit=False),
        ep("198.51.100.25", 25, *CONNECTED, host="ref.lab.test", explicit=False, reference=True),
        reference="ref.lab.test",
    )
    # The reference's port 25 connects: this side does not block 25, whatever 587 says.
    assert codes(with_587) == []


def test_reference_endpoints_never_get_their_own_causes() -> None:
    result = check(
        ep("192.0.2.10", 25, *GOOD),
        ep(
            "198.51.100.25",
            25,
            *CONNECT_TIMEOUT,
            host="ref.lab.test",
            explicit=True,
            reference=True,
        ),
        ep("198.51.100.25", 587, *CONNECTED, host="ref.lab.test", explicit=True, reference=True),
        reference="ref.lab.test",
    )
    assert codes(result) == []


STALL = ((Phase.CONNECT, OK, 1.0), (Phase.GREETING, OK, 2.0), (Phase.EHLO, OK, 1.0),
         (Phase.STARTTLS, TIMEOUT, 5000.0))  # fmt: skip


def test_mtu_blackhole() -> None:
    clamped = ep("192.0.2.10", 25, *GOOD, (Phase.STARTTLS, OK, 12.0), explicit=False, mss=536)
    result = check(ep("192.0.2.10", 25, *STALL, retry_with_clamped_mss=clamped))
    [cause] = network_causes(result)
    assert cause.code is CauseCode.MTU_BLACKHOLE and cause.severity is Severity.ERROR
    assert (cause.phase, cause.port) == (Phase.STARTTLS, 25)
    assert "STARTTLS handshake" in cause.summary and "MSS clamped to 536" in cause.summary
    assert "after connect, greeting, ehlo passed" in cause.summary
    assert cause.evidence_lines[1].startswith("retry: IPv4 192.0.2.10:25 (MSS clamped to 536)")
    assert any("maxseg size set rt mtu" in f for f in cause.fixes)


def test_no_mtu_blackhole_when_the_retry_also_stalls_or_is_missing() -> None:
    still = ep("192.0.2.10", 25, *STALL, explicit=False, mss=536)
    assert codes(check(ep("192.0.2.10", 25, *STALL, retry_with_clamped_mss=still))) == []
    assert codes(check(ep("192.0.2.10", 25, *STALL))) == []
    refused = ((Phase.CONNECT, OK, 1.0), (Phase.TLS, PhaseStatus.TLS_ERROR, 3.0))
    ok_retry = ep("192.0.2.10", 465, (Phase.CONNECT, OK, 1.0), (Phase.TLS, OK, 5.0), mss=536)
    assert codes(check(ep("192.0.2.10", 465, *refused, retry_with_clamped_mss=ok_retry))) == []


def test_mtu_blackhole_on_implicit_tls() -> None:
    stall = ((Phase.CONNECT, OK, 1.0), (Phase.TLS, TIMEOUT, 5000.0))
    retry = ep("192.0.2.10", 465, (Phase.CONNECT, OK, 1.0), (Phase.TLS, OK, 9.0), mss=536)
    [cause] = network_causes(
        check(replace(ep("192.0.2.10", 465, *stall), retry_with_clamped_mss=retry))
    )
    assert cause.code is CauseCode.MTU_BLACKHOLE and "TLS handshake" in cause.summary
