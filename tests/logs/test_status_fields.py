"""The status-line reader (logs/postfix.status_fields, str.find in place) against the
grammar of Postfix's `status=` lines written as a regular expression: the reader
the parser used before, kept here as the specification."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdoctor.logs.postfix import status_fields

GRAMMAR = re.compile(
    r"(?P<qid>[0-9A-Za-z]+): to=<?(?P<to>[^>,]*)>?,(?: orig_to=<?[^>,]*>?,)?"
    r" relay=(?P<relay>[^,]*),(?: conn_use=\d+,)? delay=(?P<delay>[\d.]+),"
    r"(?: delays=(?P<delays>[\d.]+/[\d.]+/[\d.]+/[\d.]+),)?"
    r"(?: dsn=(?P<dsn>[\d.]+),)? status=(?P<status>\w+)(?: \((?P<reason>.*)\))?"
)
DATA = Path(__file__).resolve().parents[1] / "data" / "logs"


def _expected(text: str) -> tuple[object, ...] | None:
    m = GRAMMAR.match(text)
    if m is None:
        return None
    qid, to, relay, delay, delays, dsn, status, reason = m.groups()
    try:  # numbers the grammar admits but that are not numbers ("1.2.3"): no event
        number = float(delay)
        parts = None if delays is None else tuple(float(x) for x in delays.split("/"))
    except ValueError:
        return None
    return qid, to, relay, number, parts, dsn, status, reason


def _got(text: str) -> tuple[object, ...] | None:
    got = status_fields(text, 0)
    if got is None:
        return None
    qid, to, relay, delay, delays, dsn, status, reason = got
    return qid, to, relay, delay, None if delays is None else tuple(delays), dsn, status, reason


def test_real_status_lines_read_as_the_grammar_says() -> None:
    checked = 0
    for path in DATA.iterdir():
        for line in path.read_text().splitlines():
            at = line.find("]: ")
            if "status=" in line and at > 0:
                assert _got(line[at + 3 :]) == _expected(line[at + 3 :]), line
                checked += 1
    assert checked >= 30


PIECES = st.sampled_from(
    [
        "4ABC12", "A0F7BE2AA5", ": to=", "<", ">", ",", " orig_to=", " relay=", "none",
        "mx.example.com[192.0.2.1]:25", " conn_use=", "2", " delay=", "1.5", "12", ".",
        "1.2.3", " delays=", "0.1/0/30/0", "1/2/3", " dsn=", "4.4.1", " status=",
        "sent", "deferred", "bounced", "_x", " (", ")", "connect to h[1.2.3.4]:25: timed out",
        "user@example.org", "é", "٣", " ", "\n", "\r", "(", "said: 250 ok",
    ]
)  # fmt: skip
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=30).map("".join)
WELL_FORMED = st.tuples(
    st.sampled_from(["4ABC12", "A0F7BE2AA5"]),
    st.sampled_from(["<a@b.example>", "a@b.example", "<>", "<a@b>x"]),
    st.sampled_from(["", " orig_to=<c@d.example>,", " orig_to=<x"]),
    st.sampled_from(["none", "mx.example[192.0.2.1]:25", ""]),
    st.sampled_from(["", " conn_use=2,", " conn_use=x,"]),
    st.sampled_from(["1.5", "12", ".", "1.2.3", "", "٣"]),
    st.sampled_from(["", " delays=0.1/0/30/0,", " delays=1/2/3,", " delays=./1/2/3,"]),
    st.sampled_from(["", " dsn=4.4.1,", " dsn=...,", " dsn=x,"]),
    st.sampled_from(["sent", "deferred", "bounced", "de_f", "", "sent!"]),
    st.sampled_from(["", " (ok)", " (a (b) c)", " (open", " (x)\ny)", " x"]),
).map(lambda p: f"{p[0]}: to={p[1]},{p[2]} relay={p[3]},{p[4]} delay={p[5]},{p[6]}{p[7]}"
      f" status={p[8]}{p[9]}")  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.one_of(TEXTS, WELL_FORMED))
def test_any_text_reads_as_the_grammar_says(text: str) -> None:
    assert _got(text) == _expected(text)


# A delays= part: ASCII or other decimal digits, dots, or neither; long runs of digits.
DELAY_PARTS = st.one_of(
    st.from_regex(r"[0-9]{0,18}(\.[0-9]{0,18})?", fullmatch=True),
    st.text(alphabet="0123456789.٣/x", max_size=6),
    st.sampled_from(["0.35", "12", ".5", "5.", ".", "", "9" * 16, "0" * 40 + "1"]),
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(DELAY_PARTS, min_size=1, max_size=6))
def test_delays_read_as_float_reads_each_part(parts: list[str]) -> None:
    # The one-pass reader of a delays= value (logs/postfix._delays) against float() of
    # each part, the grammar's [\d.]+: equal floats, or no value at all.
    text = "/".join(parts)
    pieces = text.split("/")
    expected: tuple[float, ...] | None = None
    if len(pieces) == 4 and all(re.fullmatch(r"[\d.]+", p) for p in pieces):
        try:
            expected = tuple(float(p) for p in pieces)
        except ValueError:  # "." or "1.2.3": digits and dots, but not a number
            expected = None
    got = status_fields(f"4ABC12: to=<a@b>, relay=none, delay=1, delays={text}, status=sent", 0)
    assert (None if got is None else got[4]) == expected
