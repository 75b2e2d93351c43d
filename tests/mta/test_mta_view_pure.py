"""doctor.mta_view and mta.postfix_jail without IO: each reason, and when none applies.

The real-Postfix versions of these cases are in tests/lab/test_doctor_mta_view.py; these
pin the rules (which evidence triggers which reason) table by table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.doctor.mta_view import MtaFailure, PostfixView, ProbeView, explain
from smtpdoctor.finding import Severity, Source
from smtpdoctor.mta.postfix_jail import (
    FileState,
    Jail,
    JailFile,
    compare_file,
    parse_services,
)

# `postconf -F` lines as Postfix 3.7 prints them for a stock Debian master.cf.
POSTCONF_F = """\
smtp/inet/service = smtp
smtp/inet/type = inet
smtp/inet/chroot = y
smtp/inet/command = smtpd
smtp/unix/service = smtp
smtp/unix/type = unix
smtp/unix/chroot = y
smtp/unix/command = smtp
relay/unix/service = relay
relay/unix/type = unix
relay/unix/chroot = -
relay/unix/command = smtp -o syslog_name=postfix/$service_name
local/unix/chroot = n
local/unix/command = local
""".splitlines()

NOT_CHROOTED = [line.replace("smtp/unix/chroot = y", "smtp/unix/chroot = n") for line in POSTCONF_F]
ROOT = Path("/var/spool/postfix")
RELAY = "relay.example.net"
DNS_FAIL = MtaFailure(
    CauseCode.DNS_TIMEOUT,
    "",
    Source.QUEUE,
    "Host or domain name not found. Name service error for name=relay.example.net type=A: "
    "Host not found, try again",
)
CONNECT_FAIL = MtaFailure(
    CauseCode.CONNECT_TIMEOUT,
    RELAY,
    Source.LOGS,
    "connect to relay.example.net[192.0.2.25]:25: Connection timed out",
)
PASSED = ProbeView(f"{RELAY}:25", RELAY, True, frozenset({"ipv4"}), tls_verified=True)
FAILED = ProbeView(f"{RELAY}:25", RELAY, False)


def jail(*files: tuple[str, FileState], services: list[str] = POSTCONF_F) -> Jail:
    return Jail(
        ROOT,
        parse_services(services, "3.7.11"),
        tuple(JailFile(Path("/") / rel, ROOT / rel, state) for rel, state in files),
    )


def view(j: Jail | None = None, **settings: str) -> PostfixView:
    return PostfixView(
        relayhost=RELAY,
        relayhost_text=f"[{RELAY}]:25",
        settings={"default_transport": "smtp", "relay_transport": "relay", **settings},
        jail=j,
    )


def test_parse_services_resolves_the_chroot_column() -> None:
    by_key = {(s.name, s.type): s for s in parse_services(POSTCONF_F, "3.7.11")}
    assert by_key[("smtp", "unix")].chroot is True
    assert by_key[("smtp", "unix")].command == "smtp"
    assert by_key[("relay", "unix")].chroot is False  # '-' is n since Postfix 3.0
    assert parse_services(POSTCONF_F, "2.11.3")[2].chroot is True  # and y before
    assert by_key[("local", "unix")].chroot is False


def test_compare_file(tmp_path: Path) -> None:
    system, copy = tmp_path / "resolv.conf", tmp_path / "jail-resolv.conf"
    assert compare_file(system, copy) is None  # nothing to copy
    system.write_text("nameserver 192.0.2.53\n")
    assert compare_file(system, copy).state is FileState.MISSING  # type: ignore[union-attr]
    copy.write_text("nameserver 192.0.2.99\n")
    assert compare_file(system, copy).state is FileState.STALE  # type: ignore[union-attr]
    copy.write_text("nameserver 192.0.2.53\n")
    assert compare_file(system, copy).state is FileState.SAME  # type: ignore[union-attr]


def test_chroot_missing_resolv_conf_explains_a_dns_failure() -> None:
    (finding,) = explain([DNS_FAIL], [PASSED], view(jail(("etc/resolv.conf", FileState.MISSING))))
    assert finding.code is CauseCode.DNS_TIMEOUT
    assert finding.severity is Severity.ERROR
    assert finding.subject == f"[{RELAY}]:25"
    assert "/etc/resolv.conf is missing" in finding.summary
    assert finding.fixes[0] == (
        "mkdir -p /var/spool/postfix/etc && cp -p /etc/resolv.conf /var/spool/postfix/etc/"
        " && postfix reload"
    )
    assert [e.source for e in finding.evidence] == [Source.CONFIG, Source.QUEUE, Source.PROBE]


@pytest.mark.parametrize(
    ("failures", "probes", "j", "why"),
    [
        ([DNS_FAIL], [FAILED], jail(("etc/resolv.conf", FileState.MISSING)), "probe fails too"),
        ([], [PASSED], jail(("etc/resolv.conf", FileState.MISSING)), "the MTA reports nothing"),
        ([DNS_FAIL], [PASSED], jail(("etc/resolv.conf", FileState.SAME)), "the copy is current"),
        (
            [DNS_FAIL],
            [PASSED],
            jail(
                ("etc/resolv.conf", FileState.MISSING),
                services=NOT_CHROOTED,
            ),
            "smtp is not chrooted",
        ),
        (
            [CONNECT_FAIL],
            [PASSED],
            jail(("etc/resolv.conf", FileState.MISSING)),
            "a connect failure is not the resolver's",
        ),
    ],
)
def test_no_chroot_reason(
    failures: list[MtaFailure], probes: list[ProbeView], j: Jail, why: str
) -> None:
    assert explain(failures, probes, view(j)) == (), why


def test_capath_missing_in_the_jail_explains_a_certificate_failure() -> None:
    tls = MtaFailure(
        CauseCode.TLS_CERT_INVALID, RELAY, Source.LOGS, "certificate verification failed"
    )
    j = Jail(
        ROOT,
        parse_services(POSTCONF_F, "3.7.11"),
        (JailFile(Path("/etc/ssl/certs"), ROOT / "etc/ssl/certs", FileState.MISSING),),
    )
    (finding,) = explain([tls], [PASSED], view(j, smtp_tls_CApath="/etc/ssl/certs"))
    assert finding.code is CauseCode.TLS_CERT_INVALID
    assert "smtp_tls_CApath /etc/ssl/certs does not exist" in finding.summary


@pytest.mark.parametrize(
    ("inet_protocols", "works", "expected"),
    [
        ("ipv4", {"ipv6"}, True),
        ("ipv6", {"ipv4"}, True),
        ("all", {"ipv6"}, False),
        ("ipv4, ipv6", {"ipv6"}, False),
        ("ipv4", {"ipv4", "ipv6"}, False),
    ],
)
def test_inet_protocols(inet_protocols: str, works: set[str], expected: bool) -> None:
    probe = ProbeView(f"{RELAY}:25", RELAY, True, frozenset(works))
    found = explain([CONNECT_FAIL], [probe], view(inet_protocols=inet_protocols))
    assert bool(found) is expected
    if expected:
        assert f"(inet_protocols = {inet_protocols})" in found[0].summary


def test_bind_address_only_when_it_is_local() -> None:
    local = PostfixView(
        RELAY, f"[{RELAY}]:25", {"smtp_bind_address": "192.0.2.5"},
        local_addresses=frozenset({"192.0.2.5"}),
    )  # fmt: skip
    (finding,) = explain([CONNECT_FAIL], [PASSED], local)
    assert finding.code is CauseCode.CONNECT_TIMEOUT
    assert "Postfix sends from 192.0.2.5 (smtp_bind_address)" in finding.summary
    not_local = PostfixView(RELAY, f"[{RELAY}]:25", {"smtp_bind_address": "192.0.2.5"})
    assert explain([CONNECT_FAIL], [PASSED], not_local) == ()


def test_another_network_namespace() -> None:
    other = PostfixView(
        RELAY, f"[{RELAY}]:25", {}, mta_netns="mailns", own_netns="net:[4026531840]"
    )
    (finding,) = explain([DNS_FAIL], [PASSED], other)
    assert finding.severity is Severity.WARNING
    assert "(mailns)" in finding.summary


def test_transport_map_sends_elsewhere() -> None:
    elsewhere = MtaFailure(
        CauseCode.CONNECT_REFUSED, "192.0.2.99", Source.QUEUE, "connect to 192.0.2.99: refused"
    )
    maps = view(transport_maps="hash:/etc/postfix/transport")
    (finding,) = explain([elsewhere], [PASSED], maps)
    assert finding.subject == "192.0.2.99"
    assert "transport_maps = hash:/etc/postfix/transport" in finding.summary
    assert explain([elsewhere], [PASSED], view()) == ()  # no map: not this reason


@pytest.mark.parametrize(
    ("preference", "works", "expected"),
    [
        ("ipv6", {"ipv4"}, "IPv6 first"),
        ("any", {"ipv4"}, "IPv6 first in about half of the attempts"),
        ("ipv4", {"ipv4"}, None),
        ("ipv4", {"ipv6"}, "IPv4 first"),
        ("ipv6", {"ipv4", "ipv6"}, None),
    ],
)
def test_address_preference(preference: str, works: set[str], expected: str | None) -> None:
    failing = frozenset({"ipv4", "ipv6"} - works)
    probe = ProbeView(f"{RELAY}:25", RELAY, True, frozenset(works), failing)
    found = explain(
        [CONNECT_FAIL], [probe], view(inet_protocols="all", smtp_address_preference=preference)
    )
    if expected is None:
        assert found == ()
    else:
        (finding,) = found
        assert finding.severity is Severity.WARNING
        assert f"Postfix tries {expected} (smtp_address_preference = {preference})" in (
            finding.summary
        )


def test_address_preference_needs_the_other_family_to_fail() -> None:
    """A relay with no IPv6 address at all: IPv6 is absent, not broken."""
    probe = ProbeView(f"{RELAY}:25", RELAY, True, frozenset({"ipv4"}))
    assert explain([CONNECT_FAIL], [probe], view(smtp_address_preference="ipv6")) == ()
