"""The shaped queue for the terminal: totals, reasons, a qshape-style table, meaning, actions."""

from __future__ import annotations

from datetime import datetime, timedelta

from smtpdoctor.mta.shape import BUCKET_LABELS, QueueShape

_MAX_DOMAINS = 15


def human_size(size: int) -> str:
    """Bytes as 12.3 KiB / 4.5 MiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def human_delta(delta: timedelta) -> str:
    """A duration as '3d 4h', '12m', '40s'."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _when(now: datetime, when: datetime | None) -> str:
    if when is None:
        return "unknown"
    delta = when - now
    return f"in {human_delta(delta)}" if delta.total_seconds() >= 0 else "due now"


def render_lines(shape: QueueShape) -> list[str]:
    """The report as lines (the doctor report embeds them)."""
    now = shape.taken_at
    filt = f" ({shape.filter.describe()})" if shape.filter.describe() else ""
    lines = [f"Queue of {shape.mta.value}{filt}: {shape.source}"]
    if shape.messages == 0:
        lines.append("  " + (shape.insights[0].text if shape.insights else "empty"))
        lines += [f"  could not read {p.source}: {p.reason}" for p in shape.problems]
        return lines
    queues = ", ".join(f"{n} {name}" for name, n in shape.by_queue)
    oldest = human_delta(now - shape.oldest) if shape.oldest else "unknown"
    lines.append(
        f"  {shape.messages} messages ({queues}), {shape.recipients} recipients, "
        f"{human_size(shape.total_size)}, oldest {oldest}, next retry "
        f"{_when(now, shape.next_retry)}"
    )
    lines += [f"  could not read {p.source}: {p.reason}" for p in shape.problems]
    if shape.reasons:
        lines += ["", "Why mail waits (by cause and next hop):"]
        for g in shape.reasons:
            cause = g.cause.value if g.cause else "unclassified"
            phase = f" at {g.phase.value}" if g.phase else ""
            relay = f" via {g.relay}" if g.relay else ""
            more = f" +{len(g.domains) - 3}" if len(g.domains) > 3 else ""
            oldest_g = human_delta(now - g.oldest) if g.oldest else "?"
            lines.append(
                f"  {g.recipients:>6} rcpt  {cause}{phase}{relay}  "
                f"[{', '.join(g.domains[:3])}{more}]  oldest {oldest_g}, next retry "
                f"{_when(now, g.next_retry)}"
            )
            lines.append(f"         e.g. {g.sample_reason[:150]}")
    lines += ["", "Recipients by destination and age in minutes (like qshape):"]
    head = f"  {'domain':<28} {'total':>6} " + " ".join(f"{b:>5}" for b in BUCKET_LABELS)
    lines.append(head)
    totals = [sum(r.buckets[i] for r in shape.domains) for i in range(len(BUCKET_LABELS))]
    lines.append(f"  {'TOTAL':<28} {shape.recipients:>6} " + " ".join(f"{n:>5}" for n in totals))
    for row in shape.domains[:_MAX_DOMAINS]:
        lines.append(
            f"  {row.domain[:28]:<28} {row.total:>6} " + " ".join(f"{n:>5}" for n in row.buckets)
        )
    if len(shape.domains) > _MAX_DOMAINS:
        lines.append(f"  ... {len(shape.domains) - _MAX_DOMAINS} more domains (--json lists all)")
    if shape.insights:
        lines += ["", "What it means:"]
        lines += [
            f"  - {i.text}" + (f" [{i.cause.value}]" if i.cause else "") for i in shape.insights
        ]
    if shape.actions:
        lines += ["", "Safe actions (smtpdoctor itself changes nothing):"]
        lines += [f"  $ {a.command}  # {a.why}" for a in shape.actions]
    return lines


def render(shape: QueueShape) -> str:
    """The whole report as text."""
    return "\n".join(render_lines(shape)) + "\n"
