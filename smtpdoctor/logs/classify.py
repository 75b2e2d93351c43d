"""Shared text-to-cause rules: OS errors, reply codes and phase names as MTAs write them."""

from __future__ import annotations

import re
from sys import intern
from typing import Final

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.phases import Phase
from smtpdoctor.replies import classify_reply_text

# OS error texts (strerror) and the errno numbers Exim prints in `defer (N)`.
# strerror() texts of glibc, musl and the BSDs ("Operation timed out", "Can't assign
# requested address", "Host is down").
_OS_ERRORS: Final[tuple[tuple[str, CauseCode], ...]] = (
    ("connection timed out", CauseCode.CONNECT_TIMEOUT),
    ("operation timed out", CauseCode.CONNECT_TIMEOUT),
    ("cannot assign requested address", CauseCode.LOCAL_ADDRESS),
    ("can't assign requested address", CauseCode.LOCAL_ADDRESS),
    ("address not available", CauseCode.LOCAL_ADDRESS),
    ("host is down", CauseCode.HOST_UNREACHABLE),
    ("connection refused", CauseCode.CONNECT_REFUSED),
    ("no route to host", CauseCode.HOST_UNREACHABLE),
    ("host is unreachable", CauseCode.HOST_UNREACHABLE),
    ("network is unreachable", CauseCode.NETWORK_UNREACHABLE),
    ("connection reset by peer", CauseCode.CONNECTION_DROPPED),
)

ERRNO_CAUSES: Final[dict[int, CauseCode]] = {
    110: CauseCode.CONNECT_TIMEOUT,  # ETIMEDOUT
    111: CauseCode.CONNECT_REFUSED,  # ECONNREFUSED
    113: CauseCode.HOST_UNREACHABLE,  # EHOSTUNREACH
    101: CauseCode.NETWORK_UNREACHABLE,  # ENETUNREACH
    104: CauseCode.CONNECTION_DROPPED,  # ECONNRESET
    99: CauseCode.LOCAL_ADDRESS,  # EADDRNOTAVAIL
}


def os_error_cause(text: str) -> CauseCode | None:
    """The cause for a strerror text such as 'Connection timed out', or None."""
    low = text.lower()
    for needle, code in _OS_ERRORS:
        if needle in low:
            return code
    return None


# Words that name an SMTP step, in the many spellings MTAs use, to a Phase.
# Checked in order: the first needle found in the lower-cased text wins.
_PHASE_WORDS: Final[tuple[tuple[str, Phase], ...]] = (
    ("end of data", Phase.EOD),
    ("end-of-message", Phase.EOD),
    ("data status", Phase.EOD),
    ("data command", Phase.DATA),
    ("message body", Phase.BODY),
    ("data block", Phase.BODY),
    ("sending data", Phase.BODY),
    ("data 354", Phase.DATA),
    ("initial server greeting", Phase.GREETING),
    ("initial connection", Phase.GREETING),
    ("greeting", Phase.GREETING),
    ("banner", Phase.GREETING),
    ("connect", Phase.GREETING),
    ("starttls", Phase.STARTTLS),
    ("ehlo", Phase.EHLO),
    ("helo", Phase.EHLO),
    ("lhlo", Phase.EHLO),
    ("xforward", Phase.MAIL),
    ("auth", Phase.AUTH),
    ("mail from", Phase.MAIL),
    ("mail", Phase.MAIL),
    ("rcpt", Phase.RCPT),
    ("bdat", Phase.BODY),
    ("data", Phase.DATA),
    ("rset", Phase.QUIT),
    ("quit", Phase.QUIT),
)


def phase_from_words(text: str) -> Phase | None:
    """The SMTP phase named in a fragment such as 'sending RCPT TO' or 'client MAIL'."""
    low = text.lower()
    for needle, phase in _PHASE_WORDS:
        if needle in low:
            return phase
    return None


def timeout_cause_for_phase(phase: Phase | None) -> CauseCode:
    """The cause code for 'no answer in time' during a phase."""
    if phase is Phase.GREETING:
        return CauseCode.GREETING_TIMEOUT
    if phase in (Phase.DATA, Phase.BODY, Phase.EOD):
        return CauseCode.DATA_TIMEOUT
    if phase is Phase.CONNECT:
        return CauseCode.CONNECT_TIMEOUT
    if phase is Phase.TLS:
        return CauseCode.TLS_HANDSHAKE_TIMEOUT
    return CauseCode.COMMAND_TIMEOUT


def reply_cause(text: str, phase: Phase | None) -> CauseCode | None:
    """The cause for a remote SMTP reply quoted in a log line ('450 4.7.1 ...'), by the
    one reply classifier (smtpdoctor.replies); None when no reply code is found."""
    m = _REPLY.search(text)
    if m is None:
        return None
    cause = classify_reply_text(text[m.start() :], phase)
    return None if cause is CauseCode.OK else cause


_intern: Final = intern  # a C variable in the compiled build, not a global lookup
_REPLY: Final = re.compile(r"\b[2-5]\d\d[ -]")


def domain_of(address: str) -> str:
    """The domain of a mail address (lower case), '' for none.

    Interned: a log names the same few domains on thousands of lines, and one object
    per domain is what the byte-range workers' results share (pickle sends a repeated
    object once)."""
    at = address.rfind("@")
    return _intern(address[at + 1 :].strip("<>").lower()) if at >= 0 else ""
