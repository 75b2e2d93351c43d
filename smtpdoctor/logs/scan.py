"""Finding the few lines that matter in a large block of log text, at C speed.

A busy relay's log is mostly lines no parser needs (smtpd connect/disconnect, cleanup,
qmgr `from=`, TLS notes). Only the lines holding a needle below are handed to the
parser. In a block of Postfix lines only (the usual case) the block is split once and
each line tested with `in` (C) for the Postfix needles, the most frequent first; where
other MTAs' programs show up, their needles are added and each is searched through the
whole block with `str.find`. Every line `parse_line` turns into an event contains at
least one needle (a property test checks this).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache

from smtpdoctor.logs.syslog import MONTHS

_POSTFIX = (  # the most frequent first (_postfix_lines stops at the first found)
    "status=",
    ": removed",
    "connect to ",
    "conversation with ",
    "lost connection with ",
    "timeout after ",
    "TLS handshake",
    "SSL_connect error",
    "mail system is down",
)
_SENDMAIL = ("stat=", "timeout waiting for input", "Cannot send message for")
_OPENSMTPD = (" mta ", ", stat=", "Failed to resolve MX", "Error on session")
_EXIM: tuple[str, ...] = (  # boxed: compared by identity below, compiled (mypyc) too
    " == ",
    " ** ",
    " => ",
    " -> ",
    " *> ",
    " Completed",
    "timed out",
    "refused",
    "unreachable",
)
# Each group is searched only in blocks where its detector shows up: a Postfix log
# costs its nine needles, not all of them. The Postfix group is always searched
# (its programs can be renamed with syslog_name).
_GROUPS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    ((), _POSTFIX),
    (("sendmail", " sm-"), _SENDMAIL),  # sendmail, sm-mta, sm-msp-queue, sendmail-mta
    ((" smtpd[", " transfer["), _OPENSMTPD),  # OpenSMTPD; Postfix's is "postfix/smtpd["
    (("exim",), _EXIM),
)
NEEDLES: tuple[str, ...] = _POSTFIX + _SENDMAIL + _OPENSMTPD + _EXIM
# A literal first character: the engine skips from newline to newline (fast).
_EXIM_MAIN = re.compile(r"\n\d{4}-\d\d-\d\d \d\d:")
_STARTS = tuple("\n" + m for m in MONTHS) + tuple(f"\n{d}" for d in range(10))


def interesting_lines(block: str, lines: int | None = None) -> Iterator[str]:
    """The lines of block (complete lines, '\\n'-separated) that hold any needle, in order
    (lines: the block's count of '\\n', when the caller has it)."""
    starts: set[int] = set()
    find = block.find
    rfind = block.rfind
    needles: list[str] = []
    for detectors, group in _GROUPS:
        if not detectors or any(d in block for d in detectors):
            needles.extend(group)
        elif group is _EXIM and (
            _EXIM_MAIN.match("\n" + block[:20]) is not None or _EXIM_MAIN.search(block) is not None
        ):
            needles.extend(group)  # an Exim main log: "2026-11-27 10:00:00 ..."
    if len(needles) == len(_POSTFIX):
        # Postfix lines only (the usual case): one split, and for each line the needles
        # tested with `in` (C), the most frequent first; a line without any costs nine
        # short searches, far less than nine passes over the block or one regex search.
        yield from _postfix_lines(block)
        return
    if lines is None:
        lines = block.count("\n")
    if block.count("status=") * 3 > lines:
        # Most lines hold a needle (a log full of deliveries and deferrals): one regex
        # search per line costs less than finding each needle's lines one by one.
        search = _any_of(tuple(needles))
        yield from filter(search, block.split("\n"))
        return
    for needle in needles:
        pos = find(needle)
        while pos >= 0:
            start = rfind("\n", 0, pos) + 1
            starts.add(start)
            end = find("\n", pos)
            if end < 0:
                break
            pos = find(needle, end)
    for start in sorted(starts):
        end = find("\n", start)
        yield block[start:] if end < 0 else block[start:end]


def _postfix_lines(block: str) -> list[str]:
    n1, n2, n3, n4, n5, n6, n7, n8, n9 = _POSTFIX
    return [
        line
        for line in block.split("\n")
        if n1 in line or n2 in line or n3 in line or n4 in line or n5 in line
        or n6 in line or n7 in line or n8 in line or n9 in line
    ]  # fmt: skip


@lru_cache(maxsize=16)
def _any_of(needles: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    return re.compile("|".join(re.escape(n) for n in needles)).search


def count_log_lines(block: str) -> int:
    """How many lines of block start like a log line (a month name or a digit)."""
    head = block[:3]
    first = 1 if head in MONTHS or "0" <= head[:1] <= "9" else 0
    lines = block.count("\n")
    # The usual case, one count: every line starts like the first (same month/year).
    if first and block.count("\n" + (head if head in MONTHS else head[:1])) + 1 >= lines:
        return lines
    return first + sum(block.count(s) for s in _STARTS)
