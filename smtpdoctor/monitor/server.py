"""The HTTP listener: /metrics, /probe, the status page at / and /api/status.

http.server in threads, not an async web framework: scrapes are few and small, and the
probes themselves run on the monitor's event loop (``run_coroutine_threadsafe``), so a
slow /probe never blocks a /metrics scrape.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.monitor.metrics import probe_registry
from smtpdoctor.monitor.sample import ProbeSample
from smtpdoctor.monitor.webconfig import BasicAuth
from smtpdoctor.target import parse_target

# Like blackbox_exporter: answer this much before Prometheus gives up on the scrape.
SCRAPE_TIMEOUT_OFFSET_S = 0.5
DEFAULT_PROBE_TIMEOUT_S = 10.0
# /probe requests in flight at once; more get 503 at once instead of piling up threads
MAX_PROBES_IN_FLIGHT = 64
MAX_PROBE_TIMEOUT_S = 600.0


class MonitorHTTPServer(ThreadingHTTPServer):
    """The listener; the handler reads its collaborators from here."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        registry: CollectorRegistry,
        probe_now: Callable[[str, str, float], ProbeSample],
        modules: Callable[[], set[str]],
        status_html: Callable[[], str],
        status_json: Callable[[], dict[str, Any]],
        tls: ssl.SSLContext | None = None,
        auth: BasicAuth | None = None,
    ):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        if tls is not None:
            # the handshake happens in the request's thread (first read), not in accept():
            # a client that stalls the handshake cannot hold up other scrapes
            self.socket = tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )
        self.auth = auth
        self.probe_slots = threading.BoundedSemaphore(MAX_PROBES_IN_FLIGHT)
        self.registry = registry
        self.probe_now = probe_now
        self.modules = modules
        self.status_html = status_html
        self.status_json = status_json


class _Handler(BaseHTTPRequestHandler):
    server: MonitorHTTPServer
    server_version = "smtpdoctor-monitor"
    timeout = 30  # seconds a client may take to send its request (and finish a handshake)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes every few seconds would flood the journal

    def _send(
        self, code: int, body: bytes, content_type: str = "text/plain; charset=utf-8"
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def handle(self) -> None:
        # a failed handshake or a client gone mid-request: nothing to answer
        with contextlib.suppress(ssl.SSLError, OSError):
            super().handle()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        auth = self.server.auth
        if auth is not None and not auth.allows(self.headers.get("Authorization")):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="smtpdoctor"')
            self.send_header("Content-Length", "13")
            self.end_headers()
            self.wfile.write(b"Unauthorized\n")
            return
        try:
            if url.path == "/metrics":
                self._send(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
            elif url.path == "/probe":
                self._probe(parse_qs(url.query))
            elif url.path == "/":
                self._send(200, self.server.status_html().encode(), "text/html; charset=utf-8")
            elif url.path == "/api/status":
                body = json.dumps(self.server.status_json(), indent=2).encode()
                self._send(200, body, "application/json")
            elif url.path in ("/-/healthy", "/-/ready"):
                self._send(200, b"OK\n")
            else:
                self._send(404, b"not found: try /metrics, /probe?target=HOST:PORT or /\n")
        except BrokenPipeError:
            pass

    def _probe(self, query: dict[str, list[str]]) -> None:
        target = (query.get("target") or [""])[0]
        module = (query.get("module") or ["default"])[0]
        problem = self._probe_problem(target, module)
        if problem is not None:
            self._send(400, problem.encode())
            return
        timeout = self._scrape_timeout()
        if timeout is None:
            self._send(400, b"bad X-Prometheus-Scrape-Timeout-Seconds\n")
            return
        if not self.server.probe_slots.acquire(blocking=False):
            self._send(503, b"too many probes in flight\n")
            return
        started = time.monotonic()
        try:
            sample = self.server.probe_now(target, module, timeout)
        except FutureTimeout:
            self._send(503, b"probe did not finish in time\n")
            return
        finally:
            self.server.probe_slots.release()
        body = generate_latest(probe_registry(sample))
        if time.monotonic() - started > timeout + SCRAPE_TIMEOUT_OFFSET_S:
            self._send(503, b"probe did not finish in time\n")
            return
        self._send(200, body, CONTENT_TYPE_LATEST)

    def _probe_problem(self, target: str, module: str) -> str | None:
        """Why a /probe request cannot run (the 400 body), or None."""
        if not target:
            return "target parameter is missing\n"
        try:
            parse_target(target)
        except UsageError as exc:
            return f"bad target: {exc}\n"
        if module not in self.server.modules():
            return f"unknown module {module!r}\n"
        return None

    def _scrape_timeout(self) -> float | None:
        """The probe's time from Prometheus' scrape timeout header; None if unreadable."""
        timeout = DEFAULT_PROBE_TIMEOUT_S
        header = self.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
        if header:
            try:
                timeout = float(header) - SCRAPE_TIMEOUT_OFFSET_S
            except ValueError:
                return None
        return min(max(timeout, 0.5), MAX_PROBE_TIMEOUT_S)
