"""Parser details line by line: every Postfix phase text, OS errors, both timestamp styles.

The Postfix phase texts are the strings in Postfix 3.7's smtp binary (smtp_proto.c,
smtp_connect.c, smtp_helo): `strings /usr/lib/postfix/sbin/smtp` lists them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smtpdoctor.logs.events import EventKind, Status
from smtpdoctor.logs.parser import parse_line
from smtpdoctor.logs.timestamps import StampParser, parse_since

HEAD = "Nov 27 23:10:01 mx postfix/smtp[123]: 4ABC123: to=<u@Example.COM>, relay={relay}, "
TAIL = "delay=30, delays=0.01/0/0.5/29, dsn=4.4.2, status=deferred ({reason})"
RELAY = "mx.example.com[192.0.2.1]:25"


def _line(reason: str, relay: str = RELAY) -> str:
    return HEAD.format(relay=relay) + TAIL.format(reason=reason)


@pytest.mark.parametrize(
    ("where", "cause", "phase"),
    [
        ("receiving the initial server greeting", "greeting_timeout", "greeting"),
        ("performing the EHLO handshake", "command_timeout", "ehlo"),
        ("performing the HELO handshake", "command_timeout", "ehlo"),
        ("performing the LHLO handshake", "command_timeout", "ehlo"),
        ("receiving the STARTTLS response", "command_timeout", "starttls"),
        ("sending XFORWARD name/address", "command_timeout", "mail"),
        ("sending MAIL FROM", "command_timeout", "mail"),
        ("sending RCPT TO", "command_timeout", "rcpt"),
        ("sending DATA command", "data_timeout", "data"),
        ("sending message body", "data_timeout", "body"),
        ("sending end of data -- message may be sent more than once", "data_timeout", "eod"),
        ("sending final RSET", "command_timeout", "quit"),
        ("sending RSET probe", "command_timeout", "quit"),
        ("sending QUIT", "command_timeout", "quit"),
    ],
)
def test_postfix_phases(where: str, cause: str, phase: str) -> None:
    ev = parse_line(_line(f"conversation with {RELAY[:-3]} timed out while {where}"))
    assert ev is not None
    assert (ev.cause, ev.phase, ev.destination) == (cause, phase, "example.com")
    lost = parse_line(_line(f"lost connection with {RELAY[:-3]} while {where}"))
    assert lost is not None
    assert (lost.cause, lost.phase) == ("connection_dropped", phase)


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        ("Connection timed out", "connect_timeout"),
        ("Connection refused", "connect_refused"),
        ("No route to host", "host_unreachable"),
        ("Network is unreachable", "network_unreachable"),
    ],
)
def test_postfix_connect_errors(error: str, cause: str) -> None:
    ev = parse_line(_line(f"connect to {RELAY}: {error}", relay="none"))
    assert ev is not None
    assert (ev.cause, ev.phase, ev.relay) == (cause, "connect", RELAY)


def test_postfix_delivery_fields() -> None:
    ev = parse_line(
        "Nov 27 23:10:01 mx postfix/smtp[9]: 4ABC: to=<a@b.example>, orig_to=<x@y>, "
        "relay=mx.b.example[192.0.2.5]:25, conn_use=2, delay=1.5, delays=0.1/0.2/0.3/0.9, "
        "dsn=2.0.0, status=sent (250 2.0.0 Ok)"
    )
    assert ev is not None
    assert ev.status is Status.SENT and ev.cause is None
    assert ev.delays is not None and ev.delays.transmission == 0.9
    assert (ev.delay, ev.dsn, ev.queue_id) == (1.5, "2.0.0", "4ABC")


def test_greylisting_and_rejection() -> None:
    ev = parse_line(
        _line(
            "host mx.example.com[192.0.2.1] said: 450 4.2.0 <u@example.com>: Recipient "
            "address rejected: Greylisted (in reply to RCPT TO command)"
        )
    )
    assert ev is not None and (ev.cause, ev.phase) == ("greylisted", "rcpt")
    ev = parse_line(
        _line(
            "host mx.example.com[192.0.2.1] said: 554 5.7.1 spam (in reply to end of DATA command)"
        )
    )
    assert ev is not None and (ev.cause, ev.phase) == ("rejected", "eod")


def test_dns_and_tls() -> None:
    nx = parse_line(
        _line("Host or domain name not found. Name service error for name=nx.test type=A: "
              "Host not found", relay="none")
    )  # fmt: skip
    assert nx is not None and (nx.cause, nx.relay) == ("dns_nxdomain", "nx.test")
    tmp = parse_line(_line("Host not found, try again", relay="none"))
    assert tmp is not None and tmp.cause == "dns_timeout"
    tls = parse_line(_line("Cannot start TLS: handshake failure"))
    assert tls is not None and (tls.cause, tls.phase) == ("tls_failed", "starttls")
    # smtp_tls_security_level = verify against a certificate that does not verify
    cert = parse_line(_line("Server certificate not verified"))
    assert cert is not None and (cert.cause, cert.phase) == ("tls_cert_invalid", "starttls")


def test_server_side_timeouts() -> None:
    for prefix in ("", "4ABC: ", "NOQUEUE: "):
        ev = parse_line(
            f"Nov 27 23:10:01 mx postfix/smtpd[9]: {prefix}timeout after RCPT from "
            "client.example[203.0.113.5]"
        )
        assert ev is not None and ev.kind is EventKind.SERVER_TIMEOUT
        assert (ev.cause, ev.phase, ev.destination) == (
            "command_timeout",
            "rcpt",
            "client.example",
        )


def test_exim_id_formats() -> None:
    old = parse_line("2026-11-27 10:00:00 1r5XYZ-000ABC-DE == a@b.example R=x T=y defer (110): "
                     "Connection timed out")  # fmt: skip
    new = parse_line("2026-11-27 10:00:00.123 +0100 [4242] 1sXYZa-00000005Xy-0Ab1 == a@b.example "
                     "R=x T=y defer (111): Connection refused")  # fmt: skip
    assert old is not None and old.cause == "connect_timeout"
    assert new is not None and (new.cause, new.queue_id) == (
        "connect_refused",
        "1sXYZa-00000005Xy-0Ab1",
    )
    retry = parse_line("2026-11-27 10:00:00 1r5XYZ-000ABC-DE == a@b.example R=x defer (-53): "
                       "retry time not reached for any host for 'b.example'")  # fmt: skip
    assert retry is not None and retry.cause is None and retry.status is Status.DEFERRED


def test_uninteresting_lines_are_none() -> None:
    for line in (
        "",
        "garbage",
        "Nov 27 23:10:01 mx postfix/smtpd[1]: connect from unknown[192.0.2.9]",
        "Nov 27 23:10:01 mx kernel: status=whatever",
        "2026-11-27 10:00:00 1r5XYZ-000ABC-DE <= a@b",
    ):
        ev = parse_line(line)
        assert ev is None or ev.kind is EventKind.ARRIVAL


def test_syslog_year_inference() -> None:
    tz = UTC
    parser = StampParser(now=datetime(2027, 1, 2, 0, 0, tzinfo=tz))
    dec = parser.parse("Dec 31 23:59:59")
    assert dec is not None and dec.year == 2026  # last year's log, not next December
    jan = parser.parse("Jan  1 10:00:00.250")
    assert jan is not None and (jan.year, jan.day, jan.microsecond) == (2027, 1, 250000)
    assert parser.parse("Foo 99 xx") is None


def test_parse_since() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_since("2 days ago", now) == now - timedelta(days=2)
    assert parse_since("3h ago", now) == now - timedelta(hours=3)
    assert parse_since("yesterday", now) == datetime(2026, 11, 26, tzinfo=UTC)
    assert parse_since("2026-11-27 10:00+00:00", now).hour == 10
    with pytest.raises(ValueError, match="cannot read --since"):
        parse_since("next tuesday", now)
    with pytest.raises(ValueError, match="before the year 1"):
        parse_since("99999999999 days ago", now)
