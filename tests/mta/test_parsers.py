"""Pure parsers and audit rules of the mta layer, on real output formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.finding import Severity
from smtpdoctor.mta import exim_config, firewall, resolver
from smtpdoctor.mta.audit import has_ipv6_default_route
from smtpdoctor.mta.exim_queue import parse_listing
from smtpdoctor.mta.postconf import PostfixSettings, format_seconds, parse_postconf, parse_time
from smtpdoctor.mta.postfix_audit import audit_postfix, parse_relayhost
from smtpdoctor.mta.postfix_queue import QueueFormatError, parse_line, parse_lines
from smtpdoctor.mta.resources import Resources, audit_resources, read_meminfo
from smtpdoctor.mta.sendmail_queue import parse_mailq
from smtpdoctor.phases import Phase

SAMPLES = Path(__file__).parent / "samples"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

# A line as Postfix 3.7 `postqueue -j` printed it in the live tests.
POSTQUEUE_LINE = json.dumps(
    {
        "queue_name": "deferred",
        "queue_id": "A2AC820C268",
        "arrival_time": 1795821018,
        "message_size": 317,
        "forced_expire": False,
        "sender": "a@example.org",
        "recipients": [
            {
                "address": "c@example.com",
                "delay_reason": "connect to 192.0.2.7[192.0.2.7]:25: Connection timed out",
            },
            {
                "address": "b@Example.NET",
                "delay_reason": "conversation with mx.example.net[198.51.100.3] timed out "
                "while receiving the initial server greeting",
            },
            {"address": "d@example.net"},
        ],
    }
)


def test_postqueue_line_maps_reasons_to_causes() -> None:
    message = parse_line(POSTQUEUE_LINE)
    assert message.queue_id == "A2AC820C268"
    assert message.arrival == datetime.fromtimestamp(1795821018, UTC)
    first, second, third = message.recipients
    assert (first.cause, first.phase, first.relay) == (
        CauseCode.CONNECT_TIMEOUT,
        Phase.CONNECT,
        "192.0.2.7[192.0.2.7]:25",
    )
    assert second.cause is CauseCode.GREETING_TIMEOUT
    assert second.domain == "example.net"
    assert third.cause is None and third.reason == ""


def test_postqueue_garbage_is_a_clear_error() -> None:
    with pytest.raises(QueueFormatError, match="not JSON"):
        list(parse_lines(["", "postqueue: fatal: Queue report unavailable"]))


def test_exim_listing() -> None:
    messages = list(parse_listing((SAMPLES / "exim-bp.txt").read_text().splitlines(), NOW))
    assert [m.queue_id for m in messages] == [
        "1rBcDe-000Abc-Xy",
        "1rBcDf-000Abd-Zz",
        "1rBcDg-000Abe-Q1",
    ]
    first, frozen, old = messages
    assert [r.address for r in first.recipients] == ["carol@example.net", "dave@example.net"]
    assert first.size == int(2.9 * 1024)
    assert first.arrival == NOW - timedelta(minutes=25)
    assert frozen.queue_name == "frozen" and frozen.sender == ""
    assert old.size == int(1.1 * 1024 * 1024)


def test_sendmail_mailq() -> None:
    lines = (SAMPLES / "sendmail-mailq.txt").read_text().splitlines()
    first, second = parse_mailq(lines, NOW)
    assert first.recipients[0].cause is CauseCode.CONNECT_TIMEOUT
    assert first.recipients[0].relay == "mx.example.net."
    assert first.queue_name == "deferred"
    assert second.recipients[0].address == "carol@example.com"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1d", 86400), ("300", 300), ("1.5h", 5400), ("x", None)],
)
def test_postfix_time(text: str, seconds: float | None) -> None:
    assert parse_time(text) == seconds


def test_format_seconds_round_trip() -> None:
    assert format_seconds(300) == "5m" and format_seconds(30) == "30s"
    assert parse_time(format_seconds(600)) == 600


def test_postconf_lines() -> None:
    lines = ["relayhost = [192.0.2.1]:587", "postconf: warning: junk", "empty ="]
    assert parse_postconf(lines) == {"relayhost": "[192.0.2.1]:587", "empty": ""}


@pytest.mark.parametrize(
    ("value", "target", "bracketed"),
    [
        ("[192.0.2.1]:587", "192.0.2.1:587", True),
        ("relay.example.net", "relay.example.net:25", False),
        ("[relay.example.net]", "relay.example.net:25", True),
        ("[2001:db8::1]:465", "[2001:db8::1]:465", True),
    ],
)
def test_relayhost(value: str, target: str, bracketed: bool) -> None:
    relay = parse_relayhost(value)
    assert relay is not None
    assert (relay.target, relay.bracketed) == (target, bracketed)
    assert parse_relayhost("") is None


def _settings(**values: str) -> PostfixSettings:
    return PostfixSettings(values)


def test_audit_flags_short_timeouts_with_commands() -> None:
    findings = audit_postfix(
        _settings(smtp_connect_timeout="1s", smtp_data_done_timeout="120s", smtpd_timeout="300s"),
        has_ipv6_route=True,
    )
    by_subject = {f.subject: f for f in findings}
    assert by_subject["smtp_connect_timeout"].severity is Severity.ERROR
    assert by_subject["smtp_connect_timeout"].command.startswith(
        "postconf -e 'smtp_connect_timeout = 30s'"
    )
    assert by_subject["smtp_data_done_timeout"].cause is CauseCode.DATA_TIMEOUT
    assert by_subject["smtp_data_done_timeout"].recommended == "10m"
    assert "smtpd_timeout" not in by_subject


def test_audit_relay_traps() -> None:
    findings = audit_postfix(
        _settings(relayhost="[smtp.example.net]:465", smtp_tls_wrappermode="no"), True
    )
    codes = {(f.subject, f.cause) for f in findings}
    assert ("smtp_tls_wrappermode", CauseCode.TLS_MODE_MISMATCH) in codes
    assert ("smtp_fallback_relay", CauseCode.CONNECT_TIMEOUT) in codes
    ok = audit_postfix(
        _settings(relayhost="[smtp.example.net]:587", smtp_fallback_relay="[b.example]:587"), True
    )
    assert ok == []


def test_audit_ipv6_without_route() -> None:
    findings = audit_postfix(_settings(inet_protocols="all"), has_ipv6_route=False)
    assert [f.cause for f in findings] == [CauseCode.NETWORK_UNREACHABLE]
    assert audit_postfix(_settings(inet_protocols="ipv4"), has_ipv6_route=False) == []


def test_ipv6_route_table() -> None:
    default = "00000000000000000000000000000000 00 " + "0" * 32 + " 00 " + "fe80" + "0" * 28
    reject = default + " 00000400 00000001 00000000 00200200 lo"
    real = default + " 00000400 00000001 00000000 00000003 eth0"
    assert not has_ipv6_default_route(reject)
    assert has_ipv6_default_route(real)


def test_nft_rules() -> None:
    ruleset = """table inet filter {
	chain output {
		type filter hook output priority filter; policy accept;
		ip daddr 198.51.100.25 tcp dport 25 drop
		tcp dport { 465, 587 } reject with tcp reset
		tcp dport 80 drop
	}
	chain input {
		type filter hook input priority filter; policy drop;
		tcp dport 25 drop
	}
}
table ip strict {
	chain out {
		type filter hook output priority 0; policy drop;
		tcp dport 587 accept
	}
}"""
    rules = firewall.parse_nft(ruleset)
    assert [(r.ports, r.action, r.policy) for r in rules] == [
        ((25,), "drop", False),
        ((465, 587), "reject", False),
        ((25, 465), "drop", True),
    ]
    assert rules[0].text == "ip daddr 198.51.100.25 tcp dport 25 drop"


def test_iptables_rules() -> None:
    text = """-P INPUT ACCEPT
