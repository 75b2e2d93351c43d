"""One round of the failover daemon: probe, update breakers, decide, steer, record.

The decisions are the pure breaker and route modules; this module wires them to the
probe adapter, the MTA steering, the log, the metrics and the state file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.failover.ambiguous import AmbiguousCounter
from smtpdoctor.failover.breaker import Breaker, BreakerState, Outcome, classify
from smtpdoctor.failover.config import FailoverConfig, RelayConfig
from smtpdoctor.failover.metrics import FailoverMetrics
from smtpdoctor.failover.postfix import SteeringError
from smtpdoctor.failover.probing import RelayHealth
from smtpdoctor.failover.route import Action, Decision, decide
from smtpdoctor.failover.stall import stalled
from smtpdoctor.failover.state import SCHEMA, breaker_from_dict, breaker_to_dict, read_state
from smtpdoctor.phases import Phase

__all__ = ["Engine", "Steering"]

log = logging.getLogger("smtpdoctor.failover")
ALL_DOWN_REPEAT_S = 60.0


class Steering(Protocol):
    """What the engine needs from an MTA."""

    name: str

    def current(self) -> tuple[str, ...]:
        """The MTA's relay list now, first one used first."""
        ...

    def apply(self, route: str, others: tuple[str, ...] = ()) -> str:
        """Route mail through `route` (others as the MTA's own fallback)."""
        ...

    def flush(self) -> str:
        """Retry deferred mail now; returns the command that was run."""
        ...

    def active_arrivals(self) -> list[float]:
        """Arrival times of the messages the MTA is delivering now."""
        ...


Probe = Callable[[RelayConfig], Awaitable[RelayHealth]]


@dataclass
class RelayRecord:
    """What the daemon knows about one relay."""

    breaker: Breaker
    health: RelayHealth | None = None
    outcome: Outcome | None = None
    checked_at: float | None = None
    ambiguous: int = 0


def _iso(t: float | None) -> str | None:
    if t is None or t <= 0:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def evidence(health: RelayHealth) -> str:
    """Causes with their phases and the phase timings, for the journal."""
    causes = ", ".join(f"{c.value}@{p.value if p else '-'}" for c, p in health.causes) or "none"
    timings = " ".join(f"{p.value}={ms:.0f}ms" for p, ms in health.timings_ms)
    return f"causes={causes} timings=[{timings}] total={health.elapsed_ms:.0f}ms"


