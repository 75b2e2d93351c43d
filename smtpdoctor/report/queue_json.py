"""The shaped queue as JSON (schema smtpdoctor.queue/1)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from smtpdoctor.mta.shape import BUCKET_LABELS, QueueShape

SCHEMA = "smtpdoctor.queue/1"


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def as_dict(shape: QueueShape) -> dict[str, Any]:
    """The shape as plain data (also embedded in the doctor report)."""
    return {
        "mta": shape.mta.value,
        "source": shape.source,
        "taken_at": _ts(shape.taken_at),
        "filter": shape.filter.describe(),
        "messages": shape.messages,
        "recipients": shape.recipients,
        "total_size": shape.total_size,
        "oldest_arrival": _ts(shape.oldest),
        "next_retry": _ts(shape.next_retry),
        "queues": dict(shape.by_queue),
        "age_buckets_minutes": list(BUCKET_LABELS),
        "domains": [
            {"domain": r.domain, "total": r.total, "buckets": list(r.buckets)}
            for r in shape.domains
        ],
        "reasons": [
            {
                "cause": g.cause.value if g.cause else None,
                "phase": g.phase.value if g.phase else None,
                "relay": g.relay,
                "recipients": g.recipients,
                "messages": g.messages,
                "domains": list(g.domains),
                "oldest_arrival": _ts(g.oldest),
                "next_retry": _ts(g.next_retry),
                "sample_reason": g.sample_reason,
            }
            for g in shape.reasons
        ],
        "relays": [{"relay": r, "recipients": n} for r, n in shape.relays],
        "insights": [
            {
                "kind": i.kind,
                "text": i.text,
                "cause": i.cause.value if i.cause else None,
                "subject": i.subject,
            }
            for i in shape.insights
        ],
        "actions": [{"command": a.command, "why": a.why} for a in shape.actions],
        "unreadable": [{"source": p.source, "reason": p.reason} for p in shape.problems],
    }


def render(shape: QueueShape) -> str:
    """One JSON document."""
    return json.dumps({"schema": SCHEMA, **as_dict(shape)}, indent=2)