-P OUTPUT ACCEPT
-A INPUT -p tcp -m tcp --dport 25 -j DROP
-A OUTPUT -d 192.0.2.0/24 -p tcp -m tcp --dport 25 -j DROP
-A ufw-user-output -p tcp -m multiport --dports 465,587 -j REJECT
-A OUTPUT -p tcp -m tcp --dport 443 -j DROP"""
    rules = firewall.parse_iptables(text)
    assert [(r.chain, r.ports, r.action) for r in rules] == [
        ("OUTPUT", (25,), "drop"),
        ("ufw-user-output", (465, 587), "reject"),
    ]


def test_resolv_conf() -> None:
    conf = resolver.parse_resolv_conf(
        "# comment\nnameserver 192.0.2.53\nnameserver 198.51.100.53 ; x\n"
        "options timeout:3 attempts:4 rotate\nsearch example.org\n"
    )
    assert conf.nameservers == ("192.0.2.53", "198.51.100.53")
    assert (conf.timeout_s, conf.attempts, conf.rotate) == (3.0, 4, True)
    assert conf.worst_case_s == 24
    assert resolver.parse_resolv_conf("").worst_case_s == 10


def test_dead_loopback_nameserver_times_out_within_limit() -> None:
    check = resolver.query_nameserver("127.0.0.254", timeout=0.5)
    # Nothing listens there: either ICMP port unreachable (an error at once) or silence.
    assert not check.ok
    assert check.elapsed_ms < 2000


def test_exim_bp_and_audit() -> None:
    options = exim_config.parse_bp(
        [
            "driver = smtp",
            "connect_timeout = 5s",
            "command_timeout = 5m",
            "final_timeout = 1h30m",
            "no_hosts_override",
            "fallback_hosts = ",
        ]
    )
    assert options["hosts_override"] == "false"
    assert exim_config.parse_exim_time("1h30m") == 5400
    findings = exim_config.audit_transport("remote_smtp", options)
    assert [f.subject for f in findings] == ["transport remote_smtp: connect_timeout"]
    assert exim_config.audit_fallback("remote_smtp_smarthost", options, smarthost=True)
    assert not exim_config.audit_fallback("remote_smtp", options, smarthost=False)


def test_resources() -> None:
    avail, total = read_meminfo("MemTotal: 1000 kB\nMemAvailable: 10 kB\n")
    assert (avail, total) == (10240, 1024000)
    res = Resources(9.0, 2, avail, total, 1 << 20, 10, 1000)
    subjects = {f.subject for f in audit_resources(res, 10 << 20, "/var/spool/postfix")}
    assert subjects == {"load", "memory", "queue disk", "queue inodes"}
    calm = Resources(0.5, 2, total, total, 1 << 30, 900, 1000)
    assert audit_resources(calm, 10 << 20, "/q") == []
