"""The local MTA's queue as metrics: messages by queue and cause, and the oldest message.

Labels stay bounded: queue names and cause codes only, never a domain or recipient.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from smtpdoctor.mta.detect import MtaOptions, detect, read_queue
from smtpdoctor.mta.model import QueuedMessage, QueueSnapshot
from smtpdoctor.mta.runner import ToolError


def message_cause(message: QueuedMessage) -> str:
    """The cause code most of a message's recipients wait for; 'none' when nothing failed
    yet (active, incoming), 'unclassified' when a reason is known but has no code."""
    codes = Counter(r.cause.value for r in message.recipients if r.cause is not None)
    if codes:
        return codes.most_common(1)[0][0]
    return "unclassified" if any(r.reason for r in message.recipients) else "none"


@dataclass(frozen=True)
class QueueReading:
    """One look at the queue, reduced to metric values."""

    mta: str
    taken_at: float
    messages: dict[tuple[str, str], int] = field(default_factory=dict)  # (queue, cause)
    oldest_s: dict[str, float] = field(default_factory=dict)  # queue -> age of the oldest
    error: str = ""


def reduce_queue(snapshot: QueueSnapshot) -> QueueReading:
    """Counts by (queue, cause) and the oldest message per queue."""
    now = snapshot.taken_at
    counts: Counter[tuple[str, str]] = Counter()
    oldest: dict[str, float] = {}
    for message in snapshot.messages:
        counts[(message.queue_name, message_cause(message))] += 1
        if message.arrival is not None:
            age = max(0.0, (now - message.arrival).total_seconds())
            oldest[message.queue_name] = max(oldest.get(message.queue_name, 0.0), age)
    return QueueReading(snapshot.mta.value, now.timestamp(), dict(counts), oldest)


def read(options: MtaOptions) -> QueueReading | None:
    """Read the queue (blocking: run it in a thread); None when there is no MTA."""
    mta = detect(options)
    if mta is None:
        return None
    try:
        return reduce_queue(read_queue(options, mta))
    except ToolError as exc:
        return QueueReading(mta.value, time.time(), error=str(exc))


class QueueMetrics(Collector):
    """The last reading, served on every scrape (the queue is read on its own schedule)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reading: QueueReading | None = None
        self._last_good: QueueReading | None = None

    def update(self, reading: QueueReading | None) -> None:
        """Store a new reading (a failed read keeps the last good values, flagged)."""
        with self._lock:
            self._reading = reading
            if reading is not None and not reading.error:
                self._last_good = reading

    def collect(self) -> Iterator[Metric]:
        """Called by prometheus-client on each scrape."""
        with self._lock:
            reading, good = self._reading, self._last_good
        if reading is None:
            return
        yield GaugeMetricFamily(
            "smtpdoctor_queue_read_success",
            "1 when the last read of the MTA's queue worked",
            value=0.0 if reading.error else 1.0,
        )
        if good is None:
            return
        messages = GaugeMetricFamily(
            "smtpdoctor_queue_messages",
            "Messages in the MTA's queue, by queue and the cause most recipients wait for",
            labels=["queue", "cause"],
        )
        for (queue, cause), count in sorted(good.messages.items()):
            messages.add_metric([queue, cause], float(count))
        yield messages
        oldest = GaugeMetricFamily(
            "smtpdoctor_queue_oldest_seconds",
            "Age of the oldest message in each queue",
            labels=["queue"],
        )
        for queue, age in sorted(good.oldest_s.items()):
            oldest.add_metric([queue], age)
        yield oldest
        yield GaugeMetricFamily(
            "smtpdoctor_queue_read_timestamp_seconds",
            "When the queue was last read successfully",
            value=good.taken_at,
        )
