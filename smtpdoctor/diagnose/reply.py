"""What a server's refusal means for check: the cause from the one reply classifier
(`smtpdoctor.replies`, the same one logs and queue use), its severity on this endpoint,
the sentence that explains it, and the fixes the reply's own text allows. No IO.

The classifier reads the reply's code, its enhanced status code and the text of every
line; the phase is the command the reply answered. Nothing here reads text smtpdoctor
wrote itself: only the server's reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.finding import Severity
from smtpdoctor.phases import Phase
from smtpdoctor.proto.reply import Reply
from smtpdoctor.replies import classify_reply

__all__ = ["ReplyCause", "reply_cause", "reply_words"]

SUBMISSION_PORTS = frozenset({465, 587})
_QUOTE_MAX = 300

_LEADING_ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}(?:\s+|$)")
_URL = re.compile(r"https?://[^\s<>\"']+")
_LIST_NAME = re.compile(
    r"(?:blocked using|listed (?:at|in|on)|see)\s+(?P<name>[a-z0-9-]+(?:\.[a-z0-9-]+)+\.[a-z]{2,})",
    re.IGNORECASE,
)
_PTR_WORDS = re.compile(
    r"ptr|reverse[ -]?(?:dns|lookup|hostname)|rdns|find your hostname", re.IGNORECASE
)
_HELO_WORDS = re.compile(r"\b(?:helo|ehlo)\b", re.IGNORECASE)
_AUTH_WORDS = re.compile(r"\b(?:spf|dkim|dmarc)\b|unauthenticated", re.IGNORECASE)

# Causes that are about one recipient, not the server or the path to it.
_PER_RECIPIENT = frozenset({CauseCode.RECIPIENT_UNKNOWN, CauseCode.MAILBOX_FULL})

_MEANING: dict[CauseCode, str] = {
    CauseCode.RATE_LIMITED: (
        "The server limits how much this client (its address, domain or sender) may send "
        "and defers the rest until the rate drops"
    ),
    CauseCode.BLOCKLISTED: (
        "The server refuses this client because its address or domain is on a blocklist "
        "or has a poor reputation"
    ),
    CauseCode.CLIENT_POLICY: (
        "The server's policy refuses this client's setup (reverse DNS, HELO name, "
        "SPF/DKIM/DMARC or the sender address), not its load"
    ),
    CauseCode.MAILBOX_FULL: "The recipient's mailbox is full (nothing the sender can fix)",
    CauseCode.RECIPIENT_UNKNOWN: "The server does not know this recipient",
    CauseCode.REMOTE_ERROR: (
        "The receiving server reports a fault of its own (its configuration, a milter, "
        "a policy service or its storage)"
    ),
    CauseCode.SERVER_BUSY: (
        "The server refuses service for now (load or connection limits); a later attempt may pass"
    ),
    CauseCode.REJECTED: "The server refuses it; the reply text names the reason",
}


@dataclass(frozen=True)
class ReplyCause:
    """The cause a refusal names on one endpoint, and how to say it."""

    code: CauseCode
    severity: Severity
    meaning: str  # one sentence without the final full stop
    fixes: tuple[str, ...]
    not_about: tuple[str, ...] = ()  # catalogue fix lines the reply rules out


def reply_words(reply: Reply) -> tuple[str, str]:
    """(enhanced, text) of a reply as the classifier takes it: the enhanced code of the
    first line, and every line's text joined by spaces with each line's own enhanced
    code left out (a multi-line reply repeats it on every line)."""
    enhanced = reply.enhanced or ""
    parts = [_LEADING_ENHANCED.sub("", line, count=1) if enhanced else line for line in reply.lines]
    return enhanced, " ".join(p.strip() for p in parts if p.strip())


def quote(reply: Reply) -> str:
    """The reply's text as one line for a summary: '5.1.1 text of every line' (the
    first line as the server wrote it when the reply has one line)."""
    enhanced, text = reply_words(reply)
    said = " ".join(p for p in (enhanced, text) if p)
    return said if len(said) <= _QUOTE_MAX else said[: _QUOTE_MAX - 3].rstrip() + "..."


def reply_cause(
    reply: Reply, phase: Phase, port: int, *, authenticated: bool = False
) -> ReplyCause:
    """The cause, severity and specific fixes of REPLY, refusing PHASE on PORT.

    ``authenticated``: the check gave credentials, so PORT is used for submission
    whatever its number (a relay taking AUTH on 25)."""
    submission = authenticated or port in SUBMISSION_PORTS
    enhanced, text = reply_words(reply)
    code = classify_reply(reply.code, enhanced, text, phase)
    if code is CauseCode.OK:
        # A 2xx/3xx where another code was needed ended the session: the server
        # answered something this command does not allow.
        code = CauseCode.REJECTED
    return ReplyCause(
        code,
        _severity(code, reply, phase, submission),
        _meaning(code, phase, submission),
        _fixes(code, text),
        _not_about(code, text),
    )


def _severity(code: CauseCode, reply: Reply, phase: Phase, submission: bool) -> Severity:
    if code in _PER_RECIPIENT and phase is Phase.RCPT and not submission:
        # Port 25 of an MX: the server and the path work; one mailbox cannot take mail.
        return Severity.WARNING
    if reply.is_transient and reply.code != 421 and phase is not Phase.GREETING:
        # A deferral: the session went on to this point and the sending MTA retries.
        return Severity.WARNING
    return Severity.ERROR


def _meaning(code: CauseCode, phase: Phase, submission: bool) -> str:
    meaning = _MEANING.get(code, "")
    if code in _PER_RECIPIENT and phase is Phase.RCPT and not submission:
        meaning += "; the server itself works, only this address cannot take mail now"
    return meaning


def _not_about(code: CauseCode, text: str) -> tuple[str, ...]:
    """A client_policy reply about one thing rules out the catalogue line about the other."""
    if code is not CauseCode.CLIENT_POLICY:
        return ()
    about_dns = bool(_PTR_WORDS.search(text) or _HELO_WORDS.search(text))
    about_auth = bool(_AUTH_WORDS.search(text))
    if about_dns and not about_auth:
        return ("Publish SPF",)
    if about_auth and not about_dns:
        return ("PTR record",)
    return ()


def _fixes(code: CauseCode, text: str) -> tuple[str, ...]:
    fixes: list[str] = []
    if code is CauseCode.BLOCKLISTED:
        match = _LIST_NAME.search(text)
        if match is not None and "://" not in match.group("name"):
            fixes.append(
                f"The reply names {match.group('name')}: look this machine's public sending "
                "address up there and follow its removal procedure once the reason is fixed."
            )
    if code is CauseCode.CLIENT_POLICY:
        if _PTR_WORDS.search(text):
            fixes.append(
                "The reply is about reverse DNS: `dig -x ADDRESS` (the public sending "
                "address) must give a name, and `dig A NAME` must give the address back."
            )
        if _HELO_WORDS.search(text):
            fixes.append(
                "The reply is about the HELO name: announce a fully qualified name that "
                "resolves to the sending address (check: `--helo NAME`; Postfix: "
                "`smtp_helo_name`)."
            )
        if _AUTH_WORDS.search(text):
            fixes.append(
                "The reply is about sender authentication: publish SPF for the sender's "
                "domain, sign with DKIM and align DMARC (`dig TXT DOMAIN` shows SPF)."
            )
    if code in (CauseCode.RECIPIENT_UNKNOWN, CauseCode.MAILBOX_FULL):
        fixes.append(
            "To test the path itself, check again with a recipient that exists: `--to ADDRESS`."
        )
    url = _URL.search(text)
    if url is not None:
        link = url.group(0).rstrip(".,;:)]")
        fixes.append(f"The server's reply points to {link}: it explains this refusal.")
    return tuple(fixes)
