"""The local MTA's log as a counter: events by MTA, direction, cause and phase.

The log is followed from its end (like `tail -F`, through rotation) or from journald, in
a thread; the counter has no per-recipient or per-domain labels, so its series stay few.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from smtpdoctor.logs.events import EventKind, LogEvent, Status
from smtpdoctor.logs.parser import parse_line

JOURNAL = "journal"
DEFAULT_LOGS = (Path("/var/log/mail.log"), Path("/var/log/maillog"))
COUNTED = frozenset({EventKind.DELIVERY, EventKind.FAILURE, EventKind.SERVER_TIMEOUT})


def event_labels(event: LogEvent) -> tuple[str, str, str, str] | None:
    """(mta, direction, cause, phase) for a counted event, None for the rest."""
    if event.kind not in COUNTED:
        return None
    direction = "inbound" if event.kind is EventKind.SERVER_TIMEOUT else "outbound"
    if event.cause is not None:
        cause = event.cause.value
    elif event.status is Status.SENT:
        cause = "ok"
    else:
        cause = "unclassified"
    return event.mta, direction, cause, event.phase.value if event.phase else ""


class LogMetrics(Collector):
    """Counts log events; ``feed`` lines from any thread, scrape from another."""

    def __init__(self, source: str):
        self.source = source
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str, str]] = Counter()
        self.lines = 0
        self.error = ""
        # Set by the first line or idle tick of the follower: the log is open and read
        # from its end. Until then smtpdoctor_log_follow_up says 0 (a line written
        # before that moment is not counted, and a scraper must be able to tell).
        self.following = False

    def feed(self, lines: Iterable[str | None], stop: threading.Event) -> None:
        """Count events from lines (None: idle tick) until they end or stop is set."""
        for line in lines:
            self.following = True
            if stop.is_set():
                return
            if line is None:
                continue
            event = parse_line(line)
            labels = event_labels(event) if event is not None else None
            with self._lock:
                self.lines += 1
                if labels is not None:
                    self._counts[labels] += 1

    def collect(self) -> Iterator[Metric]:
        """Called by prometheus-client on each scrape."""
        with self._lock:
            counts = sorted(self._counts.items())
            lines = self.lines
        events = CounterMetricFamily(
            "smtpdoctor_log_events",
            "Delivery attempts and session failures in the mail log, by cause and phase",
            labels=["mta", "direction", "cause", "phase"],
        )
        for labels, count in counts:
            events.add_metric(list(labels), float(count))
        yield events
        yield _lines_metric(self.source, lines)
        yield GaugeMetricFamily(
            "smtpdoctor_log_follow_up",
            "1 while the mail log is being followed (open, read from its end)",
            value=1.0 if self.following and not self.error else 0.0,
        )


def _lines_metric(source: str, lines: int) -> Metric:
    family = CounterMetricFamily("smtpdoctor_log_lines", "Mail log lines read", labels=["source"])
    family.add_metric([source], float(lines))
    return family


def default_source() -> str | None:
    """The mail log doctor would read: /var/log/mail.log or /var/log/maillog."""
    return next((str(p) for p in DEFAULT_LOGS if p.exists()), None)


def start_following(metrics: LogMetrics, stop: threading.Event) -> threading.Thread:
    """Follow ``metrics.source`` in a daemon thread (from the end: counters start at 0)."""

    def run() -> None:
        try:
            if metrics.source == JOURNAL:
                from smtpdoctor.logs.journal import iter_journal

                metrics.feed(iter_journal(since="now", follow=True), stop)
            else:
                from smtpdoctor.logs.follow import follow_lines

                metrics.feed(follow_lines(Path(metrics.source), from_start=False), stop)
        except Exception as exc:  # reported as smtpdoctor_log_follow_up 0 and on stderr
            metrics.error = str(exc)
            sys.stderr.write(f"smtpdoctor monitor: cannot follow {metrics.source}: {exc}\n")

    thread = threading.Thread(target=run, name="mail log", daemon=True)
    thread.start()
    return thread
