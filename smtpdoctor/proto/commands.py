"""Sans-IO SMTP command encoding: commands in, bytes out, with a redacted display form."""

from __future__ import annotations

import base64
from dataclasses import dataclass

REDACTED = "<redacted>"


@dataclass(frozen=True)
class Command:
    """One line the client sends: the bytes for the wire and a safe text for transcripts."""

    verb: str
    wire: bytes
    display: str


def _line(text: str) -> bytes:
    # A CR or LF would end the command early and smuggle a second one in; a NUL is not
    # allowed anywhere in SMTP (RFC 5321 4.1.1) and servers cut the line at it.
    if "\r" in text or "\n" in text or "\0" in text:
        raise ValueError("an SMTP command must be a single line without NUL")
    return text.encode("utf-8") + b"\r\n"


def _plain(verb: str, text: str) -> Command:
    return Command(verb, _line(text), text)


def ehlo(name: str) -> Command:
    """EHLO with the client's name."""
    return _plain("EHLO", f"EHLO {name}")


def helo(name: str) -> Command:
    """HELO, for servers that refuse EHLO."""
    return _plain("HELO", f"HELO {name}")


def starttls() -> Command:
    """STARTTLS (RFC 3207)."""
    return _plain("STARTTLS", "STARTTLS")


def mail_from(sender: str, params: str = "") -> Command:
    """MAIL FROM:<sender> with optional ESMTP parameters ('' for the null sender)."""
    suffix = f" {params}" if params else ""
    return _plain("MAIL", f"MAIL FROM:<{sender}>{suffix}")


def rcpt_to(recipient: str) -> Command:
    """RCPT TO:<recipient>."""
    return _plain("RCPT", f"RCPT TO:<{recipient}>")


def data() -> Command:
    """DATA."""
    return _plain("DATA", "DATA")


def rset() -> Command:
    """RSET."""
    return _plain("RSET", "RSET")


def quit_() -> Command:
    """QUIT."""
    return _plain("QUIT", "QUIT")


def noop() -> Command:
    """NOOP."""
    return _plain("NOOP", "NOOP")


def auth_plain(user: str, password: str) -> Command:
    """AUTH PLAIN with the initial response (RFC 4616); the display hides the secret."""
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    return Command("AUTH", _line(f"AUTH PLAIN {token}"), f"AUTH PLAIN {REDACTED}")


def auth_login_start() -> Command:
    """AUTH LOGIN; the server answers 334 asking for the user name."""
    return _plain("AUTH", "AUTH LOGIN")


def auth_login_user(user: str) -> Command:
    """The base64 user name in answer to AUTH LOGIN's first 334 (user names are not secret)."""
    token = base64.b64encode(user.encode()).decode("ascii")
    return Command("AUTH", _line(token), f"{token}  (user {user})")


def auth_login_password(password: str) -> Command:
    """The base64 password in answer to AUTH LOGIN's second 334; never displayed."""
    token = base64.b64encode(password.encode()).decode("ascii")
    return Command("AUTH", _line(token), REDACTED)


def message_body(text: str) -> bytes:
    """A message as DATA content: CRLF line ends, dot-stuffed, ended by CRLF.CRLF."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    stuffed = [("." + line) if line.startswith(".") else line for line in lines]
    return ("\r\n".join(stuffed) + "\r\n.\r\n").encode("utf-8")


def parse_ehlo(lines: tuple[str, ...]) -> dict[str, str]:
    """EHLO reply lines (after the first) as keyword -> parameters, keywords upper-cased."""
    capabilities: dict[str, str] = {}
    for line in lines[1:]:
        keyword, _, params = line.strip().partition(" ")
        if keyword:
            capabilities[keyword.upper()] = params.strip()
    return capabilities


def auth_mechanisms(capabilities: dict[str, str]) -> set[str]:
    """The AUTH mechanisms offered (also the old 'AUTH=' form)."""
    mechanisms: set[str] = set()
    for keyword, params in capabilities.items():
        if keyword == "AUTH" or keyword.startswith("AUTH="):
            extra = keyword[5:] if keyword.startswith("AUTH=") else ""
            mechanisms.update(m.upper() for m in (params + " " + extra).split() if m)
    return mechanisms
