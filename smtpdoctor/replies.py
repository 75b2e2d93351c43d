"""The one classifier of SMTP server replies: reply code, enhanced status code, the
whole text of every line, and the phase it answered, to a cause code. Pure: no IO.

check (a reply read from the wire), logs (a reply quoted in a log line) and queue (the
reason `mailq` shows) all call it, so the same reply gets the same cause everywhere:

    from smtpdoctor.replies import classify_reply, split_reply

    classify_reply(421, "4.7.28", "Our system has detected an unusual rate of ...",
                   Phase.RCPT)                          # -> CauseCode.RATE_LIMITED
    classify_reply(*split_reply("450 4.2.0 Greylisted, try again"), Phase.RCPT)

The text decides before the code does: a 421 is `server_busy` only when nothing in
its text speaks of rate, reputation, blocklists or the sender's setup, and a 4xx at
RCPT is `greylisted` only when the text says so or is the classic greylisting reply
('try again later' and nothing else). tests/data/replies.tsv holds the real replies
(providers' published error references, daemons' sources) this is tested against.
"""

from __future__ import annotations

import re
from functools import lru_cache

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.phases import Phase

__all__ = ["classify_reply", "classify_reply_text", "split_reply"]

# "550-5.7.1 text", "550 5.7.1 text", "421 text", "550 #5.1.0 text" (qmail style).
_HEAD = re.compile(r"\s*(?P<code>[2-5]\d\d)(?:[ -](?:#?(?P<enh>[245]\.\d{1,3}\.\d{1,3}))?)?")
# Continuation prefixes of a multi-line reply that MTAs fold into one log line:
# "421-4.7.0 ... 421-4.7.0 ... 421 4.7.0 ...".
_CONTINUATION = re.compile(r"\b[2-5]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?")


def split_reply(reply: str) -> tuple[int, str, str]:
    """(code, enhanced, text) of a reply as written in a log ('550-5.7.1 ... 550 5.7.1
    ...'); code 0 when the text does not start with a reply code."""
    m = _HEAD.match(reply)
    if m is None:
        return 0, "", reply.strip()
    return int(m.group("code")), m.group("enh") or "", reply[m.end() :].strip()


def _any(low: str, words: tuple[str, ...]) -> bool:
    return any(w in low for w in words)


_GREYLIST = ("greylist", "graylist", "grey-list", "gray-list", "postgrey", "grey listed")
_RATE = (
    "rate limit",
    "ratelimit",
    "rate-limit",
    "rate limited",
    "unusual rate",
    "at a rate",
    "too many messages",
    "too much mail",
    "too many emails",
    "too many mails",
    "too many recipients",
    "sending rate",
    "message rate",
    "volume",
    "throttl",
    "temporarily deferred",
    "deferred due to",
    "user complaints",
    "exceeded the maximum number of",
    "sending limit",
    "tss0",  # Yahoo's [TSS04] deferrals
    "message temporarily deferred",
)
_BLOCKLIST = (
    "blocklist",
    "blacklist",
    "block list",
    "black list",
    "blocked using",
    "listed",
    "spamhaus",
    "spamcop",
    "barracuda",
    "sorbs",
    "dnsbl",
    "uceprotect",
    "reputation",
    "[bl2",  # Yahoo [BL21]/[BL23]
    "banned",
    "on our block",
    "(s3150)",  # Microsoft: part of your network is on our block list
    "(s3140)",
    "ip address has been blocked",  # Gmail 550-5.7.1 UnsolicitedIPError
)
_RBL = re.compile(r"\b(?:rbl|rbls)\b")
_POLICY = (
    "reverse dns",
    "reverse-dns",
    "reverse lookup",
    "reverse hostname",
    "rdns",
    "ptr record",
    "ptr ",
    " ptr",
    "cannot find your hostname",
    "can't find your hostname",
    "helo command rejected",
    "helo name",
    "ehlo name",
    "invalid helo",
    "bad helo",
    "helo/ehlo",
    "spf",
    "dkim",
    "dmarc",
    "unauthenticated",
    "authentication checks",
    "authentication information",
    "sender address rejected: domain not found",
    "sender domain",
    "sender address rejected",
    "connection not authorized",
    "client host rejected",
    "dynamic ip",
    "dynamic address",
    "dial-up",
    "residential",
    "not permitted to relay",
)
_QUOTA = (
    "mailbox full",
    "mailbox is full",
    "mailbox is over quota",
    "over quota",
    "over-quota",
    "quota exceeded",
    "exceeded storage",
    "exceeds its quota",
    "out of storage",
    "overquota",
    "over its quota",
    "insufficient space",
    "storage allocation",
    "inbox is out of storage",
    "mailbox size limit",
)
_UNKNOWN = (
    "user unknown",
    "unknown user",
    "no such user",
    "no such recipient",
    "no such mailbox",
    "unknown recipient",
    "recipient unknown",
    "invalid recipient",
    "recipient not found",
    "does not exist",
    "doesn't exist",
    "doesn't have a",
    "account that you tried to reach",
    "mailbox not found",
    "mailbox unavailable",
    "address unknown",
    "unknown address",
    "unknown local part",
    "unrouteable address",
    "not a valid recipient",
    "recipient address rejected: undeliverable",
    "unverified address",
    "recipient address rejected: access denied",
)
_REMOTE = (
    "local error",
    "configuration problem",
    "configuration error",
    "internal error",
    "internal server error",
    "system storage",
    "insufficient system",
    "temporary local problem",
    "local problem",
    "system problem",
    "queue file write error",
    "cannot write",  # sendmail "421 4.3.0 collect: Cannot write ./df...": its own disk
    "can't write",
    "no space left",
    "milter",
    "policy service",
    "service unavailable",
    "lookup failure",
    "server error",
    "try again in a moment",
)
_LOAD = (
    "too many connections",
    "too many concurrent",
    "too many sessions",
    "connection limit",
    "busy",
    "overloaded",
    "load average",
    "system load",
    "resources",
    "service temporarily unavailable",
)
_RETRY_WORDS = (
    "try again later",
    "try later",
    "please retry",
    "retry later",
    "come back later",
    "please try again",
    "try again",
)


