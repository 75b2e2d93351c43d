"""A circuit breaker per relay, driven by cause codes. Pure: no IO, no clock, no RNG of its own.

States:

- closed: the relay takes mail. K consecutive relay-fault probes open it.
- open: the relay cannot take mail. It is not probed until the backoff (with jitter)
  has passed; then one trial probe runs: success makes it half-open, a fault
  re-opens it with a doubled backoff (up to `backoff_max_s`).
- half-open: trial probes pass; M consecutive successes close it, one fault re-opens it.

What counts as a fault is decided by `classify`: only causes that mean "this relay
cannot take mail now" count. A cause that is not the relay's fault (the recipient's
greylisting, a 5xx for one recipient, a policy or rate limit about the sender) is
neutral: it neither counts towards opening nor towards closing, and it does not reset
the failure streak either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from smtpdoctor.catalogue import CauseCode

__all__ = [
    "NEUTRAL_CODES",
    "RELAY_FAULT_CODES",
    "Breaker",
    "BreakerConfig",
    "BreakerState",
    "Outcome",
    "classify",
]


class BreakerState(StrEnum):
    """The three states of a circuit breaker (values are metric labels)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Outcome(StrEnum):
    """What one probe of a relay says about the relay itself."""

    SUCCESS = "success"  # mail would get through
    FAULT = "fault"  # the relay cannot take mail now
    NEUTRAL = "neutral"  # mail did not get through, but not because of the relay


# "This relay cannot take mail now": the listed codes of issue 12, and the ones that
# equally stop every message through this relay (TLS or AUTH that the MTA needs and
# cannot get, a path that loses packets, a server that does not speak SMTP, the relay's
# own temporary failure).
RELAY_FAULT_CODES: frozenset[CauseCode] = frozenset(
    {
        CauseCode.CONNECT_TIMEOUT,
        CauseCode.CONNECT_REFUSED,
        CauseCode.HOST_UNREACHABLE,
        CauseCode.NETWORK_UNREACHABLE,
        CauseCode.PORT25_BLOCKED,
        CauseCode.MTU_BLACKHOLE,
        CauseCode.GREETING_TIMEOUT,
        CauseCode.SERVER_BUSY,
        CauseCode.TLS_MODE_MISMATCH,
        CauseCode.TLS_HANDSHAKE_TIMEOUT,
        CauseCode.TLS_FAILED,
        CauseCode.TLS_CERT_INVALID,
        CauseCode.STARTTLS_MISSING,
        CauseCode.AUTH_FAILED,
        CauseCode.AUTH_UNAVAILABLE,
        CauseCode.COMMAND_TIMEOUT,
        CauseCode.DATA_TIMEOUT,
        CauseCode.CONNECTION_DROPPED,
        CauseCode.PROTOCOL_VIOLATION,
        CauseCode.REMOTE_ERROR,
        CauseCode.DNS_NXDOMAIN,
        CauseCode.DNS_NO_ADDRESS,
        CauseCode.DNS_TIMEOUT,
        CauseCode.DNS_SERVFAIL,
        CauseCode.MX_NULL,
    }
)

# Never the relay's fault. rate_limited is here on purpose: a relay that defers for
# volume is up, the MTA queues and retries at the pace the relay sets, and moving the
# whole volume to the backup would only move the limit there. blocklisted and
# client_policy are about the sender (its IP, HELO, SPF): the MTA keeps the mail and
# the admin must fix the sender; flapping between relays does not.
NEUTRAL_CODES: frozenset[CauseCode] = frozenset(
    {
        CauseCode.GREYLISTED,
        CauseCode.REJECTED,
        CauseCode.RECIPIENT_UNKNOWN,
        CauseCode.MAILBOX_FULL,
        CauseCode.RATE_LIMITED,
        CauseCode.BLOCKLISTED,
        CauseCode.CLIENT_POLICY,
        CauseCode.RETRY_EXPIRED,
        CauseCode.MTA_STOPPED,  # this machine's MTA, never the relay's
    }
)


def classify(ok: bool, codes: Iterable[CauseCode]) -> Outcome:
    """The outcome of one probe: `ok` is "mail would get through", `codes` its causes.

    A relay fault wins over everything else; a failed probe with only neutral (or
    warning-only) causes is neutral; a probe that passed is a success even when it
    carries warnings (slow greeting, expiring certificate).
    """
    codes = set(codes)
    if ok:
        return Outcome.SUCCESS
    if codes & RELAY_FAULT_CODES:
        return Outcome.FAULT
    if codes & NEUTRAL_CODES:
        return Outcome.NEUTRAL
    # Failed without a named cause (or only warnings, local_address...): the relay could
    # not be shown to take mail. Treat as a fault: sending mail there would not work.
    return Outcome.FAULT


