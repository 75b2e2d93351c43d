"""`smtpdoctor logs --csv`: one row per group, for spreadsheets."""

from __future__ import annotations

import csv
import io

from smtpdoctor.catalogue import describe
from smtpdoctor.logs.model import LogReport

COLUMNS = (
    "cause",
    "title",
    "phase",
    "destination",
    "relay",
    "direction",
    "count",
    "first_seen",
    "last_seen",
    "check",
    "sample",
)


def render(report: LogReport) -> str:
    """CSV text with a header row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for g in report.groups:
        w.writerow(
            (
                g.cause,
                describe(g.cause).title,
                g.phase or "",
                g.destination,
                g.relay,
                g.direction,
                g.count,
                g.first_seen.isoformat() if g.first_seen else "",
                g.last_seen.isoformat() if g.last_seen else "",
                g.check_command or "",
                g.sample,
            )
        )
    c = report.coverage
    # The last row: how much of the input was read (cause "(coverage)").
    w.writerow(
        (
            "(coverage)",
            "could not read this log" if c.unreadable else "read",
            "",
            "",
            "",
            "",
            c.lines,
            "",
            "",
            "",
            f"lines={c.lines} parsed={c.parsed} recognised={c.recognised} "
            f"unparsed={c.unparsed} binary_skipped={c.binary} truncated={c.truncated}",
        )
    )
    return buf.getvalue()
