"""The mail-log counter's health gauge says 1 only once the log is really followed."""

from __future__ import annotations

import threading
from pathlib import Path

from smtpdoctor.logs.follow import follow_lines
from smtpdoctor.monitor.log_metrics import LogMetrics


def _follow_up(metrics: LogMetrics) -> float:
    (gauge,) = [m for m in metrics.collect() if m.name == "smtpdoctor_log_follow_up"]
    return float(gauge.samples[0].value)


def test_follow_up_is_zero_until_the_log_is_open_at_its_end(tmp_path: Path) -> None:
    """A line written before the follower has opened the log (and gone to its end) is
    not counted: until then the gauge must not say the log is followed."""
    log = tmp_path / "mail.log"
    log.write_text("Nov 27 10:00:00 mx postfix/qmgr[1]: 4B1: removed\n")
    metrics = LogMetrics(str(log))
    stop = threading.Event()
    assert _follow_up(metrics) == 0.0
    lines = follow_lines(log, poll=0.01, from_start=False)
    # One idle tick (the follower is open at the end), then stop.
    ticks = iter([next(lines)])
    metrics.feed(ticks, stop)
    assert _follow_up(metrics) == 1.0
    assert metrics.lines == 0  # the line written before it opened is not counted
    lines.close()


def test_an_error_takes_the_gauge_back_to_zero(tmp_path: Path) -> None:
    metrics = LogMetrics(str(tmp_path / "mail.log"))
    metrics.feed(iter([None]), threading.Event())
    assert _follow_up(metrics) == 1.0
    metrics.error = "cannot follow"
    assert _follow_up(metrics) == 0.0
