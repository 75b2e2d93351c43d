"""OpenSMTPD's `smtp-out:` failure lines, its 5.x `relay: RESULT for` and 2012
`EVPID: to=..., stat=` status lines, and how the failure lines join the status lines.

The lines marked "real" are from tests/data/logs/opensmtpd-issues.log (OpenSMTPD issues
#1263, #1191, #446, #639, #195, #84, #546, #541, #410; sources in tests/data/README.md).
The few lines written here follow the formats of mta.c / mta_session.c (mta_log(),
mta_error()) where no published log has the shape.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smtpdoctor.logs import parallel
from smtpdoctor.logs.aggregate import Aggregator
from smtpdoctor.logs.api import analyze, analyze_lines
from smtpdoctor.logs.events import EventKind, Status
from smtpdoctor.logs.model import LogReport
from smtpdoctor.logs.opensmtpd import NO_SESSION
from smtpdoctor.logs.parser import parse_line

CORPUS = Path(__file__).resolve().parents[1] / "data" / "logs" / "opensmtpd-issues.log"
REAL = CORPUS.read_text().splitlines()


def real(number: int) -> str:
    """Line `number` (1-based) of the corpus file."""
    return REAL[number - 1]


# --- smtp-out: lines -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "cause", "relay", "destination"),
    [
        (4, "dns_nxdomain", "AllStar", "allstar"),  # 6.x, #1263
        (6, "dns_timeout", "gmail.com", "gmail.com"),  # 6.x, #1191
        (20, "dns_no_address", "mysmtp.local", "mysmtp.local"),  # 5.x, #639 ("[relay:...,mx]")
    ],
)
def test_failed_mx_lookup_is_a_failure_of_the_zero_session(
    number: int, cause: str, relay: str, destination: str
) -> None:
    ev = parse_line(real(number))
    assert ev is not None
    assert ev.kind is EventKind.FAILURE
    assert (ev.cause, ev.phase) == (cause, "resolve")
    # mta_flush() logs the envelopes of a relay whose lookup failed with session 0
    assert (ev.pid, ev.queue_id) == (NO_SESSION, "")
    assert (ev.relay, ev.destination) == (relay, destination)


def test_error_on_session_names_its_session() -> None:
    ev = parse_line(real(17))  # 5.x, #446
    assert ev is not None
    assert ev.kind is EventKind.FAILURE
    assert (ev.cause, ev.phase) == ("connection_dropped", None)
    assert ev.pid == ev.queue_id == "69738a26af1c7fa5"
    assert ev.detail == "Connection closed unexpectedly"


def test_error_after_messages_sent() -> None:
    # mta_error() of 5.x and 6.x once the session has delivered something
    ev = parse_line(
        "Nov 27 10:00:00 mx smtpd[7]: smtp-out: Error on session 69738a26af1c7fa5 after 2 "
        "messages sent: IO Error: Connection reset by peer"
    )
    assert ev is not None
    assert (ev.kind, ev.cause, ev.pid) == (
        EventKind.FAILURE,
        "connection_dropped",
        "69738a26af1c7fa5",
    )


@pytest.mark.parametrize(
    "line",
    [
        # the opportunistic TLS downgrade of mta_session.c: the session goes on in plain text
        "Nov 27 10:00:00 mx smtpd[7]: smtp-out: Error on session 69738a26af1c7fa5: "
        "opportunistic TLS failed, downgrading to plain",
        real(15),  # smtp-out: Connecting to ... on session ...
        real(16),  # smtp-out: Connected on session ...
        real(18),  # smtp-out: Disabling route ...
        real(26),  # delivery: Ok for ... (a local delivery, not outbound)
    ],
)
def test_smtp_out_notes_are_not_events(line: str) -> None:
    assert parse_line(line) is None


# --- 5.x and 2012 status lines ---------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "status", "cause", "phase", "destination", "relay", "delay", "session"),
    [
        (19, Status.DEFERRED, "dns_no_address", "resolve", "example.com", "mysmtp.local",
         1 * 86400 + 4 * 3600 + 26 * 60 + 40, NO_SESSION),
        # program 'transfer', no session= (5.3 leaves out session 0); spamd's greylisting
        (23, Status.DEFERRED, "greylisted", None, "xxx.org", "mx1.poolp.org[88.190.237.114]",
         12, NO_SESSION),
        (25, Status.DEFERRED, "remote_error", None, "example.com", "localhost[127.0.0.1]",
         6 * 60 + 41, "a6ee64ec089bf84f"),
        (27, Status.BOUNCED, "recipient_unknown", None, "darkmail.mx", "localhost[127.0.0.1]",
         0, "7818378a988ca63b"),
        (28, Status.SENT, None, None, "[10.9.4.144]", "example.com[10.9.4.144]", 1,
         "ffffffffdd2e7424"),
    ],
)  # fmt: skip
def test_5x_relay_lines(
    number: int,
    status: Status,
    cause: str | None,
    phase: str | None,
    destination: str,
    relay: str,
    delay: float,
    session: str,
) -> None:
    ev = parse_line(real(number))
    assert ev is not None
    assert (ev.kind, ev.mta, ev.status) == (EventKind.DELIVERY, "opensmtpd", status)
    assert (ev.cause, ev.phase) == (cause, phase)
    assert (ev.destination, ev.relay, ev.delay, ev.pid) == (destination, relay, delay, session)
    assert ev.queue_id == real(number).split(" for ", 1)[1][:8]


def test_the_2012_status_line() -> None:
    ev = parse_line(real(24))  # #84: the reply code was cut off, 5.5.1 is left
    assert ev is not None
    assert (ev.kind, ev.status, ev.cause, ev.phase) == (
        EventKind.DELIVERY,
        Status.BOUNCED,
        "rejected",
        None,
    )
    assert (ev.destination, ev.relay, ev.delay) == (
        "t41.locb.fries.net",
        "2001:470:ba0a::6c[2001:470:ba0a::6c]",
        1.0,
    )
    assert (ev.queue_id, ev.detail) == ("c30ebb44", "5.5.1 Polite people say HELO first")


@pytest.mark.parametrize(
    ("stat", "status", "cause"),
    [
        # mta_session.c of 2012: "600 Domain does not exist" and "100 MX lookup failed
        # temporarily" logged as LocalError without their code
        ("LocalError (Domain does not exist)", Status.BOUNCED, "dns_nxdomain"),
        ("LocalError (MX lookup failed temporarily)", Status.DEFERRED, "dns_timeout"),
        ("RemoteError (4.2.2 Mailbox full)", Status.DEFERRED, "mailbox_full"),
        ("Sent (2.0.0 Ok: queued as 4ABC)", Status.SENT, None),
    ],
)
def test_2012_status_words(stat: str, status: Status, cause: str | None) -> None:
    ev = parse_line(
        "Sep 23 06:05:34 mx smtpd[20370]: c30ebb44ba62a49d: to=<u@example.com>, delay=3, "
        f"relay=mx.example.com [192.0.2.5], stat={stat}"
    )
    assert ev is not None
    assert (ev.status, ev.cause, ev.relay, ev.delay) == (
        status,
        cause,
        "mx.example.com[192.0.2.5]",
        3.0,
    )


# --- joins: one failure is counted once ------------------------------------------------


def _groups(report: LogReport) -> set[tuple[str, str, str, int]]:
    return {(g.cause.value, g.destination, g.relay, g.count) for g in report.groups}


def _every_path(lines: list[str], tmp_path: Path) -> list[LogReport]:
    """The report line by line (analyze_lines), in one block (Aggregator.feed_chunks:
    scanned for needles first) and from a file (analyze)."""
    block = Aggregator()
    block.feed_chunks(["".join(line + "\n" for line in lines)])
    path = tmp_path / "maillog"
    path.write_text("".join(line + "\n" for line in lines))
    return [analyze_lines(lines), block.report(), analyze([path], parallel=False)]


def test_mx_failure_and_its_delivery_line_count_once(tmp_path: Path) -> None:
    for report in _every_path([real(4), real(5)], tmp_path):  # #1263: the pair as logged
        assert _groups(report) == {("dns_nxdomain", "allstar", "AllStar", 1)}
        assert report.totals["failed_attempts"] == 0
        assert report.totals["bounced"] == 1


def test_temporary_mx_failure_and_its_delivery_line_count_once(tmp_path: Path) -> None:
    for report in _every_path([real(6), real(7)], tmp_path):  # #1191
        assert [g.count for g in report.groups] == [1]
        assert report.groups[0].cause == "dns_timeout"
        assert report.totals["deferred"] == 1


@pytest.mark.parametrize("number", [4, 6, 17])
def test_a_failure_line_alone_counts_once(number: int, tmp_path: Path) -> None:
    for report in _every_path([real(number)], tmp_path):
        assert [g.count for g in report.groups] == [1]


def test_one_mx_failure_for_two_envelopes_counts_each_envelope(tmp_path: Path) -> None:
    second = real(5).replace("cc77361c8b347a7f", "0d27c25c19a7d5a1")
    for report in _every_path([real(4), real(5), second], tmp_path):
        assert _groups(report) == {("dns_nxdomain", "allstar", "AllStar", 2)}


def test_two_relays_failing_one_after_the_other_count_once_each(tmp_path: Path) -> None:
    # Every relay's lookup failure shares session 0: each pair still counts once.
    # #1191 as logged, before GitHub rendered its addresses as "[<a@b>](mailto:a@b)"
    gmail = re.sub(r"\[(<[^>]*>)\]\(mailto:[^)]*\)", r"\1", real(7))
    assert "to=<datagenius@gmail.com> " in gmail
    for report in _every_path([real(6), gmail, real(4), real(5)], tmp_path):
        assert _groups(report) == {
            ("dns_timeout", "gmail.com", "gmail.com", 1),
            ("dns_nxdomain", "allstar", "AllStar", 1),
        }


def test_interleaved_zero_session_failures_keep_their_own_destinations(
    tmp_path: Path,
) -> None:
    """Two relays' lookups fail before either's status line is written: both failures
    are held under session 0. The AllStar status line repeats its own failure (counted
    once) and leaves the gmail.com one held (it is another destination's), which its
    own status line then repeats: each failure once, under its own destination."""
    gmail = re.sub(r"\[(<[^>]*>)\]\(mailto:[^)]*\)", r"\1", real(7))
    for report in _every_path([real(6), real(4), real(5), gmail], tmp_path):
        assert _groups(report) == {
            ("dns_timeout", "gmail.com", "gmail.com", 1),
            ("dns_nxdomain", "allstar", "AllStar", 1),
        }


def test_5x_session_error_and_its_relay_line_count_once(tmp_path: Path) -> None:
    # mta_error() flushes the session's task with the error text (5.4 mta_log() format)
    relay = (
        "Apr 25 06:41:25 leki smtpd[29104]: relay: TempFail for 84f9ea7ac3c7c4b4: "
        "session=69738a26af1c7fa5, from=<a@example.org>, to=<b@gmx.net>, rcpt=<->, "
        "source=-, relay=213.165.67.97 (mx01.emig.gmx.net), delay=2s, "
        "stat=Connection closed unexpectedly"
    )
    for report in _every_path([real(17), relay], tmp_path):
        assert _groups(report) == {
            ("connection_dropped", "gmx.net", "mx01.emig.gmx.net[213.165.67.97]", 1)
        }


@pytest.mark.parametrize("session", ["session=0000000000000000, ", ""])
def test_5x_mx_failure_and_its_relay_line_count_once(session: str, tmp_path: Path) -> None:
    # #639's two lines as one attempt writes them (the issue quotes two attempts, the
    # status line of the earlier first); 5.3 leaves session 0 out of the status line.
    status = real(19).replace("session=0000000000000000, ", session)
    for report in _every_path([real(20), status], tmp_path):
        assert _groups(report) == {("dns_no_address", "example.com", "mysmtp.local", 1)}


def test_workers_join_the_pairs_across_their_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2,000 lookup failures with their status lines and 500 session errors without
    # one, cut into ranges that split pairs: the parallel report is the one-pass one.
    lines = []
    for n in range(2000):
        domain = f"d{n % 40}.example"
        lines.append(real(6).replace("gmail.com", domain))
        lines.append(
            re.sub(r"\[(<[^>]*>)\]\(mailto:[^)]*\)", r"\1", real(7))
            .replace("gmail.com", domain)
            .replace("32d4773f133f952b", f"{n:08x}33f952b0")
        )
        if n % 4 == 0:
            lines.append(real(17).replace("69738a26af1c7fa5", f"{n:016x}"))
    path = tmp_path / "maillog"
    path.write_text("".join(line + "\n" for line in lines))
    monkeypatch.setattr(parallel, "MIN_SIZE", 0)
    monkeypatch.setattr(parallel, "RANGE_SIZE", 20_000)
    assert parallel.worth_it(path)
    assert len(parallel.ranges(path)) > 10
    one, many = analyze([path], parallel=False), analyze([path])
    assert many.groups == one.groups
    assert many.totals == one.totals
    counts: dict[str, int] = {}
    for g in one.groups:
        counts[g.cause.value] = counts.get(g.cause.value, 0) + g.count
    assert counts == {"dns_timeout": 2000, "connection_dropped": 500}
