"""Finding the few lines that matter in a large block of log text, cheaply.

A busy relay's log is mostly lines no parser needs (smtpd connect/disconnect, cleanup,
qmgr `from=`, TLS notes). Only the lines that could give an event are handed to the
parser, decided line by line with `in` tests (C) and no copy of the line:

- a line holding `status=` (most lines that matter) is kept at once;
- a Postfix line is routed the way parse_line routes it (`postfix_daemon`, index
  arithmetic), and kept only if it holds one of its daemon's words (smtpd:
  `timeout after `, cleanup: none, ...: the parser's own tables);
- any other line (another MTA, a header parse_line rewrites first, a line in no
  format) is kept if it holds a Postfix word, or a word of an MTA whose name it holds
  (sendmail, sm-mta, OpenSMTPD's smtpd, Exim, or Exim's main-log shape).

Line by line, so the lines kept do not depend on where blocks start and end. Every line
parse_line turns into an event is kept (a property test checks this).
"""

from __future__ import annotations

from typing import Final

from smtpdoctor.logs.parser import (
    CLIENT_NEEDLES,
    DOWN_NEEDLES,
    OPENSMTPD_NEEDLES,
    QMGR_NEEDLES,
    SENDMAIL_NEEDLES,
    SERVER_NEEDLES,
    postfix_daemon,
    postfix_needles,
)

_STATUS: Final = "status="
# Every Postfix word, for Postfix lines parse_line reaches only after rewriting the
# header (RFC 5424, <PRI>, ISO stamps written with a space).
_POSTFIX: Final[tuple[str, ...]] = QMGR_NEEDLES + SERVER_NEEDLES + DOWN_NEEDLES + CLIENT_NEEDLES
_EXIM: Final[tuple[str, ...]] = (
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
# (the words that name the MTA in a line, the words its parser needs): a syslog line's
# program name is in the line itself.
_OTHERS: Final[tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = (
    (("sendmail", " sm-"), SENDMAIL_NEEDLES),  # sendmail, sm-mta, sm-msp-queue
    ((" smtpd[", " transfer["), OPENSMTPD_NEEDLES),  # OpenSMTPD (Postfix: "postfix/smtpd[")
    (("exim",), _EXIM),
)


def interesting_lines(block: str) -> list[str]:
    """The lines of block (complete lines, '\\n'-separated) that may give an event, in
    order."""
    needles_of: dict[str, tuple[str, ...]] = {}
    kept: list[str] = []
    for line in block.split("\n"):
        if _STATUS in line:
            kept.append(line)
            continue
        daemon = postfix_daemon(line)
        if daemon is None:
            if _other_line_wanted(line):
                kept.append(line)
            continue
        needles = needles_of.get(daemon)
        if needles is None:
            needles = needles_of[daemon] = postfix_needles(daemon)
        for needle in needles:
            if needle in line:
                kept.append(line)
                break
    return kept


def _other_line_wanted(line: str) -> bool:
    """May a line parse_line does not hand straight to the Postfix parser give an event?"""
    if not line:
        return False
    for needle in _POSTFIX:
        if needle in line:
            return True
    if line[10:11] == " " and line[4:5] == "-":  # Exim's main log: "2026-11-27 10:00:00 "
        for needle in _EXIM:
            if needle in line:
                return True
    for names, needles in _OTHERS:
        if any(name in line for name in names):
            for needle in needles:
                if needle in line:
                    return True
    return False
