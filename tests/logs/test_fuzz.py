"""No input crashes the parsers or the aggregator (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpdoctor.logs.aggregate import Aggregator
from smtpdoctor.logs.parser import parse_line

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
        ": removed", "SSL_connect error to h[1.2.3.4]:25: timeout", "Name service error ",
        "name=x type=A: Host not found", "[", "]", ":", " ", "\x00", "\ufffd", "é",
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
    assert len(report.groups) <= 5 + 40  # the cap plus one "(other)" bucket per key kind
