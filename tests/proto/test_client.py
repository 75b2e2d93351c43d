"""proto/client.py: replies matched to what was sent, in order, byte by byte."""

from __future__ import annotations

import pytest

from smtpdoctor.proto import commands
from smtpdoctor.proto.client import END_OF_DATA, GREETING, ClientProtocol, ReplyEvent, Unsolicited
from smtpdoctor.proto.reply import ProtocolViolation, Reply


def _events(client: ClientProtocol) -> list[ReplyEvent | Unsolicited]:
    out = []
    while (event := client.next_event()) is not None:
        out.append(event)
    return out


def test_greeting_then_commands_in_order() -> None:
    client = ClientProtocol()
    assert client.waiting == (GREETING,)
    assert client.next_event() is None
    client.receive(b"220 mx.example.net ESMTP\r\n")
    assert _events(client) == [ReplyEvent(GREETING, Reply(220, ("mx.example.net ESMTP",)))]
    assert client.send(commands.ehlo("c.example")) == b"EHLO c.example\r\n"
    assert client.waiting == ("EHLO",)
    client.receive(b"250-mx.example.net\r\n250 PIPELINING\r\n")
    assert _events(client) == [ReplyEvent("EHLO", Reply(250, ("mx.example.net", "PIPELINING")))]
    assert client.waiting == ()


def test_a_reply_split_at_every_byte_comes_out_once() -> None:
    client = ClientProtocol()
    for byte in b"220-first\r\n220 second\r\n":
        assert client.next_event() is None
        client.receive(bytes([byte]))
    assert _events(client) == [ReplyEvent(GREETING, Reply(220, ("first", "second")))]


def test_pipelined_replies_answer_the_commands_in_order() -> None:
    client = ClientProtocol(expect_greeting=False)
    wire = client.send_pipelined(
        [commands.mail_from("a@example.org"), commands.rcpt_to("b@example.net"), commands.data()]
    )
    assert wire == b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
    client.receive(b"250 ok\r\n550 no such user\r\n354 go ahead\r\n")
    assert [(e.answers, e.reply.code) for e in _events(client) if isinstance(e, ReplyEvent)] == [
        ("MAIL", 250),
        ("RCPT", 550),
        ("DATA", 354),
    ]


def test_end_of_data_and_continuations_wait_like_commands() -> None:
    client = ClientProtocol(expect_greeting=False)
    body = commands.message_body("hi")
    assert client.send_message(body) == body
    client.expect_continuation("AUTH")
    assert client.waiting == (END_OF_DATA, "AUTH")
    client.receive(b"250 queued\r\n334 VXNlcm5hbWU6\r\n")
    assert [e.answers for e in _events(client) if isinstance(e, ReplyEvent)] == [
        END_OF_DATA,
        "AUTH",
    ]


def test_a_reply_nobody_waits_for_is_unsolicited() -> None:
    client = ClientProtocol(expect_greeting=False)
    client.receive(b"421 4.4.2 idle timeout, closing\r\n")
    assert _events(client) == [Unsolicited(Reply(421, ("4.4.2 idle timeout, closing",)))]
    # The next command's reply is not mistaken for the 421.
    client.send(commands.noop())
    client.receive(b"250 ok\r\n")
    assert _events(client) == [ReplyEvent("NOOP", Reply(250, ("ok",)))]


def test_garbage_raises_a_protocol_violation() -> None:
    client = ClientProtocol()
    with pytest.raises(ProtocolViolation):
        client.receive(b"HTTP/1.1 400 Bad Request\r\n")
        client.next_event()
