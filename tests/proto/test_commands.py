"""proto/commands.py byte by byte: encoding, the CRLF/NUL guard, AUTH redaction, dot-stuffing."""

from __future__ import annotations

import base64

import pytest

from smtpdoctor.proto import commands
from smtpdoctor.proto.commands import REDACTED


@pytest.mark.parametrize(
    ("command", "verb", "wire"),
    [
        (commands.ehlo("client.example"), "EHLO", b"EHLO client.example\r\n"),
        (commands.helo("client.example"), "HELO", b"HELO client.example\r\n"),
        (commands.starttls(), "STARTTLS", b"STARTTLS\r\n"),
        (commands.mail_from(""), "MAIL", b"MAIL FROM:<>\r\n"),
        (commands.mail_from("a@example.org", "SIZE=10"), "MAIL",
         b"MAIL FROM:<a@example.org> SIZE=10\r\n"),
        (commands.rcpt_to("b@example.net"), "RCPT", b"RCPT TO:<b@example.net>\r\n"),
        (commands.data(), "DATA", b"DATA\r\n"),
        (commands.rset(), "RSET", b"RSET\r\n"),
        (commands.noop(), "NOOP", b"NOOP\r\n"),
        (commands.quit_(), "QUIT", b"QUIT\r\n"),
        (commands.rcpt_to("jörg@exämple.net"), "RCPT", "RCPT TO:<jörg@exämple.net>\r\n".encode()),
    ],
)  # fmt: skip
def test_plain_commands(command: commands.Command, verb: str, wire: bytes) -> None:
    assert command.verb == verb
    assert command.wire == wire
    assert command.display == wire.decode().removesuffix("\r\n")


@pytest.mark.parametrize(
    "smuggled",
    ["x\r\nQUIT", "x\nRCPT TO:<y@example.net>", "x\rDATA", "x\0y"],
)
def test_a_value_cannot_end_the_line_or_carry_nul(smuggled: str) -> None:
    for build in (commands.ehlo, commands.helo, commands.mail_from, commands.rcpt_to):
        with pytest.raises(ValueError, match="single line"):
            build(smuggled)


def test_auth_plain_sends_the_secret_and_never_shows_it() -> None:
    command = commands.auth_plain("alice", "s3cret!")
    token = base64.b64encode(b"\0alice\0s3cret!").decode()
    assert command.wire == f"AUTH PLAIN {token}\r\n".encode()
    assert command.display == f"AUTH PLAIN {REDACTED}"
    assert "s3cret" not in command.display and token not in command.display
    assert "s3cret" not in repr(command.display)


def test_auth_login_shows_the_user_but_never_the_password() -> None:
    assert commands.auth_login_start().wire == b"AUTH LOGIN\r\n"
    user = commands.auth_login_user("alice")
    assert user.wire == b"YWxpY2U=\r\n"
    assert user.display == "YWxpY2U=  (user alice)"
    password = commands.auth_login_password("s3cret!")
    assert password.wire == base64.b64encode(b"s3cret!") + b"\r\n"
    assert password.display == REDACTED


@pytest.mark.parametrize(
    ("text", "wire"),
    [
        ("hello", b"hello\r\n.\r\n"),
        ("hello\n", b"hello\r\n.\r\n"),
        ("a\nb", b"a\r\nb\r\n.\r\n"),
        ("a\r\nb\r\n", b"a\r\nb\r\n.\r\n"),
        ("a\rb", b"a\r\nb\r\n.\r\n"),
        (".", b"..\r\n.\r\n"),  # a lone dot would end the message: stuffed
        ("..x\n.y", b"...x\r\n..y\r\n.\r\n"),
        ("x.\n .", b"x.\r\n .\r\n.\r\n"),  # only a leading dot is stuffed
        ("", b"\r\n.\r\n"),
        ("\n\n", b"\r\n\r\n.\r\n"),
    ],
)
def test_message_body_is_crlf_and_dot_stuffed(text: str, wire: bytes) -> None:
    assert commands.message_body(text) == wire


def test_parse_ehlo_keywords_and_parameters() -> None:
    lines = ("mx.example.net greets you", "PIPELINING", "size 10240000", "AUTH PLAIN LOGIN", " ")
    assert commands.parse_ehlo(lines) == {
        "PIPELINING": "",
        "SIZE": "10240000",
        "AUTH": "PLAIN LOGIN",
    }


def test_auth_mechanisms_read_both_forms() -> None:
    assert commands.auth_mechanisms({"AUTH": "plain LOGIN"}) == {"PLAIN", "LOGIN"}
    assert commands.auth_mechanisms({"AUTH=LOGIN": ""}) == {"LOGIN"}
    assert commands.auth_mechanisms({"AUTH=PLAIN": "CRAM-MD5"}) == {"PLAIN", "CRAM-MD5"}
    assert commands.auth_mechanisms({"STARTTLS": ""}) == set()
