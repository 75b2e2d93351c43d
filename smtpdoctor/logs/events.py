"""What the log parsers produce: one frozen event per interesting log line."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, NamedTuple

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.phases import Phase


class EventKind(StrEnum):
    """What a log line says happened."""

    DELIVERY = "delivery"  # a delivery attempt with a final or temporary status
    FAILURE = "failure"  # a session failure logged on its own line (no status yet)
    SERVER_TIMEOUT = "server_timeout"  # our server timed out waiting for a client
    ARRIVAL = "arrival"  # a message entered the queue
    REMOVED = "removed"  # a message left the queue (all recipients done)


class Status(StrEnum):
    """Outcome of one delivery attempt."""

    SENT = "sent"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    EXPIRED = "expired"
    NONE = ""


class Delays(NamedTuple):
    """Postfix `delays=a/b/c/d`: before queue, in queue manager, connection setup, transmission."""

    before_queue: float
    in_queue: float
    connection: float
    transmission: float


class LogEvent(NamedTuple):
    """One interesting log line, normalised across MTAs (a NamedTuple: immutable and
    several times cheaper to build than a frozen dataclass, which matters per line).

    ``stamp`` is the raw timestamp text (parsed lazily: most events never need it).
    ``destination`` is the recipient domain (or the peer for server-side timeouts),
    ``relay`` the host[address]:port that was talked to, when known.
    """

    kind: EventKind
    mta: str
    stamp: str
    queue_id: str = ""
    status: Status = Status.NONE
    cause: CauseCode | None = None
    phase: Phase | None = None
    destination: str = ""
    relay: str = ""
    delay: float | None = None
    delays: Delays | None = None
    dsn: str = ""
    detail: str = ""
    raw: str = ""
    pid: str = ""

    @property
    def is_timeout(self) -> bool:
        """True when the cause is one of the timeout causes."""
        return self.cause in TIMEOUT_CAUSES


# A NamedTuple (LogEvent, Delays) from a tuple of all its fields, in order, without
# running the NamedTuple's __new__, which is Python code even when the caller is
# compiled: new_event(LogEvent, (kind, mta, ...)) is several times cheaper per line.
new_event: Final = tuple.__new__

TIMEOUT_CAUSES: Final[frozenset[CauseCode]] = frozenset(
    {
        CauseCode.CONNECT_TIMEOUT,
        CauseCode.GREETING_TIMEOUT,
        CauseCode.COMMAND_TIMEOUT,
        CauseCode.DATA_TIMEOUT,
        CauseCode.TLS_HANDSHAKE_TIMEOUT,
        CauseCode.DNS_TIMEOUT,
        CauseCode.PORT25_BLOCKED,
        CauseCode.MTU_BLACKHOLE,
    }
)
