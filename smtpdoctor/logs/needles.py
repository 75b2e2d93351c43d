"""The words without which a log line gives no event: the parser tests them, with
`in` (C, no copy of the line), before it splits or matches anything.

A Postfix line is routed by its daemon (logs/parser.py) and needs its daemon's words;
every other line (another MTA, a header the parser rewrites first, a line in no known
format) is parsed only if `wanted_elsewhere` finds a word of an MTA it could be from.
One list of words for every path, so a check and its parser cannot drift apart.
"""

from __future__ import annotations

from typing import Final

STATUS: Final = "status="
# Postfix daemons' messages (status= lines aside).
CLIENT_NEEDLES: Final = (
    "connect to ",
    "conversation with ",
    "lost connection with ",
    "SSL_connect error",
    "TLS handshake",
    " said: ",
    "refused to talk to me",
    "SASL authentication failed",
    "certificate verification failed",
    "Server certificate not",
)
SERVER_NEEDLES: Final = ("timeout after ",)
QMGR_NEEDLES: Final = (": removed",)
DOWN_NEEDLES: Final = ("mail system is down",)  # postqueue, postsuper: the master is stopped
# Other MTAs' lines are handed on only when they hold one of these.
SENDMAIL_NEEDLES: Final = ("stat=", "timeout waiting for input", "Cannot send message for")
OPENSMTPD_NEEDLES: Final = (" mta ", ", stat=", "Failed to resolve MX", "Error on session")
EXIM_NEEDLES: Final = (
    " == ",
    " ** ",
    " => ",
    " -> ",
    " *> ",
    " Completed",
    "timed out",
    "refused",
    "unreachable",
    "authenticator",
)
# Every Postfix word, for Postfix lines the parser reaches only after rewriting the
# header (RFC 5424, <PRI>, ISO stamps written with a space).
_POSTFIX: Final[tuple[str, ...]] = QMGR_NEEDLES + SERVER_NEEDLES + DOWN_NEEDLES + CLIENT_NEEDLES
# (the words that name the MTA in a line, the words its parser needs): a syslog line's
# program name is in the line itself.
_OTHERS: Final[tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = (
    (("sendmail", " sm-"), SENDMAIL_NEEDLES),  # sendmail, sm-mta, sm-msp-queue
    ((" smtpd[", " transfer["), OPENSMTPD_NEEDLES),  # OpenSMTPD (Postfix: "postfix/smtpd[")
    (("exim",), EXIM_NEEDLES),
)


def wanted_elsewhere(line: str) -> bool:
    """May a line the parser does not hand straight to a Postfix daemon's parser give
    an event? (It holds `status=`, a Postfix word, or a word of an MTA whose name it
    holds: sendmail, sm-mta, OpenSMTPD's smtpd, Exim, or Exim's main-log shape.)"""
    if not line:
        return False
    if STATUS in line:
        return True
    for needle in _POSTFIX:
        if needle in line:
            return True
    if line[10:11] == " " and line[4:5] == "-":  # Exim's main log: "2026-11-27 10:00:00 "
        for needle in EXIM_NEEDLES:
            if needle in line:
                return True
    for names, needles in _OTHERS:
        if any(name in line for name in names):
            for needle in needles:
                if needle in line:
                    return True
    return False
