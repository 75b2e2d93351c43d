"""Text in chunks of any size to blocks of complete lines: NUL runs skipped and
counted, a line longer than MAX_LINE cut to one line and counted. The one way text
enters the analysis, whole files and byte ranges alike (so both give the same lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from smtpdoctor.logs.coverage import CoverageCounter

MAX_LINE = 1 << 20  # a line longer than this is cut (and counted): memory stays bounded
BLOCK = 1 << 20
_NUL_RUN = re.compile("\x00+")


def line_blocks(
    chunks: Iterable[str], coverage: CoverageCounter, block_size: int = BLOCK
) -> Iterator[str]:
    """Blocks of about block_size characters, each a run of complete lines ending in
    a newline (a missing final newline is added). NUL runs and overlong lines are
    counted in coverage."""
    pending: list[str] = []
    size = 0
    carry = ""
    skipping = False  # inside the rest of an overlong line
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size < block_size:
            continue
        block = carry + "".join(pending)
        pending, size = [], 0
        if skipping:  # the rest of an overlong line: dropped up to its end
            nl = block.find("\n")
            if nl < 0:
                carry = ""
                continue
            block = block[nl + 1 :]
            skipping = False
        cut = block.rfind("\n") + 1
        if cut == 0:
            if len(block) < MAX_LINE:
                carry = block
                continue
            # An endless line: its first MAX_LINE characters count as one line.
            coverage.truncated += 1
            skipping = True
            carry = ""
            yield _clean(block[:MAX_LINE] + "\n", coverage)
            continue
        carry = block[cut:]
        yield _clean(block[:cut], coverage)
    block = carry + "".join(pending)
    if skipping:
        nl = block.find("\n")
        block = "" if nl < 0 else block[nl + 1 :]
    if block:
        if len(block) > MAX_LINE and "\n" not in block[:MAX_LINE]:
            coverage.truncated += 1
            block = block[:MAX_LINE]
        yield _clean(block if block.endswith("\n") else block + "\n", coverage)


def _clean(block: str, coverage: CoverageCounter) -> str:
    if "\x00" in block:
        # NUL runs (a copytruncate'd or crashed log): skipped and counted.
        coverage.binary += len(_NUL_RUN.findall(block))
        block = block.replace("\x00", "")
    return block
