"""The rules across endpoints (port-25 inference, IPv4 against IPv6, MX partial), on
recorded results: exact findings and verdict per row, no sockets."""

from __future__ import annotations

import pytest

from smtpdoctor.catalogue import CauseCode as C
from smtpdoctor.diagnose.rules import diagnose
from smtpdoctor.finding import Severity, Verdict
from smtpdoctor.net.outcome import NetOp
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import PhaseStatus
from tests.diagnose.records import HEALTHY, Check, Endpoint, Step, mx_plan

E, W = Severity.ERROR, Severity.WARNING
STARTTLS = (("STARTTLS", ""),)
TIMED_OUT = (Step(Phase.CONNECT, PhaseStatus.TIMEOUT, 10000, op=NetOp.CONNECT, limit_s=10),)
CONNECTED = (Step(Phase.CONNECT),)


def ep(address: str, port: int, steps: tuple[Step, ...], **kw: object) -> Endpoint:
    return Endpoint(address, port, steps, capabilities=STARTTLS, **kw)  # type: ignore[arg-type]


ROWS: dict[str, tuple[Check, list[tuple[C, Severity, str | None, int | None]], Verdict]] = {
    "25 dropped while 587 of the same address connects: port25_blocked": (
        Check((ep("192.0.2.10", 25, TIMED_OUT), ep("192.0.2.10", 587, CONNECTED, explicit=False))),
        [(C.PORT25_BLOCKED, E, "192.0.2.10", 25)],
        Verdict.FAILED,
    ),
    "25 dropped and nothing to compare with: connect_timeout": (
        Check((ep("192.0.2.10", 25, TIMED_OUT),)),
        [(C.CONNECT_TIMEOUT, E, "192.0.2.10", 25)],
        Verdict.FAILED,
    ),
    "25 dropped after the budget ran out proves nothing about port 25": (
        Check(
            (
                ep(
                    "192.0.2.10",
                    25,
                    (
                        Step(
                            Phase.CONNECT,
                            PhaseStatus.TIMEOUT,
                            100,
                            op=NetOp.CONNECT,
                            budget_exhausted=True,
                        ),
                    ),
                ),
                ep("192.0.2.10", 587, CONNECTED, explicit=False),
            )
        ),
        [(C.CONNECT_TIMEOUT, E, "192.0.2.10", 25)],
        Verdict.FAILED,
    ),
    "IPv6 fails where IPv4 works: ipv6_broken": (
        Check(
            (ep("192.0.2.10", 25, HEALTHY), ep("2001:db8::10", 25, TIMED_OUT)),
            addresses=("192.0.2.10", "2001:db8::10"),
        ),
        [(C.CONNECT_TIMEOUT, E, "2001:db8::10", 25), (C.IPV6_BROKEN, W, "2001:db8::10", 25)],
        Verdict.DEGRADED,
    ),
    "both families fail: no ipv6_broken": (
        Check(
            (ep("192.0.2.10", 25, TIMED_OUT), ep("2001:db8::10", 25, TIMED_OUT)),
            addresses=("192.0.2.10", "2001:db8::10"),
        ),
        [(C.CONNECT_TIMEOUT, E, "192.0.2.10", 25), (C.CONNECT_TIMEOUT, E, "2001:db8::10", 25)],
        Verdict.FAILED,
    ),
    "first MX dropped, second works: mx_partial": (
        Check(
            (
                ep("192.0.2.10", 25, TIMED_OUT, host="mx1.example.net"),
                ep("192.0.2.20", 25, HEALTHY, host="mx2.example.net"),
            ),
            target="example.net",
            mx=mx_plan(
                "example.net",
                (10, "mx1.example.net", ("192.0.2.10",)),
                (20, "mx2.example.net", ("192.0.2.20",)),
            ),
            addresses=("192.0.2.10", "192.0.2.20"),
        ),
        [(C.CONNECT_TIMEOUT, E, "192.0.2.10", 25), (C.MX_PARTIAL, W, None, None)],
        Verdict.DEGRADED,
    ),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_network_rule(name: str) -> None:
    check, expected, verdict = ROWS[name]
    diagnosis = diagnose(check.record())
    got = [(f.code, f.severity, f.address, f.port) for f in diagnosis.findings]
    assert got == expected
    assert diagnosis.verdict is verdict


def test_mx_partial_says_how_late_mail_arrives() -> None:
    check, _, _ = ROWS["first MX dropped, second works: mx_partial"]
    partial = diagnose(check.record()).findings[-1]
    assert partial.subject == "example.net"
    assert partial.summary == (
        "1 of 2 MX addresses of example.net fail: an MTA with Postfix's default timeouts "
        "tries 1 failing address(es) first and reaches mx2.example.net 192.0.2.20:25 about "
        "30 s late, on every message."
    )


def test_port25_working_at_another_mx_is_not_an_outbound_block() -> None:
    """Issue 10, point 2: mx1 drops 25 (its own firewall) while its 587 answers, and mx2
    accepts 25. The 587 comparison alone would say port25_blocked; mx2 proves otherwise."""
    check = Check(
        (
            ep("192.0.2.10", 25, TIMED_OUT, host="mx1.example.net"),
            ep("192.0.2.10", 587, CONNECTED, host="mx1.example.net", explicit=False),
            ep("192.0.2.20", 25, HEALTHY, host="mx2.example.net"),
        ),
        target="example.net",
        mx=mx_plan(
            "example.net",
            (10, "mx1.example.net", ("192.0.2.10",)),
            (20, "mx2.example.net", ("192.0.2.20",)),
        ),
        addresses=("192.0.2.10", "192.0.2.20"),
    )
    diagnosis = diagnose(check.record())
    got = [(f.code, f.severity, f.address) for f in diagnosis.findings]
    assert got == [(C.CONNECT_TIMEOUT, E, "192.0.2.10"), (C.MX_PARTIAL, W, None)]
    assert diagnosis.verdict is Verdict.DEGRADED
    assert diagnosis.findings[0].evidence_lines[-1] == (
        "port 25 of mx2.example.net (192.0.2.20) connects in the same run: this machine does "
        "not block outbound port 25, so the drop is at this host or on the path to it"
    )


def test_ipv6_working_at_another_mx_points_ipv6_broken_at_that_host() -> None:
    """Issue 10, point 2's review of inferences: IPv6 to mx2 works, so mx1's IPv6 failure
    is mx1's, and the fix is not to turn this machine's IPv6 off."""
    check = Check(
        (
            ep("192.0.2.10", 25, HEALTHY, host="mx1.example.net"),
            ep("2001:db8::10", 25, TIMED_OUT, host="mx1.example.net"),
            ep("2001:db8::20", 25, HEALTHY, host="mx2.example.net"),
        ),
        target="example.net",
        mx=mx_plan(
            "example.net",
            (10, "mx1.example.net", ("192.0.2.10", "2001:db8::10")),
            (20, "mx2.example.net", ("2001:db8::20",)),
        ),
        addresses=("192.0.2.10", "2001:db8::10", "2001:db8::20"),
    )
    [broken] = [f for f in diagnose(check.record()).findings if f.code is C.IPV6_BROKEN]
    assert broken.summary.endswith(
        "IPv6 to mx2.example.net (2001:db8::20) connects in the same run, so this machine's "
        "IPv6 works: the fault is at mx1.example.net or on the path to it."
    )
    assert broken.fixes == (
        "Tell whoever runs mx1.example.net that its IPv6 address 2001:db8::10 does not answer "
        "on port 25 (or that its AAAA record should go).",
        "Find where IPv6 stops: `smtpdoctor trace [2001:db8::10]:25`.",
    )


def test_ipv6_broken_alone_suggests_the_local_workaround() -> None:
    check = Check(
        (ep("192.0.2.10", 25, HEALTHY), ep("2001:db8::10", 25, TIMED_OUT)),
        addresses=("192.0.2.10", "2001:db8::10"),
    )
    [broken] = [f for f in diagnose(check.record()).findings if f.code is C.IPV6_BROKEN]
    assert broken.fixes[0].startswith("While the IPv6 route is fixed, make Postfix prefer IPv4")
