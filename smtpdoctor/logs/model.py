"""The results of a log analysis: the immutable records the renderers take."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.checks import check_command
from smtpdoctor.logs.coverage import Coverage
from smtpdoctor.logs.events import TIMEOUT_CAUSES
from smtpdoctor.phases import Phase

SCHEMA = "smtpdoctor.logs/1"


class LogGroup(NamedTuple):
    """Every failure with the same cause, phase, destination and relay (immutable; a
    NamedTuple, because a report builds thousands and a frozen dataclass costs several
    times as much to build)."""

    cause: CauseCode
    phase: Phase | None
    destination: str
    relay: str
    # The number of failures; it hides tuple.count (of no use on a group).
    count: int  # type: ignore[assignment]
    first_seen: datetime | None
    last_seen: datetime | None
    sample: str
    direction: str = "outbound"  # "inbound": our server waited for a client
    mta: str = ""

    @property
    def is_timeout(self) -> bool:
        """True for the timeout causes (as opposed to refusals, rejections...)."""
        return self.cause in TIMEOUT_CAUSES

    @property
    def check_command(self) -> str | None:
        """The `smtpdoctor check` command that confirms this cause live, if any."""
        return check_command(self.cause, self.direction, self.destination, self.relay)


@dataclass(frozen=True)
class DelayBreakdown:
    """Where the time went for delayed mail (Postfix `delays=a/b/c/d`), in seconds."""

    messages: int = 0
    before_queue: float = 0.0
    in_queue: float = 0.0
    connection: float = 0.0
    transmission: float = 0.0
    max_delay: float = 0.0

    @property
    def total(self) -> float:
        """Sum of the four parts."""
        return self.before_queue + self.in_queue + self.connection + self.transmission


@dataclass(frozen=True)
class MessageTrace:
    """One message joined by queue ID across lines and files."""

    queue_id: str
    attempts: int
    delay: float | None
    outcome: str  # "delivered", "bounced", "pending"
    causes: tuple[CauseCode, ...]
    destination: str
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True)
class MessageStats:
    """Per-message results: how many were delayed, retried, delivered in the end."""

    tracked: int = 0
    delivered_first_try: int = 0
    delivered_after_retry: int = 0
    bounced: int = 0
    pending: int = 0
    evicted: int = 0  # dropped from the bounded join table before they finished
    max_attempts: int = 0
    worst: tuple[MessageTrace, ...] = ()


@dataclass(frozen=True)
class Insight:
    """A finding over several groups (e.g. `ipv6_broken`: one host fails on IPv6 while
    IPv4 delivers), with the specific fix lines and the check command to confirm it."""

    cause: CauseCode
    host: str
    destination: str
    failures: int  # failed attempts that show the fault
    successes: int  # deliveries that show the other path works
    failed_addresses: tuple[str, ...]
    working_addresses: tuple[str, ...]
    first_seen: datetime | None
    last_seen: datetime | None
    fixes: tuple[str, ...]
    check: str


@dataclass(frozen=True)
class LogReport:
    """The whole analysis: groups of failures, totals, histogram, delays, messages."""

    groups: tuple[LogGroup, ...]
    totals: dict[str, int]
    messages: MessageStats
    delays: DelayBreakdown
    histogram: tuple[tuple[datetime, int], ...]  # problem events per hour, oldest first
    sources: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    since: datetime | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    mtas: tuple[str, ...] = field(default_factory=tuple)
    insights: tuple[Insight, ...] = ()
    coverage: Coverage = field(default_factory=Coverage)

    @property
    def problem_count(self) -> int:
        """Failures of any cause found (timeouts, refusals, rejections...)."""
        return sum(g.count for g in self.groups)

    @property
    def timeout_count(self) -> int:
        """Failures whose cause is a timeout."""
        return sum(g.count for g in self.groups if g.is_timeout)
