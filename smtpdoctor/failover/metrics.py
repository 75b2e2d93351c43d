"""Prometheus metrics of the failover daemon (prometheus-client, own registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from smtpdoctor.failover.breaker import BreakerState
from smtpdoctor.failover.route import Action

__all__ = ["FailoverMetrics"]


class FailoverMetrics:
    """smtpdoctor_relay_up, _relay_breaker_state, _failover_actions_total and friends."""

    def __init__(self, relays: tuple[str, ...]) -> None:
        self.registry = CollectorRegistry()
        self.up = Gauge(
            "smtpdoctor_relay_up",
            "1 if the last probe of the relay showed it can take mail, else 0",
            ["relay"],
            registry=self.registry,
        )
        self.breaker = Gauge(
            "smtpdoctor_relay_breaker_state",
            "1 for the relay's current circuit breaker state, 0 for the others",
            ["relay", "state"],
            registry=self.registry,
        )
        self.actions = Counter(
            "smtpdoctor_failover_actions",
            "Route decisions and MTA actions taken by smtpdoctor failover",
            ["action"],
            registry=self.registry,
        )
        self.route = Gauge(
            "smtpdoctor_failover_route",
            "1 for the relay the MTA currently sends through; preference is its rank (0 = first)",
            ["relay", "preference"],
            registry=self.registry,
        )
        self.ambiguous = Gauge(
            "smtpdoctor_relay_ambiguous_eod",
            "Messages whose end of data the relay never answered (may be delivered twice), "
            "counted from the MTA log since the daemon started",
            ["relay"],
            registry=self.registry,
        )
        self.relays = relays
        for action in Action:
            self.actions.labels(action.value)
        for name in ("flush", "steer_failed"):
            self.actions.labels(name)
        for relay in relays:
            self.ambiguous.labels(relay).set(0)

    def set_relay(self, relay: str, up: bool, state: BreakerState) -> None:
        """Record one relay's probe result and breaker state."""
        self.up.labels(relay).set(1 if up else 0)
        for s in BreakerState:
            self.breaker.labels(relay, s.value).set(1 if s is state else 0)

    def set_route(self, current: str | None) -> None:
        """Mark the relay the MTA uses now."""
        for rank, relay in enumerate(self.relays):
            self.route.labels(relay, str(rank)).set(1 if relay == current else 0)

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics on host:port in a background thread."""
        start_http_server(port, addr=host, registry=self.registry)