def _enhanced_cause(enhanced: str) -> CauseCode | None:
    detail = enhanced[2:]
    if detail == "2.2":
        return CauseCode.MAILBOX_FULL
    if detail in ("1.1", "1.10"):
        return CauseCode.RECIPIENT_UNKNOWN
    if detail in ("7.23", "7.24", "7.25", "7.26", "7.27", "7.30", "7.7", "7.8"):
        return CauseCode.CLIENT_POLICY  # PTR, SPF, DKIM, DMARC (Gmail's 4.7.2x family)
    if detail in ("7.28", "5.3"):  # 5.3: too many recipients
        return CauseCode.RATE_LIMITED
    if enhanced == "4.7.500" or detail.startswith("7.6"):
        return CauseCode.RATE_LIMITED  # Microsoft 4.7.500-699: throttled new senders
    return None


def _text_cause(low: str, temporary: bool) -> CauseCode | None:  # noqa: PLR0911
    # An ordered cascade read top to bottom: the first wording that matches wins.
    if _any(low, _GREYLIST):
        return CauseCode.GREYLISTED
    if temporary and _any(low, _RATE):
        return CauseCode.RATE_LIMITED
    if _any(low, _BLOCKLIST) or _RBL.search(low):
        return CauseCode.BLOCKLISTED
    if _any(low, _POLICY):
        return CauseCode.CLIENT_POLICY
    if _any(low, _QUOTA):
        return CauseCode.MAILBOX_FULL
    if _any(low, _UNKNOWN):
        return CauseCode.RECIPIENT_UNKNOWN
    if _any(low, _RATE):
        return CauseCode.RATE_LIMITED
    return None


@lru_cache(maxsize=8192)
def classify_reply(  # noqa: PLR0911  (the order of the steps is the rule; see docstring)
    code: int, enhanced: str, text: str, phase: Phase | None
) -> CauseCode:
    """The cause a server's reply names.

    code: the basic reply code (421, 550, ...); enhanced: the RFC 3463 code ('4.7.1')
    or ''; text: the reply's text, every line of a multi-line reply joined (reply
    codes at the start of continuation lines may stay in); phase: the command it
    answered (Phase.GREETING for the banner), None when unknown.
    2xx and 3xx replies are `ok`; an unrecognised 5xx is `rejected`; an unrecognised
    4xx is `server_busy` at the greeting or as a 421, else `remote_error`.
    """
    if code < 400:
        return CauseCode.OK
    temporary = code < 500
    low = _CONTINUATION.sub(" ", text).lower()
    cause = _text_cause(low, temporary)
    if cause is not None:
        return cause
    if enhanced:
        by_enhanced = _enhanced_cause(enhanced)
        if by_enhanced is not None:
            return by_enhanced
    if not temporary:
        return CauseCode.REJECTED
    if _any(low, _REMOTE):
        return CauseCode.REMOTE_ERROR
    if code == 421 or phase is Phase.GREETING or _any(low, _LOAD):
        return CauseCode.SERVER_BUSY
    if phase in (Phase.RCPT, Phase.DATA, Phase.EOD) and code in (450, 451):
        # The classic greylisting reply: a bare "try again later" to RCPT (or, from
        # daemons that greylist after DATA, to the end of data), nothing else said.
        words = low.replace(",", " ").split()
        if _any(low, _RETRY_WORDS) and len(words) <= 12:
            return CauseCode.GREYLISTED
    return CauseCode.REMOTE_ERROR


def classify_reply_text(reply: str, phase: Phase | None) -> CauseCode | None:
    """classify_reply over a reply as logs quote it ('550-5.7.1 ... 550 5.7.1 ...');
    None when the text does not start with a reply code."""
    code, enhanced, text = split_reply(reply)
    if code == 0:
        return None
    return classify_reply(code, enhanced, text, phase)
