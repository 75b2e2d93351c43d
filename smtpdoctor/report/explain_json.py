"""The catalogue as JSON (schema smtpdoctor.explain/1)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from smtpdoctor.catalogue import CauseInfo

SCHEMA = "smtpdoctor.explain/1"


def _entry(info: CauseInfo) -> dict[str, Any]:
    return {
        "code": info.code.value,
        "title": info.title,
        "explanation": info.explanation,
        "evidence": info.evidence,
        "how_to_prove": list(info.how_to_prove),
        "fixes": list(info.fixes),
        "shows_as": [{"source": s.source, "text": s.text} for s in info.shows_as],
    }


def render(entries: Iterable[CauseInfo]) -> str:
    """One JSON document listing the given catalogue entries."""
    return json.dumps({"schema": SCHEMA, "causes": [_entry(e) for e in entries]}, indent=2)
