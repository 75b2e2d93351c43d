"""OpenSMTPD's outbound lines as the releases wrote them: 6.0's `mta event=error`, the
later `mta error`, a line whose session id was lost, and the DNS failures of mta.c.

The `event=error` and id-less lines are real (tests/data/logs/opensmtpd-issues.log,
from OpenSMTPD issues 739 and 793 and the ircnow.org troubleshooting page); the
delivery lines follow mta.c's format with the failure texts of mta_on_mx().
"""

from __future__ import annotations

import pytest

from smtpdoctor.logs.events import EventKind, Status
from smtpdoctor.logs.parser import parse_line

DELIVERY = (
    "Oct 10 06:41:03 mx smtpd[1920451]: 0000000000000000 mta delivery "
    'evpid=cc77361c8b347a7f from=<root@example.org> to=<user@example.com> rcpt=<-> source="-" '
    'relay="example.com" delay=0s result="{result}" stat="{stat}"'
)


@pytest.mark.parametrize(
    ("line", "session", "cause", "phase"),
    [
        (
            "Nov 14 10:17:18 belisama smtpd[60430]: 668e74d30f550dee mta event=error "
            "reason=Connection timeout",
            "668e74d30f550dee",
            "connect_timeout",
            "connect",
        ),
        (
            "Jun 25 17:02:12 smhost smtpd[3122]: 2fe76864626d3773 mta event=error "
            "reason=IO Error: No route to host",
            "2fe76864626d3773",
            "host_unreachable",
            "connect",
        ),
        (
            "Nov 27 10:00:07 mx smtpd[]: mta error reason=Connection timeout",
            "",
            "connect_timeout",
            "connect",
        ),
        (
            "Nov 27 10:00:07 mx smtpd[7]: 4b3a6c195c1f6010 mta error "
            "reason=IO Error: Connection reset by peer",
            "4b3a6c195c1f6010",
            "connection_dropped",
            None,
        ),
    ],
)
def test_mta_error_lines(line: str, session: str, cause: str, phase: str | None) -> None:
    ev = parse_line(line)
    assert ev is not None
    assert ev.kind is EventKind.FAILURE
    assert (ev.cause, ev.phase) == (cause, phase)
    assert (ev.queue_id, ev.pid) == (session, session)


@pytest.mark.parametrize(
    ("result", "stat", "status", "cause"),
    [
        ("PermFail", "Domain does not exist", Status.BOUNCED, "dns_nxdomain"),
        # DNS_ENOTFOUND: the domain exists but publishes no MX
        ("TempFail", "No MX found for domain", Status.DEFERRED, "dns_no_address"),
        ("PermFail", "Domain does not accept mail", Status.BOUNCED, "mx_null"),
        ("TempFail", "Temporary failure in MX lookup", Status.DEFERRED, "dns_timeout"),
    ],
)
def test_dns_failures_of_mta_on_mx(result: str, stat: str, status: Status, cause: str) -> None:
    ev = parse_line(DELIVERY.format(result=result, stat=stat))
    assert ev is not None
    assert (ev.status, ev.cause, ev.phase) == (status, cause, "resolve")
    assert ev.destination == "example.com"


def test_the_6_0_delivery_line() -> None:
    # vedetta-com/caesonia's README (tests/data/logs/opensmtpd-caesonia.log)
    ev = parse_line(
        "Mar 22 17:56:37 mercury smtpd[45037]: 8f4864084ecc48f4 mta event=delivery "
        "evpid=7077717e797a776e from=<puffy@example.com> to=<bill@hotmail.com> rcpt=<-> "
        'source="203.0.113.1" relay="104.47.38.33 (104.47.38.33)" delay=1s result="PermFail" '
        "stat=\"550 5.7.1 Unfortunately, messages from [203.0.113.1] weren't sent. Please contact "
        "your Internet service provider since part of their network is on our block list "
        '(AS3150)."'
    )
    assert ev is not None
    assert (ev.kind, ev.status, ev.cause) == (EventKind.DELIVERY, Status.BOUNCED, "blocklisted")
    assert (ev.destination, ev.relay, ev.delay) == (
        "hotmail.com",
        "104.47.38.33[104.47.38.33]",
        1.0,
    )


def test_a_session_line_without_reason_is_not_an_error() -> None:
    assert (
        parse_line("Feb 17 16:00:02 obsd-test smtpd[74143]: f63245cd0d08e264 mta connected") is None
    )
