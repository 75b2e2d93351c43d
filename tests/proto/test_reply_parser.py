"""The reply parser: whole buffers, byte by byte, multi-line, limits, violations."""

from __future__ import annotations

import pytest

from smtpdoctor.proto.reply import ProtocolViolation, Reply, ReplyParser


def parse_all(data: bytes, chunk: int | None = None, **limits: int) -> list[Reply]:
    """Feed ``data`` whole (or ``chunk`` bytes at a time) and collect every reply."""
    parser = ReplyParser(**limits)
    replies: list[Reply] = []
    step = chunk or max(len(data), 1)
    for start in range(0, len(data), step):
        parser.receive(data[start : start + step])
        while (reply := parser.next_reply()) is not None:
            replies.append(reply)
    return replies


EHLO = (
    b"250-mail.example.org Hello client\r\n"
    b"250-PIPELINING\r\n"
    b"250-SIZE 10240000\r\n"
    b"250-STARTTLS\r\n"
    b"250 8BITMIME\r\n"
)


def test_single_line_reply() -> None:
    (reply,) = parse_all(b"220 mail.example.org ESMTP Postfix\r\n")
    assert reply.code == 220
    assert reply.lines == ("mail.example.org ESMTP Postfix",)
    assert reply.is_positive and not reply.is_transient and not reply.is_permanent


def test_multi_line_reply_is_one_reply() -> None:
    (reply,) = parse_all(EHLO)
    assert reply.code == 250
    assert reply.lines == (
        "mail.example.org Hello client",
        "PIPELINING",
        "SIZE 10240000",
        "STARTTLS",
        "8BITMIME",
    )


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_byte_by_byte_gives_the_same_replies(chunk: int) -> None:
    stream = b"220 hi\r\n" + EHLO + b"250 2.1.0 Ok\r\n450 4.2.0 greylisted\r\n"
    assert parse_all(stream, chunk) == parse_all(stream)
    assert [r.code for r in parse_all(stream, chunk)] == [220, 250, 250, 450]


def test_incomplete_reply_waits_for_more() -> None:
    parser = ReplyParser()
    parser.receive(b"250-first\r\n250 sec")
    assert parser.next_reply() is None
    assert parser.in_reply
    parser.receive(b"ond\r\n")
    reply = parser.next_reply()
    assert reply is not None and reply.lines == ("first", "second")
    assert not parser.in_reply


@pytest.mark.parametrize(
    ("line", "enhanced"),
    [
        (b"450 4.2.0 Greylisted\r\n", "4.2.0"),
        (b"550 5.1.1 <x@y>: User unknown\r\n", "5.1.1"),
        (b"250 2.0.0 Ok: queued as ABC\r\n", "2.0.0"),
        (b"250 Ok\r\n", None),
        (b"550 4.1.1 mismatched class\r\n", None),  # class must match the code's first digit
        (b"421\r\n", None),
    ],
)
def test_enhanced_status_codes(line: bytes, enhanced: str | None) -> None:
    (reply,) = parse_all(line)
    assert reply.enhanced == enhanced


def test_bare_lf_is_accepted_and_noted() -> None:
    parser = ReplyParser()
    parser.receive(b"220 sloppy server\n")
    reply = parser.next_reply()
    assert reply is not None and reply.lines == ("sloppy server",)
    assert parser.bare_lf_seen


def test_crlf_does_not_set_bare_lf() -> None:
    parser = ReplyParser()
    parser.receive(b"220 tidy\r\n")
    assert parser.next_reply() is not None
    assert not parser.bare_lf_seen


def test_code_only_line() -> None:
    (reply,) = parse_all(b"250\r\n")
    assert reply.code == 250 and reply.lines == ("",)


def test_overlong_line_without_newline_raises_and_buffer_stays_bounded() -> None:
    parser = ReplyParser(max_line=100)
    parser.receive(b"220 ")
    with pytest.raises(ProtocolViolation):
        for _ in range(1000):
            parser.receive(b"x" * 10)
            assert parser.buffered <= 100 + 10
    assert parser.buffered == 0
    # the parser is dead afterwards
    with pytest.raises(ProtocolViolation):
        parser.receive(b"\r\n")
    with pytest.raises(ProtocolViolation):
        parser.next_reply()


def test_overlong_line_with_newline_raises() -> None:
    with pytest.raises(ProtocolViolation):
        parse_all(b"220 " + b"x" * 200 + b"\r\n", max_line=100)


def test_line_at_the_limit_is_fine() -> None:
    body = b"x" * (100 - 4)
    (reply,) = parse_all(b"220 " + body + b"\r\n", max_line=100)
    assert reply.lines == (body.decode(),)


def test_continuation_flood_raises() -> None:
    parser = ReplyParser(max_lines=50)
    with pytest.raises(ProtocolViolation):
        for _ in range(1000):
            parser.receive(b"220-more\r\n")
    assert parser.buffered == 0


def test_default_limits_stop_a_flood_quickly() -> None:
    parser = ReplyParser()
    fed = 0
    with pytest.raises(ProtocolViolation):
        while fed < 10_000_000:
            parser.receive(b"220-flood\r\n" * 100)
            fed += 1100
    assert fed < 100_000


def test_code_change_inside_a_reply_raises() -> None:
    with pytest.raises(ProtocolViolation, match="changed"):
        parse_all(b"250-first\r\n251 second\r\n")


@pytest.mark.parametrize(
    "garbage",
    [
        b"hello there\r\n",
        b"22\r\n",
        b"abc def\r\n",
        b"999 out of range\r\n",
        b"199 too low\r\n",
        b"220_bad separator\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n",  # a TLS record where SMTP was expected
    ],
)
def test_garbage_raises_protocol_violation(garbage: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        parse_all(garbage)


def test_replies_after_a_complete_one_stay_queued() -> None:
    parser = ReplyParser()
    parser.receive(b"250 a\r\n250 b\r\n354 go ahead\r\n")
    codes = []
    while (reply := parser.next_reply()) is not None:
        codes.append(reply.code)
    assert codes == [250, 250, 354]


def test_encode_and_str() -> None:
    reply = Reply(250, ("mail.example.org", "PIPELINING", "8BITMIME"))
    assert reply.encode() == b"250-mail.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
    assert str(reply) == "250-mail.example.org / 250-PIPELINING / 250 8BITMIME"
    assert reply.text == "mail.example.org\nPIPELINING\n8BITMIME"
    assert reply.first_line == "mail.example.org"


def test_non_utf8_text_is_replaced_not_raised() -> None:
    (reply,) = parse_all(b"220 caf\xe9\r\n")
    assert reply.code == 220 and reply.lines[0].startswith("caf")
