"""What the queue and config readers produce: frozen results, the input of shape and report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.phases import Phase


class Mta(StrEnum):
    """The mail transfer agents smtpdoctor reads."""

    POSTFIX = "postfix"
    EXIM = "exim"
    SENDMAIL = "sendmail"


@dataclass(frozen=True)
class QueuedRecipient:
    """One recipient of a queued message and why it is still there."""

    address: str
    domain: str
    reason: str = ""
    cause: CauseCode | None = None
    phase: Phase | None = None
    relay: str = ""


@dataclass(frozen=True)
class QueuedMessage:
    """One message in the queue."""

    queue_id: str
    queue_name: str  # deferred, active, incoming, hold, maildrop; exim: queued / frozen
    arrival: datetime | None
    size: int
    sender: str
    recipients: tuple[QueuedRecipient, ...]
    next_retry: datetime | None = None


@dataclass(frozen=True)
class Unreadable:
    """A source that could not be read, and why: reported, never fatal on its own."""

    source: str
    reason: str


@dataclass(frozen=True)
class QueueSnapshot:
    """The whole queue as read at one moment."""

    mta: Mta
    taken_at: datetime
    messages: tuple[QueuedMessage, ...]
    source: str  # the command or path it came from
    problems: tuple[Unreadable, ...] = field(default_factory=tuple)
