"""Prometheus metrics: the scheduled targets' state (/metrics) and one probe's (/probe).

The scheduled metrics come from a custom collector over the latest samples rather than
prometheus-client's labelled metric objects, so a target removed by a reload disappears
from the output instead of lingering with its last value.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from smtpdoctor import __version__
from smtpdoctor.monitor.sample import VERDICTS, ProbeSample
from smtpdoctor.phases import Phase

# SMTP phases last from a millisecond on loopback to RFC 5321's ten minutes for the end of
# data; 300 s and 600 s are the RFC limits, 30 s and 60 s common client timeouts.
BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
)  # fmt: skip


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, count in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


@dataclass
class _TargetStats:
    last: ProbeSample
    verdicts: dict[str, int] = field(default_factory=dict)
    phases: dict[str, _Histogram] = field(default_factory=dict)
    duration: _Histogram = field(default_factory=_Histogram)


class TargetMetrics(Collector):
    """The scheduled targets: fed samples by the runner, read by scrapes (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[str, _TargetStats] = {}
        self.reloads_ok = 0
        self.reloads_failed = 0
        self.last_reload_ok = True
        self.last_reload_at = time.time()
        self.started_at = time.time()
        self.in_flight: Callable[[], int] = lambda: 0
        self.lag: Callable[[], float] = lambda: 0.0

    def record(self, sample: ProbeSample) -> None:
        """Add a probe's outcome."""
        with self._lock:
            stats = self._stats.get(sample.target)
            if stats is None:
                stats = self._stats[sample.target] = _TargetStats(sample)
            stats.last = sample
            stats.verdicts[sample.verdict] = stats.verdicts.get(sample.verdict, 0) + 1
            stats.duration.observe(sample.duration_s)
            for phase, seconds in sample.phases:
                stats.phases.setdefault(phase, _Histogram()).observe(seconds)

    def keep_only(self, names: Iterable[str]) -> None:
        """Forget targets no longer configured."""
        wanted = set(names)
        with self._lock:
            for name in [n for n in self._stats if n not in wanted]:
                del self._stats[name]

    def latest(self) -> list[ProbeSample]:
        """The last sample of every target."""
        with self._lock:
            return [s.last for s in self._stats.values()]

    def collect(self) -> Iterator[Metric]:
        """Called by prometheus-client on each scrape."""
        with self._lock:
            stats = sorted(self._stats.items())
            yield from self._targets(stats)
        yield from self._health(len(stats))

    def _targets(self, stats: list[tuple[str, _TargetStats]]) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "smtpdoctor_target_up",
            "1 when mail gets through to the target (verdict ok or degraded), else 0",
            labels=["target"],
        )
        verdict = GaugeMetricFamily(
            "smtpdoctor_target_verdict",
            "1 for the verdict of the target's last probe",
            labels=["target", "verdict"],
        )
        causes = GaugeMetricFamily(
            "smtpdoctor_target_cause_info",
            "1 for each cause the last probe diagnosed (codes from `smtpdoctor explain`)",
            labels=["target", "cause", "phase", "severity"],
        )
        last_phase = GaugeMetricFamily(
            "smtpdoctor_target_phase_last_seconds",
            "How long each phase took in the last probe",
            labels=["target", "phase"],
        )
        phases = HistogramMetricFamily(
            "smtpdoctor_target_phase_duration_seconds",
            "How long each SMTP phase took, per probe",
            labels=["target", "phase"],
        )
        durations = HistogramMetricFamily(
            "smtpdoctor_target_probe_duration_seconds",
            "How long whole probes took",
            labels=["target"],
        )
        probes = CounterMetricFamily(
            "smtpdoctor_probes", "Probes run, by verdict", labels=["target", "verdict"]
        )
        last = GaugeMetricFamily(
            "smtpdoctor_target_last_probe_timestamp_seconds",
            "When the last probe of the target started",
            labels=["target"],
        )
        status = GaugeMetricFamily(
            "smtpdoctor_target_status_code",
            "The last SMTP reply code the probe saw",
            labels=["target"],
        )
        expiry = GaugeMetricFamily(
            "smtpdoctor_target_cert_expiry_timestamp_seconds",
            "When the earliest certificate of the target's chain expires",
            labels=["target"],
        )
        for name, st in stats:
            s = st.last
            up.add_metric([name], 1.0 if s.up else 0.0)
            for v in VERDICTS:
                verdict.add_metric([name, v], 1.0 if s.verdict == v else 0.0)
            seen: set[tuple[str, str, str]] = set()
            for c in s.causes:
                key = (c.cause, c.phase, c.severity)
                if key not in seen:  # the same cause on two addresses is one series
                    seen.add(key)
                    causes.add_metric([name, *key], 1.0)
            for phase, seconds in s.phases:
                last_phase.add_metric([name, phase], seconds)
            for phase in sorted(st.phases, key=lambda p: Phase(p).order):
                h = st.phases[phase]
                phases.add_metric([name, phase], h.buckets(), h.total)
            durations.add_metric([name], st.duration.buckets(), st.duration.total)
            for v in VERDICTS:
                probes.add_metric([name, v], float(st.verdicts.get(v, 0)))
            last.add_metric([name], s.started_at)
            if s.status_code is not None:
                status.add_metric([name], float(s.status_code))
            if s.cert_expiry is not None:
                expiry.add_metric([name], s.cert_expiry)
        yield from (up, verdict, causes, last_phase, phases, durations, probes, last, status)
        yield expiry

    def _health(self, targets: int) -> Iterator[Metric]:
        info = InfoMetricFamily("smtpdoctor_monitor_build", "The monitor's version")
        info.add_metric([], {"version": __version__})
        yield info
        yield GaugeMetricFamily(
            "smtpdoctor_monitor_targets", "Targets being probed on schedule", value=targets
        )
        yield GaugeMetricFamily(
            "smtpdoctor_monitor_probes_in_flight", "Probes running now", value=self.in_flight()
        )
        yield GaugeMetricFamily(
            "smtpdoctor_monitor_schedule_lag_seconds",
            "How late the last probe started against its slot (the concurrency limit is "
            "too low when this grows)",
            value=self.lag(),
        )
        yield GaugeMetricFamily(
            "smtpdoctor_monitor_config_last_reload_successful",
            "1 when the last config (re)load succeeded",
            value=1.0 if self.last_reload_ok else 0.0,
        )
        yield GaugeMetricFamily(
            "smtpdoctor_monitor_config_last_reload_success_timestamp_seconds",
            "When the config was last loaded successfully",
            value=self.last_reload_at,
        )
        yield GaugeMetricFamily(
            "smtpdoctor_monitor_start_time_seconds",
            "When the monitor started",
            value=self.started_at,
        )


