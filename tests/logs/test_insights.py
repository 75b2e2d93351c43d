"""The pure parts added for the gaps of issue 4: the ipv6_broken rule, the year of
classic syslog stamps from a file's mtime, and Exim retry waits taking a cause."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.api import analyze, analyze_lines
from smtpdoctor.logs.families import FamilyTracker, HostFamilies, ipv6_broken
from smtpdoctor.logs.timestamps import StampParser

T0 = datetime(2026, 3, 1, 10, 0).astimezone()


def _hosts(**kw: object) -> HostFamilies:
    base: dict[str, object] = {
        "host": "mx.example.net", "port": "25", "destination": "example.net",
        "mta": "postfix", "ipv4_ok": 5, "ipv6_ok": 0, "ipv6_failed": 3,
        "ipv4_addresses": ("192.0.2.1",), "ipv6_addresses": ("2001:db8::1",),
        "ipv4_first": T0, "ipv4_last": T0 + timedelta(hours=2),
        "ipv6_first": T0 + timedelta(minutes=5), "ipv6_last": T0 + timedelta(hours=1),
    }  # fmt: skip
    base.update(kw)
    return HostFamilies(**base)  # type: ignore[arg-type]


def test_rule_fires_only_when_ipv4_works_and_ipv6_never_does() -> None:
    [hit] = ipv6_broken((_hosts(),))
    assert (hit.cause, hit.host, hit.failures, hit.successes) == (
        CauseCode.IPV6_BROKEN, "mx.example.net", 3, 5,
    )  # fmt: skip
    assert any("smtp_address_preference = ipv4" in f for f in hit.fixes)
    assert ipv6_broken((_hosts(ipv4_ok=0),)) == ()  # the host is down, not its IPv6
    assert ipv6_broken((_hosts(ipv6_ok=1),)) == ()  # IPv6 works sometimes: flaky, not broken
    later = T0 + timedelta(days=3)
    assert ipv6_broken((_hosts(ipv6_first=later, ipv6_last=later),)) == ()  # other period
    [exim] = ipv6_broken((_hosts(mta="exim"),))
    assert any("dns_ipv4_lookup = mx.example.net" in f for f in exim.fixes)


def test_tracker_counts_only_named_hosts_and_path_failures() -> None:
    t = FamilyTracker()
    t.delivered("mx.example.net[192.0.2.1]:25", T0)
    t.failed("mx.example.net[2001:db8::1]:25", CauseCode.CONNECT_TIMEOUT, T0, "example.net", "")
    t.failed("mx.example.net[2001:db8::1]:25", CauseCode.CONNECT_REFUSED, T0, "example.net", "")
    t.failed("unknown[2001:db8::2]:25", CauseCode.CONNECT_TIMEOUT, T0, "x.example", "")
    t.failed("2001:db8::3[2001:db8::3]:25", CauseCode.NETWORK_UNREACHABLE, T0, "y.example", "")
    [h] = t.snapshot()
    assert (h.host, h.ipv4_ok, h.ipv6_failed, h.ipv6_addresses) == (
        "mx.example.net", 1, 1, ("2001:db8::1",),
    )  # fmt: skip


def test_network_unreachable_on_ipv6_in_a_log() -> None:
    lines = [
        "Mar  1 10:00:01 mx postfix/smtp[7]: connect to mx.example.net[2001:db8::1]:25: "
        "Network is unreachable",
        "Mar  1 10:00:01 mx postfix/smtp[7]: 4A1B2C3D: to=<a@example.net>, "
        "relay=mx.example.net[192.0.2.1]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, "
        "status=sent (250 ok)",
    ]
    report = analyze_lines(lines)
    [hit] = report.insights
    assert hit.failed_addresses == ("2001:db8::1",) and hit.working_addresses == ("192.0.2.1",)


def test_year_from_mtime_of_an_old_rotated_log(tmp_path: Path) -> None:
    log = tmp_path / "mail.log.1"
    log.write_text(
        "Dec 30 23:59:58 mx postfix/smtp[1]: 4A1B2C3D: to=<a@b.example>, relay=none, "
        "delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to "
        "b.example[192.0.2.9]:25: Connection timed out)\n"
        "Jan  2 00:00:01 mx postfix/smtp[1]: 5A1B2C3D: to=<a@b.example>, relay=none, "
        "delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to "
        "b.example[192.0.2.9]:25: Connection timed out)\n"
    )
    written = datetime(2021, 1, 2, 6, 0).timestamp()  # rotated long ago, in January 2021
    os.utime(log, (written, written))
    report = analyze([log])
    assert report.first_seen is not None and report.last_seen is not None
    assert (report.first_seen.year, report.first_seen.month) == (2020, 12)
    assert (report.last_seen.year, report.last_seen.month) == (2021, 1)


def test_stamp_parser_reference_switches_years() -> None:
    p = StampParser(datetime(2026, 11, 27, 12, 0).astimezone())
    stamp = "Nov 20 10:00:00"
    assert (p.parse(stamp) or T0).year == 2026
    p.set_reference(datetime(2019, 2, 1).astimezone())
    assert (p.parse(stamp) or T0).year == 2018  # November is after February: the year before
    assert (p.parse("Jan 31 10:00:00") or T0).year == 2019


def test_exim_retry_wait_of_an_unseen_message_takes_the_domains_cause() -> None:
    lines = [
        "2026-11-27 10:00:00 1r5XYZ-000ABC-DE H=mx.b.example [192.0.2.7] Connection timed out",
        "2026-11-27 10:00:00 1r5XYZ-000ABC-DE == a@b.example R=dnslookup T=remote_smtp "
        "defer (110): Connection timed out",
        "2026-11-27 10:05:00 1r5XZZ-000ABC-DE == c@b.example R=dnslookup T=remote_smtp "
        "defer (-54): retry time not reached for any host for 'b.example'",
        "2026-11-27 10:06:00 1r5XQQ-000ABC-DE == d@c.example R=dnslookup T=remote_smtp "
        "defer (-53): retry time not reached",
    ]
    report = analyze_lines(lines)
    [group] = report.groups
    assert (group.cause, group.destination, group.count) == (
        CauseCode.CONNECT_TIMEOUT, "b.example", 2,
    )  # fmt: skip
    assert group.relay == "mx.b.example[192.0.2.7]"
    assert report.totals["deferred"] == 3  # c.example's wait has no known cause: no group


def _feed(t: FamilyTracker, deliveries: list[tuple[str, datetime]]) -> None:
    for relay, when in deliveries:
        t.delivered(relay, when, when.isoformat())


def test_deliveries_merged_per_host_equal_one_pass() -> None:
    # A byte range's deliveries merge per relay host (fold.merge_part): counts add,
    # times take min/max, the first eight IPv4 addresses stay in order of first use.
    deliveries = [
        (f"mx{i % 3}.example.net[192.0.2.{i % 11}]:25", T0 + timedelta(minutes=(i * 7) % 50))
        for i in range(60)
    ] + [("mx1.example.net[2001:db8::5]:25", T0), ("unknown[192.0.2.99]:25", T0)]
    fails = [f"mx{i}.example.net[2001:db8::{i + 1}]:25" for i in range(3)]

    def failing(t: FamilyTracker) -> FamilyTracker:
        for relay in fails:
            t.failed(relay, CauseCode.CONNECT_TIMEOUT, T0, "example.net", "postfix")
        return t

    one = FamilyTracker()
    _feed(one, deliveries)
    first, second = FamilyTracker(), FamilyTracker()
    _feed(first, deliveries[:25])
    _feed(second, deliveries[25:])
    first.merge_delivered(
        [
            (host, [v4, v6, when1, when2, "", "", ips])
            for host, (v4, v6, when1, when2, _, _, ips) in second.delivered_items()
        ]
    )
    merged = failing(first).snapshot()
    assert merged == failing(one).snapshot()
    by_host = {h.host: h for h in merged}
    assert by_host["mx1.example.net"].ipv6_ok == 1
    assert len(by_host["mx0.example.net"].ipv4_addresses) == 8
    assert sum(h.ipv4_ok for h in merged) == 60