class Engine:
    """The failover daemon's state and one round of work (`tick`)."""

    def __init__(
        self,
        config: FailoverConfig,
        steering: Steering,
        probe: Probe,
        *,
        metrics: FailoverMetrics | None = None,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        dry_run: bool = False,
    ) -> None:
        self.config = config
        self.steering = steering
        self.probe = probe
        self.metrics = metrics
        self.clock = clock
        self.rng = rng
        self.dry_run = dry_run
        self.preference = tuple(r.name for r in config.relays)
        start = clock()
        self.records = {name: RelayRecord(Breaker(since=start)) for name in self.preference}
        self.actions: deque[dict[str, Any]] = deque(maxlen=20)
        self.current: str | None = None
        self.relayhost: tuple[str, ...] = ()
        self.last_all_down_log = -1e18
        self.ambiguous = self._ambiguous_counter()
        self.route_since = start  # when the route last changed (or the daemon started)
        self.proven: set[str] = set()  # relays with a successful probe in this run
        self.last_delivery = dict.fromkeys(self.preference, start)

    def _ambiguous_counter(self) -> AmbiguousCounter | None:
        path: Path | None = (
            self.config.postfix_log if self.config.mta == "postfix" else self.config.exim_log
        )
        if path is None:
            return None
        addresses: dict[str, str] = {}
        for relay in self.config.relays:
            host, _, port = relay.route[1:].rpartition("]:")
            addresses[host] = relay.name
            addresses[f"{host}:{port}"] = relay.name
        counter = AmbiguousCounter(path, addresses)
        try:
            counter.offset = path.stat().st_size  # count from now on, not the whole history
        except OSError:
            counter.offset = 0
        return counter

    def restore(self) -> None:
        """Take breakers, counts and last actions from the previous run's state file."""
        saved = read_state(self.config.state_dir)
        if saved is None:
            return
        for item in saved.get("relays", []):
            record = self.records.get(item.get("name"))
            if record is None:
                continue
            try:
                record.breaker = breaker_from_dict(item["breaker"])
                record.ambiguous = int(item.get("ambiguous_eod", 0))
            except (KeyError, TypeError, ValueError):
                continue
        for action in saved.get("last_actions", [])[-20:]:
            if isinstance(action, dict):
                self.actions.append(action)

    def read_route(self) -> str | None:
        """The relay the MTA uses now (None when its first relayhost is none of ours)."""
        self.relayhost = self.steering.current()
        first = self.relayhost[0] if self.relayhost else None
        for relay in self.config.relays:
            if relay.route == first:
                return relay.name
        return None

    async def _probe_one(self, relay: RelayConfig) -> RelayHealth | None:
        try:
            return await self.probe(relay)
        except Exception as exc:  # a probe bug must not stop the daemon
            log.error("relay=%s probe could not run: %s", relay.name, exc)
            return None

    async def tick(self) -> Decision:
        """One round: probe the relays that are due, decide, act, record."""
        now = self.clock()
        due = [r for r in self.config.relays if self.records[r.name].breaker.due(now)]
        healths = await asyncio.gather(*(self._probe_one(r) for r in due))
        now = self.clock()
        self.current = self.read_route()
        self._count_ambiguous(now)
        for relay, health in zip(due, healths, strict=True):
            if health is not None:
                seen = self._with_stall(health, now) if relay.name == self.current else health
                self._observe(relay.name, seen, now)
        decision = decide(
            self.preference, self._for_decision(now), self.current, now, self.config.breaker.hold_s
        )
        self._act(decision, now)
        self._publish()
        return decision

    def _for_decision(self, now: float) -> dict[str, Breaker]:
        """The breakers, with relays never yet probed successfully not counted as settled:
        mail never fails back to a relay on the strength of no evidence."""
        return {
            name: (
                record.breaker
                if name in self.proven or record.breaker.state is not BreakerState.CLOSED
                else replace(record.breaker, since=now)
            )
            for name, record in self.records.items()
        }

    def seed_steady(self, now: float) -> None:
        """Dry run: treat each relay's one probe as if it had lasted (opens after K faults)."""
        for record in self.records.values():
            record.breaker = Breaker(since=now - self.config.breaker.hold_s)
            if record.outcome is None:
                continue
            for _ in range(self.config.breaker.failures_to_open):
                record.breaker = record.breaker.observe(
                    record.outcome, now, self.config.breaker, self.rng
                )

    def _observe(self, name: str, health: RelayHealth, now: float) -> None:
        record = self.records[name]
        outcome = classify(health.ok, (code for code, _ in health.causes))
        before = record.breaker
        record.breaker = before.observe(outcome, now, self.config.breaker, self.rng)
        record.health, record.outcome, record.checked_at = health, outcome, now
        if outcome is Outcome.SUCCESS:
            self.proven.add(name)
        after = record.breaker
        changed = after.state is not before.state
        level = logging.WARNING if changed or outcome is Outcome.FAULT else logging.INFO
        log.log(
            level,
            "relay=%s outcome=%s breaker=%s%s %s%s",
            name,
            outcome.value,
            before.state.value,
            f"->{after.state.value}" if changed else "",
            evidence(health),
            f" detail={health.detail!r}" if health.detail and not health.ok else "",
        )

    def _record(self, action: str, relay: str | None, reason: str, now: float) -> None:
        self.actions.append({"at": _iso(now), "action": action, "relay": relay, "reason": reason})
        if self.metrics is not None:
            self.metrics.actions.labels(action).inc()

    def _act(self, decision: Decision, now: float) -> None:
        if decision.action is Action.ALL_DOWN:
            if self.actions and self.actions[-1]["action"] == Action.ALL_DOWN.value:
                if now - self.last_all_down_log >= ALL_DOWN_REPEAT_S:
                    log.error("ALL RELAYS DOWN (still): %s", decision.reason)
                    self.last_all_down_log = now
                return
            log.error("ALL RELAYS DOWN: %s", decision.reason)
            self.last_all_down_log = now
            self._record(decision.action.value, decision.route, decision.reason, now)
            return
        if not decision.changes or decision.route is None:
            log.debug("route: %s", decision.reason)
            return
        route = self.config.relay(decision.route).route
        others = tuple(r.route for r in self.config.relays if r.name != decision.route)
        if self.dry_run:
            log.warning(
                "dry run: would %s to %s: %s", decision.action.value, route, decision.reason
            )
            return
        previous = ", ".join(self.relayhost) or "(none)"
        try:
            value = self.steering.apply(route, others)
        except SteeringError as exc:
            log.error("could not steer %s to %s: %s", self.steering.name, route, exc)
            self._record("steer_failed", decision.route, str(exc), now)
            return
        self.current = decision.route
        self.route_since = now
        self.relayhost = tuple(value.split(", "))
        log.warning(
            "%s: %s %s %s -> %s (%s)",
            decision.action.value,
            self.steering.name,
            getattr(self.steering, "setting", "route"),
            previous,
            value,
            decision.reason,
        )
        self._record(decision.action.value, decision.route, decision.reason, now)
        try:
            command = self.steering.flush()
        except SteeringError as exc:
            log.error("flush after %s failed: %s", decision.action.value, exc)
            return
        log.warning("flushed deferred mail: %s", command)
        self._record("flush", decision.route, command, now)

    def _with_stall(self, health: RelayHealth, now: float) -> RelayHealth:
        """The probe's health, turned into a fault when the MTA shows the relay stalls."""
        if self.ambiguous is None or self.config.breaker.stall_s <= 0:
            return health  # the stall watch needs the MTA log
        evidence = stalled(
            self.steering.active_arrivals(),
            self.route_since,
            self.last_delivery[health.relay],
            now,
            self.config.breaker.stall_s,
        )
        if evidence is None:
            return health
        cause = (CauseCode.DATA_TIMEOUT, Phase.EOD)
        return replace(
            health,
            ok=False,
            causes=(*health.causes, cause),
            detail=evidence.summary(health.relay),
        )

    def _count_ambiguous(self, now: float) -> None:
        if self.ambiguous is None:
            return
        counts: dict[str, int] = {}
        self.ambiguous.poll(counts)
        for name in self.ambiguous.delivered:
            self.last_delivery[name] = now
        for name, count in counts.items():
            self.records[name].ambiguous += count
            log.warning(
                "relay=%s %d message(s) with an unanswered end of data: they may be "
                "delivered twice (at-least-once)",
                name,
                count,
            )

    def _publish(self) -> None:
        if self.metrics is None:
            return
        for name, record in self.records.items():
            up = record.outcome is Outcome.SUCCESS
            self.metrics.set_relay(name, up, record.breaker.state)
            self.metrics.ambiguous.labels(name).set(record.ambiguous)
        self.metrics.set_route(self.current)

    def document(self) -> dict[str, Any]:
        """The status document (schema smtpdoctor.failover-status/1)."""
        now = self.clock()
        relays = []
        for relay in self.config.relays:
            record = self.records[relay.name]
            health = record.health
            last: dict[str, Any] | None = None
            if health is not None:
                last = {
                    "at": _iso(record.checked_at),
                    "ok": health.ok,
                    "outcome": record.outcome.value if record.outcome else None,
                    "causes": [
                        {"code": c.value, "phase": p.value if p else None} for c, p in health.causes
                    ],
                    "timings_ms": {p.value: ms for p, ms in health.timings_ms},
                    "elapsed_ms": health.elapsed_ms,
                    "detail": health.detail,
                }
            breaker = breaker_to_dict(record.breaker)
            breaker["since_iso"] = _iso(record.breaker.since)
            breaker["retry_at_iso"] = (
                _iso(record.breaker.retry_at) if record.breaker.state is BreakerState.OPEN else None
            )
            relays.append(
                {
                    "name": relay.name,
                    "target": relay.target,
                    "route": relay.route,
                    "up": record.outcome is Outcome.SUCCESS,
                    "breaker": breaker,
                    "last_check": last,
                    "ambiguous_eod": record.ambiguous,
                }
            )
        all_down = all(r.breaker.state is not BreakerState.CLOSED for r in self.records.values())
        return {
            "schema": SCHEMA,
            "updated_at": _iso(now),
            "updated_at_epoch": now,
            "interval_s": self.config.interval_s,
            "pid": os.getpid(),
            "dry_run": self.dry_run,
            "mta": self.config.mta,
            "config": str(self.config.path),
            "current_route": {
                "relay": self.current,
                "relayhost": list(self.relayhost),
                "preferred": self.current == self.preference[0],
            },
            "all_down": all_down,
            "relays": relays,
            "last_actions": list(self.actions),
        }
