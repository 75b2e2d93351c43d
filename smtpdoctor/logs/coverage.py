"""How much of a log smtpdoctor could read: lines whose header it understood, lines an
MTA wrote, lines in no format it knows, NUL runs skipped and overlong lines cut.

Counted per block of text (its lines counted by the parser as it reads them) with
`str.count` and one regular expression, at C speed;
the first few unreadable lines are kept to show the user what the file looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smtpdoctor.logs.syslog import MONTHS

# A header smtpdoctor reads: classic syslog (optionally with <PRI>), RFC 3339/ISO
# (with T or a space), RFC 5424, or Exim's main log (date, time, optional zone).
_HEADER = re.compile(
    r"^(?:<\d{1,3}>(?:1 )?)?(?:(?:"
    + "|".join(MONTHS)
    + r") [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)",
    re.MULTILINE,
)
# Words that show an MTA wrote the line (syslog program names, Exim's message ids).
_MTA_WORDS = (" postfix", " sendmail[", " sm-mta[", " sm-msp-queue[", " exim", " smtpd[")
# Exim main log lines (matched after a newline: a literal start, fast).
_EXIM_MAIN = re.compile(
    r"\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [+-]\d{4})? (?:\[\d+\] )?\S"
)
SAMPLES = 3


@dataclass(frozen=True)
class Coverage:
    """What share of the input smtpdoctor could read."""

    lines: int = 0
    parsed: int = 0  # lines with a header smtpdoctor understands
    recognised: int = 0  # of those, lines an MTA (Postfix, Exim, Sendmail, OpenSMTPD) wrote
    binary: int = 0  # runs of NUL bytes skipped (copytruncate, a crash)
    truncated: int = 0  # lines longer than the cap, cut
    first_unparsed: tuple[str, ...] = ()

    @property
    def unparsed(self) -> int:
        """Lines in no format smtpdoctor reads."""
        return self.lines - self.parsed

    @property
    def unreadable(self) -> bool:
        """Nothing parses, no MTA line at all, or most lines are in no known format:
        whatever the groups say, this is not a log smtpdoctor can judge."""
        if self.lines == 0:
            return self.binary > 0  # nothing but NUL bytes
        return self.parsed == 0 or self.recognised == 0 or self.unparsed * 2 > self.lines


class CoverageCounter:
    """Accumulates Coverage over blocks of complete lines."""

    def __init__(self) -> None:
        self.lines = self.parsed = self.recognised = self.binary = self.truncated = 0
        self.samples: list[str] = []

    def count_block(self, block: str, lines: int) -> None:
        """Count a block of complete, newline-terminated lines, `lines` of them (the
        parser's read_block counts them as it reads the block)."""
        if not lines:
            return
        self.lines += lines
        parsed = _count_headers(block, lines)
        self.parsed += parsed
        if parsed < lines and len(self.samples) < SAMPLES:
            self._sample(block)
        # Line by line the same whatever the block boundaries (byte ranges agree).
        mta = 0
        for word in _MTA_WORDS:  # " postfix" first: on most logs it accounts for all
            mta += block.count(word)
            if mta >= parsed:
                break
        # Exim's main log has no program name: its lines are counted by their shape,
        # unless the words above already account for every parsed line.
        if mta < parsed and ("-" in block[:5] or "\n1" in block or "\n2" in block):
            mta += len(_EXIM_MAIN.findall("\n" + block))
        self.recognised += min(mta, parsed)

    def _sample(self, block: str) -> None:
        for line in block.splitlines():
            if line.strip() and _HEADER.match(line) is None:
                self.samples.append(line[:200])
                if len(self.samples) >= SAMPLES:
                    return

    def snapshot(self) -> Coverage:
        """The counts so far."""
        return Coverage(
            self.lines,
            self.parsed,
            self.recognised,
            self.binary,
            self.truncated,
            tuple(self.samples),
        )


def _count_headers(block: str, lines: int) -> int:
    # The usual case, C speed: every line starts like the first (same month or year).
    head = block[:4]
    if _HEADER.match(block) is not None and block.count("\n" + head) + 1 >= lines:
        return lines
    return len(_HEADER.findall(block))