@dataclass(frozen=True)
class BreakerConfig:
    """Thresholds; every field is a `[breaker]` key of failover.toml."""

    failures_to_open: int = 3  # K
    successes_to_close: int = 2  # M
    backoff_s: float = 30.0  # first wait in open before a trial probe
    backoff_max_s: float = 300.0
    jitter: float = 0.2  # the backoff is multiplied by a factor in [1 - jitter, 1 + jitter]
    hold_s: float = 120.0  # minimum time in closed before a relay is failed back to
    stall_s: float = 60.0  # mail held this long with no delivery: the route's relay stalls

    def __post_init__(self) -> None:
        if self.failures_to_open < 1 or self.successes_to_close < 1:
            raise ValueError("failures_to_open and successes_to_close must be at least 1")
        if not 0 < self.backoff_s <= self.backoff_max_s:
            raise ValueError("backoff must be > 0 and at most backoff_max")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.hold_s < 0:
            raise ValueError("hold must not be negative")
        if self.stall_s < 0:
            raise ValueError("stall must not be negative (0 turns the stall watch off)")


@dataclass(frozen=True)
class Breaker:
    """The breaker of one relay at one moment; `observe` returns the next one."""

    state: BreakerState = BreakerState.CLOSED
    failures: int = 0  # consecutive faults (closed) ...
    successes: int = 0  # ... and consecutive successes (half-open)
    since: float = 0.0  # when the current state began (the caller's clock)
    backoff_s: float = 0.0  # the current (un-jittered) backoff while open
    retry_at: float = 0.0  # open: when the trial probe is due

    def due(self, now: float) -> bool:
        """Should the relay be probed now? Always, except while open before retry_at."""
        return self.state is not BreakerState.OPEN or now >= self.retry_at

    def healthy_for(self, now: float) -> float:
        """Seconds the relay has been closed (0 when it is not closed)."""
        return now - self.since if self.state is BreakerState.CLOSED else 0.0

    def observe(
        self,
        outcome: Outcome,
        now: float,
        config: BreakerConfig,
        rng: Callable[[], float],
    ) -> Breaker:
        """The breaker after one probe's outcome; `rng()` returns a float in [0, 1)."""
        if outcome is Outcome.NEUTRAL:
            return self
        success = outcome is Outcome.SUCCESS
        if self.state is BreakerState.CLOSED:
            return self._observe_closed(success, now, config, rng)
        if self.state is BreakerState.OPEN:
            return self._observe_open(success, now, config, rng)
        return self._observe_half_open(success, now, config, rng)

    def _observe_closed(
        self, success: bool, now: float, config: BreakerConfig, rng: Callable[[], float]
    ) -> Breaker:
        if success:
            return replace(self, failures=0)
        failures = self.failures + 1
        if failures >= config.failures_to_open:
            return self._open(now, config.backoff_s, config, rng)
        return replace(self, failures=failures)

    def _observe_open(
        self, success: bool, now: float, config: BreakerConfig, rng: Callable[[], float]
    ) -> Breaker:
        if now < self.retry_at:
            return self  # a result that came in before the trial was due changes nothing
        if success:
            half = Breaker(BreakerState.HALF_OPEN, 0, 1, now)
            return half._maybe_close(now, config)
        backoff = min(self.backoff_s * 2, config.backoff_max_s)
        return replace(self._open(now, backoff, config, rng), since=self.since)

    def _observe_half_open(
        self, success: bool, now: float, config: BreakerConfig, rng: Callable[[], float]
    ) -> Breaker:
        if success:
            return replace(self, successes=self.successes + 1)._maybe_close(now, config)
        return self._open(now, config.backoff_s, config, rng)

    def _maybe_close(self, now: float, config: BreakerConfig) -> Breaker:
        if self.successes >= config.successes_to_close:
            return Breaker(BreakerState.CLOSED, 0, 0, now)
        return self

    def _open(
        self, now: float, backoff_s: float, config: BreakerConfig, rng: Callable[[], float]
    ) -> Breaker:
        factor = 1.0 + config.jitter * (2.0 * rng() - 1.0)
        return Breaker(
            BreakerState.OPEN,
            failures=0,
            successes=0,
            since=now,
            backoff_s=backoff_s,
            retry_at=now + backoff_s * factor,
        )
