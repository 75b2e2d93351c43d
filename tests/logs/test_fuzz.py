"""No input crashes the parsers or the aggregator (hypothesis)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpdoctor.logs import parser, postfix
from smtpdoctor.logs.aggregate import Aggregator
from smtpdoctor.logs.parser import parse_block, parse_line
from smtpdoctor.logs.syslog import MONTHS, header_fields
from smtpdoctor.logs.timestamps import StampParser, parse_since

# Fragments real lines are made of, so the fuzzer reaches deep into every parser.
FRAGMENTS = st.sampled_from(
    [
        "Nov 27 23:10:01 mx postfix/smtp[1]: ",
        "2026-11-27T23:10:01+00:00 mx postfix/smtpd[2]: ",
        "2026-11-27 23:10:01 ",
        "1r5XYZ-000ABC-DE ",
        "Nov 27 23:10:01 mx sendmail[3]: ",
        "Nov 27 23:10:01 mx smtpd[4]: ",
        "4ABC: ", "to=<a@b.c>, ", "relay=none, ", "relay=h[1.2.3.4]:25, ", "delay=1, ",
        "delays=1/2/3/4, ", "dsn=4.4.1, ", "status=deferred ", "status=sent ", "(", ")",
        "connect to h[1.2.3.4]:25: Connection timed out", "conversation with h[1.2.3.4] ",
        "timed out while ", "lost connection with ", "sending RCPT TO", "said: 450 ",
        "(in reply to RCPT TO command)", "== ", "=> ", "** ", "defer (110): ", "defer (-53)",
        "H=h [1.2.3.4]: ", "SMTP timeout after ", "timeout after DATA from h[1.2.3.4]",
        "stat=Deferred: ", "timeout waiting for input from h during client MAIL",
        " mta delivery ", " mta error reason=", 'result="TempFail" stat="x"', "Completed",
        "Nov 27 23:10:01 mx transfer[5]: ", "smtp-out: Failed to resolve MX for [relay:",
        "smtp-out: Error on session ", "relay: TempFail for 0123456789abcdef: ", ", stat=",
        "0123456789abcdef: to=<a@b.c>, ", "RemoteError (", ": Cannot send message for ",
        ": removed", "SSL_connect error to h[1.2.3.4]:25: timeout", "Name service error ",
        "name=x type=A: Host not found", "[", "]", ":", " ", "\x00", "\ufffd", "é",
        # Postfix per-attempt lines after a queue ID, and other daemons' headers.
        "A0F7BE2AA5: ", "host h[1.2.3.4] ", "refused to talk to me: 554 ",
        "SASL authentication failed; ", "certificate verification failed for ",
        "Server certificate not verified", "Nov 27 23:10:01 mx postfix/qmgr[6]: ",
        "Nov 27 23:10:01 mx postfix-out/smtp[7]: ", "Nov 27 23:10:01 mx postfix/cleanup[8]: ",
        "Nov 27 23:10:01 mx mail.info postfix/smtp[9]: ", "mail system is down",
        "<22>1 2026-11-27T23:10:01Z mx postfix/smtp 10 - - ", "authenticator failed H=",
        "Nov 27 23:10:01 mx sm-mta[11]: ", "Nov 27 23:10:01 mx exim[12]: ",
    ]
)  # fmt: skip
LINES = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=12)), max_size=25).map("".join),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_parse_line_never_raises(line: str) -> None:
    event = parse_line(line)
    if event is not None:
        assert event.raw == line or event.mta in ("exim",)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=40))
def test_aggregator_never_raises(lines: list[str]) -> None:
    agg = Aggregator(max_messages=5, max_groups=5)
    for line in lines:
        agg.feed_line(line)
    report = agg.report()
    assert report.totals["lines"] == len(lines)
    # The cap holds: at most 5 groups with their own key, the rest in "(other)".
    assert sum(1 for g in report.groups if g.destination != "(other)") <= 5


@settings(max_examples=1500, deadline=None)
@given(LINES)
def test_the_needles_only_skip_lines_no_parser_finds_an_event_in(line: str) -> None:
    # A line without a word of an MTA it could be from is not handed to any parser:
    # handed to its parser all the same, it gives nothing either.
    line = line.replace("\n", " ").replace("\r", " ")
    assert parse_line(line) == parser._parse(line, gated=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=30), st.booleans())
def test_a_block_gives_the_events_of_its_lines(lines: list[str], crlf: bool) -> None:
    lines = [ln.replace("\n", " ").replace("\r", " ") for ln in lines]
    end = "\r\n" if crlf else "\n"
    one_by_one = [ev for ev in map(parse_line, lines) if ev is not None]
    assert parse_block("".join(ln + end for ln in lines)) == one_by_one


@settings(max_examples=200, deadline=None)
@given(st.lists(LINES, max_size=30), st.lists(st.integers(1, 400), min_size=1, max_size=10))
def test_blocks_and_lines_agree(lines: list[str], cuts: list[int]) -> None:
    # Reading in arbitrary chunks reports what line by line reports.
    lines = [ln.replace("\n", " ").replace("\r", " ") for ln in lines]
    text = "".join(ln + "\n" for ln in lines)
    chunks, pos = [], 0
    for size in cuts * 50:
        if pos >= len(text):
            break
        chunks.append(text[pos : pos + size])
        pos += size
    chunks.append(text[pos:])
    by_line, by_block = Aggregator(), Aggregator()
    for ln in lines:
        by_line.feed_line(ln)
    by_block.feed_chunks(chunks, block_size=64)
    a, b = by_line.report(), by_block.report()
    assert a.totals == b.totals
    assert a.groups == b.groups
    assert a.messages == b.messages


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.builds(
            lambda n, u: f"{n} {u} ago",
            st.integers(0, 10**15),
            st.sampled_from(["s", "m", "min", "h", "hours", "d", "days", "w", "weeks"]),
        ),
    )
)
def test_since_is_a_date_or_a_value_error(text: str) -> None:
    try:
        result = parse_since(text)
    except ValueError:
        return
    assert result.tzinfo is not None


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_stamps_never_raise(stamp: str) -> None:
    result = StampParser().parse(stamp)
    assert result is None or result.tzinfo is not None


@settings(max_examples=1000, deadline=None)
@given(LINES, LINES, st.sampled_from(["", *MONTHS]))
def test_the_usual_month_only_saves_work(before: str, line: str, month: str) -> None:
    # header_fields looks for the block's usual month first: the fields it finds in a
    # line read in place in a block must be the ones it finds with no month given.
    before, line = before.replace("\n", " "), line.replace("\n", " ")
    block = f"{before}\n{line}\nNov 27 10:00:00 mx postfix/smtp[1]: after\n"
    start = len(before) + 1
    stop = start + len(line)
    assert header_fields(block, start, stop, month) == header_fields(block, start, stop)


DAEMONS = [
    "smtp", "smtpd", "qmgr", "cleanup", "lmtp", "smtps", "postscreen", "error", "retry",
    "discard", "virtual", "local", "pipe", "submission", "pickup", "bounce", "smtp2",
    "smtpdx", "qmgrr", "cleanupx", "SMTP", "qmg", "",
]  # fmt: skip


@given(
    st.one_of(st.sampled_from(DAEMONS), st.text(alphabet="smtpdqgrcleanu[/", max_size=9)),
    st.booleans(),
)
def test_a_daemon_is_told_by_its_whole_name(daemon: str, with_pid: bool) -> None:
    # _kind tells the usual daemons by a find in place, the others by a lookup: both
    # must name the same kind as the lookup of the whole name.
    tag = f"postfix/{daemon}" + ("[42]" if with_pid else "")
    line = f"Nov 27 23:10:01 mx {tag}: message"
    colon = line.index(": ", 16)
    bracket, slash = parser._tag(line, 18, colon)
    expected = parser._DAEMON_KINDS.get(parser._daemon(line, slash, bracket, colon), 4)
    assert parser._kind(line, slash, bracket, colon) == expected


BRACKETS = re.compile(r"\[[^\]\s]*\]")
ANGLES = re.compile(r"<[^<>\s]*>")


@settings(max_examples=3000)
@given(st.text(alphabet="[]<> a\t\u00a0\x1cx1.:@", max_size=24))
def test_variable_parts_are_blanked_as_the_regular_expressions_say(text: str) -> None:
    # The cache key of a reason (postfix._split_host) blanks [address] and <address>:
    # the loop that does it must agree with the patterns it replaced.
    assert postfix._blanked(text, "[", "]", nested=True) == BRACKETS.sub("\x00", text)
    assert postfix._blanked(text, "<", ">", nested=False) == ANGLES.sub("\x00", text)
