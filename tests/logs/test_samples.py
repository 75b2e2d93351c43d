"""Formats that cannot be produced here (see samples/README.md for each one's source)."""

from __future__ import annotations

from pathlib import Path

from smtpdoctor.logs.api import analyze

SAMPLES = Path(__file__).parent / "samples"


def _groups(name: str) -> set[tuple[str, str | None, str, str, str]]:
    report = analyze([SAMPLES / name])
    return {(g.cause, g.phase, g.destination, g.relay, g.direction) for g in report.groups}


def test_sendmail() -> None:
    # The `timeout waiting for input` line and the stat= line after it are one failure.
    assert _groups("sendmail.log") == {
        ("connect_timeout", "connect", "slow.example.net", "mx.slow.example.net[192.0.2.10]",
         "outbound"),
        ("command_timeout", "mail", "slow.example.net", "mx.slow.example.net[192.0.2.10]",
         "outbound"),
        ("connect_refused", "connect", "refuse.example.com",
         "mx.refuse.example.com[198.51.100.7]", "outbound"),
        ("data_timeout", "eod", "", "mx.eod.example.com", "outbound"),
    }  # fmt: skip


def test_opensmtpd() -> None:
    # `mta error` and the `mta delivery` line of the same session are one failure.
    assert _groups("opensmtpd.log") == {
        ("connect_timeout", "connect", "quiet.example.org", "mx.quiet.example.org[192.0.2.44]",
         "outbound"),
        ("greylisted", None, "grey.example.com", "mx.grey.example.com[203.0.113.5]", "outbound"),
    }  # fmt: skip
    report = analyze([SAMPLES / "opensmtpd.log"])
    assert report.totals["deliveries"] == 1


def test_postfix_before_delays_field() -> None:
    report = analyze([SAMPLES / "postfix-2.2.log"])
    assert {(g.cause, g.phase) for g in report.groups} == {
        ("connect_timeout", "connect"),
        ("data_timeout", "body"),
    }
    m = report.messages
    assert (m.tracked, m.delivered_after_retry, m.max_attempts) == (1, 1, 3)
    assert m.worst[0].delay == 1231.0
    assert m.worst[0].outcome == "delivered"


def test_postfix_rfc3339_and_server_side() -> None:
    found = {(g.cause, g.phase, g.destination, g.direction) for g in analyze(
        [SAMPLES / "postfix-rfc3339.log"]).groups}  # fmt: skip
    assert found == {
        ("tls_failed", "starttls", "tls.example.com", "outbound"),
        ("dns_timeout", "resolve", "dns.example.com", "outbound"),
        ("server_busy", "greeting", "busy.example.com", "outbound"),
        ("command_timeout", "ehlo", "helo.example.com", "outbound"),
        ("host_unreachable", "connect", "gone.example.com", "outbound"),
        ("data_timeout", "body", "client.example.net", "inbound"),
        ("command_timeout", "rcpt", "client.example.net", "inbound"),
        ("greeting_timeout", "greeting", "203.0.113.51", "inbound"),
        ("recipient_unknown", "rcpt", "bounce.example.com", "outbound"),
    }


def test_rfc3339_offsets_are_kept() -> None:
    report = analyze([SAMPLES / "postfix-rfc3339.log"])
    assert report.first_seen is not None
    assert report.first_seen.utcoffset() is not None
    assert report.first_seen.isoformat().startswith("2026-11-27T12:00:00.123456+01:00")
