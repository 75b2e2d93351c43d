"""The queue shaped: by destination against age (like qshape), by reason and relay, and
what the shape means, with the safe commands to act on it. Pure: no IO.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.mta.model import Mta, QueuedMessage, QueueSnapshot, Unreadable
from smtpdoctor.phases import Phase

# qshape's age buckets in minutes; the last column is everything older.
AGE_BUCKETS_MIN: tuple[int, ...] = (5, 10, 20, 40, 80, 160, 320, 640, 1280)
BUCKET_LABELS: tuple[str, ...] = (*(str(b) for b in AGE_BUCKETS_MIN), "1280+")
_TIMEOUT_CAUSES = frozenset(
    {
        CauseCode.CONNECT_TIMEOUT,
        CauseCode.GREETING_TIMEOUT,
        CauseCode.DNS_TIMEOUT,
        CauseCode.COMMAND_TIMEOUT,
        CauseCode.DATA_TIMEOUT,
        CauseCode.TLS_HANDSHAKE_TIMEOUT,
        CauseCode.PORT25_BLOCKED,
        CauseCode.MTU_BLACKHOLE,
    }
)


@dataclass(frozen=True)
class QueueFilter:
    """Which part of the queue to look at."""

    older_than: timedelta | None = None
    reason: str | None = None  # a cause code, 'timeout', or words of the reason text
    domain: str | None = None

    def describe(self) -> str:
        """The filter in words, '' when there is none."""
        parts = []
        if self.older_than is not None:
            parts.append(f"older than {_age(self.older_than)}")
        if self.reason:
            parts.append(f"reason {self.reason!r}")
        if self.domain:
            parts.append(f"domain {self.domain}")
        return ", ".join(parts)


@dataclass(frozen=True)
class DomainRow:
    """One destination domain: recipients queued per age bucket."""

    domain: str
    total: int
    buckets: tuple[int, ...]


@dataclass(frozen=True)
class ReasonGroup:
    """Recipients deferred for the same cause through the same relay."""

    cause: CauseCode | None
    phase: Phase | None
    relay: str
    recipients: int
    messages: int
    domains: tuple[str, ...]
    oldest: datetime | None
    next_retry: datetime | None
    sample_reason: str


@dataclass(frozen=True)
class Insight:
    """What the shape means, in one sentence, with the cause it points at."""

    kind: str  # empty, one_destination, all_destinations, relay_host, growing, frozen, ...
    text: str
    cause: CauseCode | None = None
    subject: str = ""  # the domain or relay it is about


@dataclass(frozen=True)
class Action:
    """A command an admin can run: only the MTA's own flush/requeue/inspect, never delete."""

    command: str
    why: str


@dataclass(frozen=True)
class QueueShape:
    """The analysed queue."""

    mta: Mta
    taken_at: datetime
    source: str
    filter: QueueFilter
    messages: int
    recipients: int
    total_size: int
    oldest: datetime | None
    next_retry: datetime | None
    by_queue: tuple[tuple[str, int], ...]
    domains: tuple[DomainRow, ...]
    reasons: tuple[ReasonGroup, ...]
    relays: tuple[tuple[str, int], ...]
    insights: tuple[Insight, ...]
    actions: tuple[Action, ...]
    problems: tuple[Unreadable, ...] = field(default_factory=tuple)

    @property
    def stuck(self) -> bool:
        """True when mail is waiting for a reason (deferred or frozen recipients)."""
        return any(g.cause is not None or g.sample_reason for g in self.reasons) or any(
            name in ("deferred", "frozen", "hold") and count for name, count in self.by_queue
        )


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass
class _Acc:
    """Running totals of one reason group while the queue is walked."""

    sample: str
    recipients: int = 0
    messages: set[str] = field(default_factory=set)
    domains: Counter[str] = field(default_factory=Counter)
    oldest: datetime | None = None
    retry: datetime | None = None


def _bucket(age: timedelta) -> int:
    minutes = age.total_seconds() / 60
    for index, limit in enumerate(AGE_BUCKETS_MIN):
        if minutes <= limit:
            return index
    return len(AGE_BUCKETS_MIN)


def _reason_matches(wanted: str, cause: CauseCode | None, text: str) -> bool:
    low = wanted.lower()
    if cause is not None and (cause.value == low or (low == "timeout" and "timeout" in cause)):
        return True
    if low == "timeout":
        return cause in _TIMEOUT_CAUSES or "timed out" in text.lower()
    return low in text.lower()


