"""The running monitor: config, schedule, metrics, history, hooks and the HTTP listener."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.registry import Collector

from smtpdoctor.exitcodes import CouldNotRun, UsageError
from smtpdoctor.monitor import probing
from smtpdoctor.monitor.config import MonitorConfig, parse_listen
from smtpdoctor.monitor.history import History, default_path, summarize
from smtpdoctor.monitor.hooks import StateTracker, deliver, log_problems
from smtpdoctor.monitor.log_metrics import LogMetrics, default_source, start_following
from smtpdoctor.monitor.metrics import TargetMetrics, monitor_registry
from smtpdoctor.monitor.queue_metrics import QueueMetrics
from smtpdoctor.monitor.queue_metrics import read as read_queue_metrics
from smtpdoctor.monitor.runner import Runner
from smtpdoctor.monitor.sample import ProbeSample
from smtpdoctor.monitor.server import MonitorHTTPServer
from smtpdoctor.monitor.status_page import render
from smtpdoctor.monitor.webconfig import BasicAuth, load_web_config
from smtpdoctor.mta.detect import MtaOptions

STATUS_WINDOW_S = 86400.0
PLOT_POINTS = 500


def status_rows(history: History, names: list[str] | None = None) -> list[Any]:
    """(summary, samples) per target over the last day, for the page and `status`."""
    since = time.time() - STATUS_WINDOW_S
    rows = []
    for name in names if names is not None else history.targets():
        samples = history.samples(name, since)
        summary = summarize(name, samples, since)
        if summary is not None:
            rows.append((summary, samples[-PLOT_POINTS:]))
    return rows


def status_document(rows: list[Any]) -> dict[str, Any]:
    """The `smtpdoctor.monitor.status/1` JSON document."""
    targets = []
    for summary, _ in rows:
        last: ProbeSample = summary.last
        targets.append(
            {
                "target": summary.target,
                "verdict": last.verdict,
                "last_probe": last.started_at,
                "endpoint": last.endpoint or None,
                "causes": [
                    {
                        "cause": c.cause,
                        "phase": c.phase or None,
                        "severity": c.severity,
                        "summary": c.summary,
                        "fix": c.fix or None,
                    }
                    for c in last.causes
                ],
                "error": last.error or None,
                "uptime": round(summary.uptime, 4),
                "samples": summary.samples,
                "since": summary.since,
                "last_change": summary.last_change,
                "phases": {
                    p: {"p50_s": round(p50, 4), "p95_s": round(p95, 4)}
                    for p, (p50, p95) in summary.percentiles.items()
                },
            }
        )
    return {
        "schema": "smtpdoctor.monitor.status/1",
        "window_s": STATUS_WINDOW_S,
        "targets": targets,
    }


class Monitor:
    """One monitor process; ``run()`` until SIGTERM/SIGINT, SIGHUP reloads."""

    def __init__(
        self,
        config: MonitorConfig,
        reload: Callable[[], MonitorConfig] | None = None,
        history_path: Path | None = None,
        mta: MtaOptions | None = None,
    ):
        self.config = config
        self.mta = mta or MtaOptions()
        self.queue = QueueMetrics()
        self._reload = reload
        self.metrics = TargetMetrics()
        self.history_path = history_path or config.history or default_path()
        self.tracker = StateTracker(config.hooks.min_interval_s)
        source = str(config.mail_log) if config.mail_log is not None else default_source()
        self.log = LogMetrics(source) if source and source != "off" else None
        self._log_stop = threading.Event()
        extra: list[Collector] = [self.queue] + ([self.log] if self.log else [])
        self.registry = monitor_registry(self.metrics, *extra)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self.http: MonitorHTTPServer | None = None
        self.history: History | None = None
        self.scheme = "http"
        self._hook_tasks: set[asyncio.Task[None]] = set()

    # -- samples -------------------------------------------------------------

    def _sink(self, sample: ProbeSample) -> None:
        self.metrics.record(sample)
        if self.history is not None:
            try:
                self.history.add(sample)
            except Exception as exc:  # a full disk must not stop the probes
                sys.stderr.write(f"smtpdoctor monitor: history: {exc}\n")
        self._notify(self.tracker.observe(sample, time.time()))

    def _notify(self, change: Any) -> None:
        hooks = self.config.hooks
        if change is None or not (hooks.command or hooks.webhook):
            return

        async def send() -> None:
            log_problems(await deliver(change, hooks))

        task = asyncio.get_running_loop().create_task(send())
        self._hook_tasks.add(task)
        task.add_done_callback(self._hook_tasks.discard)

    async def _flush_held(self) -> None:
        """Send changes that were held by the rate limit once their quiet time ends."""
        while True:
            await asyncio.sleep(min(5.0, max(self.config.hooks.min_interval_s, 0.5)))
            for name in self.tracker.held():
                self._notify(self.tracker.due(name, time.time()))

    async def _read_queue(self) -> None:
        """Read the local MTA's queue every interval (never more often than every 5 s)."""
        while True:
            if self.config.queue:
                self.queue.update(await asyncio.to_thread(read_queue_metrics, self.mta))
            await asyncio.sleep(max(self.config.interval_s, 5.0))

    # -- HTTP side (runs in the server's threads) ----------------------------

    def probe_now(self, target: str, module: str, timeout: float) -> ProbeSample:
        """A /probe: run on the event loop, wait here for at most the timeout."""
        assert self._loop is not None
        config = self.config
        coro = probing.probe(target, target, module, config.modules[module], timeout)
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout + 1.0)

    def _status_rows(self) -> list[Any]:
        if not self.history_path.exists():
            return []
        history = History(self.history_path, readonly=True)
        try:
            return status_rows(history, [t.name for t in self.config.targets])
        finally:
            history.close()

    def status_html(self) -> str:
        """The page at /."""
        return render(self._status_rows())

    def status_json(self) -> dict[str, Any]:
        """The document at /api/status."""
        return status_document(self._status_rows())

    # -- lifecycle -----------------------------------------------------------

    def _do_reload(self, runner: Runner) -> None:
        if self._reload is None:
            return
        try:
            config = self._reload()
        except UsageError as exc:
            self.metrics.last_reload_ok = False
            sys.stderr.write(f"smtpdoctor monitor: reload failed, keeping the old config: {exc}\n")
            return
        if config.listen != self.config.listen:
            sys.stderr.write("smtpdoctor monitor: listen changed: restart to apply it\n")
        self.config = config
        self.tracker.min_interval_s = config.hooks.min_interval_s
        runner.apply(config)
        self.metrics.keep_only(t.name for t in config.targets)
        self.metrics.last_reload_ok = True
        self.metrics.last_reload_at = time.time()
        sys.stderr.write(f"smtpdoctor monitor: reloaded {len(config.targets)} target(s)\n")

    def start_http(self) -> tuple[str, int]:
        """Bind the listener (before anything else, so a taken port fails at once)."""
        host, port = parse_listen(self.config.listen)
        tls, auth = None, None
        if self.config.web_config is not None:
            web = load_web_config(self.config.web_config)
            tls, auth = web.ssl_context(), BasicAuth(web.users)
        try:
            self.http = MonitorHTTPServer(
                (host, port),
                self.registry,
                self.probe_now,
                lambda: set(self.config.modules),
                self.status_html,
                self.status_json,
                tls,
                auth,
            )
        except OSError as exc:
            raise UsageError(f"cannot listen on {self.config.listen}: {exc.strerror}") from None
        threading.Thread(target=self.http.serve_forever, name="http", daemon=True).start()
        bound = self.http.server_address
        self.scheme = "https" if tls is not None else "http"
        return str(bound[0]), int(bound[1])

    async def run(self, ready: Callable[[tuple[str, int]], None] | None = None) -> None:
        """Probe on schedule and serve until stopped."""
        self._loop = asyncio.get_running_loop()
        try:
            self.history = History(self.history_path, self.config.retention_days)
        except (OSError, sqlite3.Error) as exc:
            raise CouldNotRun(f"{self.history_path}: cannot open the history: {exc}") from None
        address = self.start_http()
        runner = Runner(probing.probe, self._sink)
        self.metrics.in_flight = lambda: runner.running
        self.metrics.lag = lambda: runner.lag_s
        runner.apply(self.config)
        self._loop.add_signal_handler(signal.SIGHUP, self._do_reload, runner)
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._loop.add_signal_handler(sig, self._stop.set)
        flusher = self._loop.create_task(self._flush_held())
        queue_reader = self._loop.create_task(self._read_queue())
        if self.log is not None:
            start_following(self.log, self._log_stop)
        if ready is not None:
            ready(address)
        try:
            await self._stop.wait()
        finally:
            flusher.cancel()
            queue_reader.cancel()
            self._log_stop.set()
            await runner.close()
            await asyncio.gather(*self._hook_tasks, return_exceptions=True)
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                self._loop.remove_signal_handler(sig)
            if self.http is not None:
                self.http.shutdown()
                self.http.server_close()
            self.history.close()

    def stop(self) -> None:
        """Ask run() to return (thread-safe)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