def monitor_registry(targets: TargetMetrics, *extra: Collector) -> CollectorRegistry:
    """The /metrics registry: targets, extra collectors (queue, log) and process stats."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(targets)
    for collector in extra:
        registry.register(collector)
    ProcessCollector(registry=registry)
    return registry


class _ProbeCollector(Collector):
    """One /probe answer, in blackbox_exporter's names plus the SMTP-specific ones."""

    def __init__(self, sample: ProbeSample):
        self.sample = sample

    def collect(self) -> Iterator[Metric]:
        s = self.sample
        g = GaugeMetricFamily
        yield g("probe_success", "1 when mail gets through (verdict ok or degraded)", value=s.up)
        yield g("probe_duration_seconds", "How long the probe took", value=s.duration_s)
        if s.dns_s is not None:
            yield g(
                "probe_dns_lookup_time_seconds", "How long resolving the target took", value=s.dns_s
            )
        phases = g(
            "probe_smtp_phase_duration_seconds",
            "How long each SMTP phase took",
            labels=["phase"],
        )
        for phase, seconds in s.phases:
            phases.add_metric([phase], seconds)
        yield phases
        causes = g(
            "probe_smtp_cause_info",
            "1 for each diagnosed cause (codes from `smtpdoctor explain`)",
            labels=["cause", "phase", "severity"],
        )
        seen: set[tuple[str, str, str]] = set()
        for c in s.causes:
            key = (c.cause, c.phase, c.severity)
            if key not in seen:
                seen.add(key)
                causes.add_metric(list(key), 1.0)
        yield causes
        verdict = g("probe_smtp_verdict", "1 for the probe's verdict", labels=["verdict"])
        for v in VERDICTS:
            verdict.add_metric([v], 1.0 if s.verdict == v else 0.0)
        yield verdict
        if s.status_code is not None:
            yield g("probe_smtp_status_code", "The last SMTP reply code", value=s.status_code)
        if s.cert_expiry is not None:
            yield g(
                "probe_ssl_earliest_cert_expiry",
                "When the earliest certificate of the chain expires (Unix time)",
                value=s.cert_expiry,
            )
        yield g(
            "probe_ip_protocol",
            "The IP version of the reported endpoint (4 or 6; 0 when none was reached)",
            value=s.ip_protocol,
        )


def probe_registry(sample: ProbeSample) -> CollectorRegistry:
    """A fresh registry holding one probe's metrics (blackbox_exporter's /probe model)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProbeCollector(sample))
    return registry