def _filtered(
    messages: Iterable[QueuedMessage], flt: QueueFilter, now: datetime
) -> list[QueuedMessage]:
    out = []
    for message in messages:
        if flt.older_than is not None and (
            message.arrival is None or now - message.arrival < flt.older_than
        ):
            continue
        recipients = message.recipients
        if flt.domain:
            wanted = flt.domain.lower()
            recipients = tuple(
                r for r in recipients if r.domain == wanted or r.domain.endswith("." + wanted)
            )
        if flt.reason:
            reason = flt.reason
            recipients = tuple(r for r in recipients if _reason_matches(reason, r.cause, r.reason))
        if (flt.domain or flt.reason) and not recipients:
            continue
        if recipients is not message.recipients:
            out.append(replace(message, recipients=recipients))
        else:
            out.append(message)
    return out


def _min(values: Iterable[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def shape_queue(
    snapshot: QueueSnapshot,
    flt: QueueFilter | None = None,
    *,
    config_dir: Path | None = None,
    queue_lifetime_s: float | None = None,
) -> QueueShape:
    """Shape the queue: counts, age buckets, reason groups, what it means and what to do."""
    flt = flt or QueueFilter()
    now = snapshot.taken_at
    messages = _filtered(snapshot.messages, flt, now)
    domain_buckets: dict[str, list[int]] = {}
    groups: dict[tuple[CauseCode | None, Phase | None, str], _Acc] = {}
    relays: Counter[str] = Counter()
    queues: Counter[str] = Counter()
    recipients = 0
    for message in messages:
        queues[message.queue_name] += 1
        age = now - message.arrival if message.arrival else timedelta(0)
        bucket = _bucket(age)
        for rcpt in message.recipients:
            recipients += 1
            row = domain_buckets.setdefault(rcpt.domain or "(none)", [0] * len(BUCKET_LABELS))
            row[bucket] += 1
            if rcpt.relay:
                relays[rcpt.relay] += 1
            if not rcpt.reason and rcpt.cause is None:
                continue
            key = (rcpt.cause, rcpt.phase, rcpt.relay)
            acc = groups.setdefault(key, _Acc(sample=rcpt.reason))
            acc.recipients += 1
            acc.messages.add(message.queue_id)
            acc.domains[rcpt.domain] += 1
            # Inline min: this loop runs once per queued recipient.
            arrival, retry = message.arrival, message.next_retry
            if arrival is not None and (acc.oldest is None or arrival < acc.oldest):
                acc.oldest = arrival
            if retry is not None and (acc.retry is None or retry < acc.retry):
                acc.retry = retry
    domains = tuple(
        sorted(
            (DomainRow(d, sum(b), tuple(b)) for d, b in domain_buckets.items()),
            key=lambda r: (-r.total, r.domain),
        )
    )
    reasons = tuple(
        sorted(
            (
                ReasonGroup(
                    cause=key[0],
                    phase=key[1],
                    relay=key[2],
                    recipients=acc.recipients,
                    messages=len(acc.messages),
                    domains=tuple(d for d, _ in acc.domains.most_common()),
                    oldest=acc.oldest,
                    next_retry=acc.retry,
                    sample_reason=acc.sample,
                )
                for key, acc in groups.items()
            ),
            key=lambda g: -g.recipients,
        )
    )
    oldest = _min(m.arrival for m in messages)
    next_retry = _min(m.next_retry for m in messages)
    shape = QueueShape(
        mta=snapshot.mta,
        taken_at=now,
        source=snapshot.source,
        filter=flt,
        messages=len(messages),
        recipients=recipients,
        total_size=sum(m.size for m in messages),
        oldest=oldest,
        next_retry=next_retry,
        by_queue=tuple(sorted(queues.items(), key=lambda kv: -kv[1])),
        domains=domains,
        reasons=reasons,
        relays=tuple(relays.most_common()),
        insights=(),
        actions=(),
        problems=snapshot.problems,
    )
    return replace(
        shape,
        insights=tuple(interpret(shape, messages, queue_lifetime_s)),
        actions=tuple(suggest_actions(shape, config_dir)),
    )


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "0%"


def interpret(
    shape: QueueShape, messages: list[QueuedMessage], queue_lifetime_s: float | None = None
) -> list[Insight]:
    """What the shape says: one destination, every destination, the relay, growth, expiry."""
    if shape.messages == 0:
        what = (
            "no queued message matches the filter"
            if shape.filter.describe()
            else "the queue is empty"
        )
        return [Insight("empty", what)]
    out: list[Insight] = []
    stuck_domains = {d for g in shape.reasons for d in g.domains}
    stuck_rcpts = sum(g.recipients for g in shape.reasons)
    top = shape.reasons[0] if shape.reasons else None
    if top is not None:
        cause = top.cause.value if top.cause else "an unclassified reason"
        via = f" through {top.relay}" if top.relay else ""
        out.append(
            Insight(
                "dominant_reason",
                f"{_share(top.recipients, stuck_rcpts)} of the waiting recipients "
                f"({top.recipients} of {stuck_rcpts}) are held by {cause}{via}",
                top.cause,
                top.relay,
            )
        )
        all_domains = {r.domain for r in shape.domains}
        same_relay = top.relay and top.recipients == stuck_rcpts and len(top.domains) > 1
        if same_relay:
            out.append(
                Insight(
                    "relay_host",
                    f"every waiting destination ({len(top.domains)} domains) is stuck at the "
                    f"same next hop {top.relay}: the relay host or the path to it, not the "
                    "recipients' servers",
                    top.cause,
                    top.relay,
                )
            )
        elif len(stuck_domains) == 1 and len(all_domains) >= 1:
            domain = next(iter(stuck_domains))
            out.append(
                Insight(
                    "one_destination",
                    f"only {domain} is stuck: that destination or the path to it; mail to "
                    "other domains is not affected",
                    top.cause,
                    domain,
                )
            )
        elif len(stuck_domains) >= 3 and len(stuck_domains) >= 0.8 * len(all_domains):
            out.append(
                Insight(
                    "all_destinations",
                    f"{len(stuck_domains)} different destinations are stuck: the problem is on "
                    "this machine's side (its network, firewall, resolver or relay host)",
                    top.cause,
                )
            )
    frozen = sum(1 for m in messages if m.queue_name == "frozen")
    if frozen:
        out.append(Insight("frozen", f"{frozen} frozen message(s): Exim will not retry them"))
    held = sum(1 for m in messages if m.queue_name == "hold")
    if held:
        out.append(Insight("hold", f"{held} message(s) on hold: Postfix will not deliver them"))
    recent = [m for m in messages if m.arrival and shape.taken_at - m.arrival <= timedelta(hours=1)]
    if shape.oldest and shape.taken_at - shape.oldest > timedelta(hours=1) and recent:
        out.append(
            Insight(
                "growing",
                f"the queue is growing: {len(recent)} of {shape.messages} messages arrived "
                "in the last hour and none of the older ones left",
            )
        )
    if queue_lifetime_s and shape.oldest:
        age = (shape.taken_at - shape.oldest).total_seconds()
        if age >= 0.8 * queue_lifetime_s:
            out.append(
                Insight(
                    "expiring",
                    f"the oldest message is {_age(shape.taken_at - shape.oldest)} old, close to "
                    f"the queue lifetime of {_age(timedelta(seconds=queue_lifetime_s))}: it will "
                    "bounce back to its sender",
                )
            )
    return out


def suggest_actions(shape: QueueShape, config_dir: Path | None = None) -> list[Action]:
    """Safe commands for this MTA: flush, requeue, inspect. Never a delete."""
    if shape.messages == 0:
        return []
    top_domains = [d for g in shape.reasons[:1] for d in g.domains[:3]]
    if shape.mta is Mta.POSTFIX:
        c = f" -c {shlex.quote(str(config_dir))}" if config_dir else ""
        out = [
            Action(f"postqueue{c} -f", "retry every deferred message now (after fixing the cause)"),
        ]
        out += [Action(f"postqueue{c} -s {d}", f"retry the mail for {d} only") for d in top_domains]
        out.append(
            Action(
                f"postsuper{c} -r ALL deferred",
                "requeue the deferred mail so a changed relayhost or transport applies to it",
            )
        )
        if any(name == "hold" for name, _ in shape.by_queue):
            out.append(Action(f"postsuper{c} -H ALL", "release the messages on hold"))
        return out
    if shape.mta is Mta.EXIM:
        out = [Action("exim -qff", "retry every message now, frozen ones too")]
        out += [Action(f"exim -Rff {d}", f"retry the mail for {d} only") for d in top_domains]
        out.append(
            Action("exim -Mvl MESSAGE-ID", "read why one message is waiting (its message log)")
        )
        return out
    out = [Action("sendmail -q -v", "run the queue now, verbosely")]
    out += [Action(f"sendmail -qR{d} -v", f"retry the mail for {d} only") for d in top_domains]
    return out
