"""The daemon's state file (status.json in the state dir): what `failover status` shows.

Written atomically (write, fsync, rename) after every round, so a reader never sees
half a file and a restarted daemon picks up its breakers where it left them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smtpdoctor.failover.breaker import Breaker, BreakerState

__all__ = ["SCHEMA", "breaker_from_dict", "breaker_to_dict", "read_state", "write_state"]

SCHEMA = "smtpdoctor.failover-status/1"
STATE_FILE = "status.json"


def breaker_to_dict(breaker: Breaker) -> dict[str, Any]:
    """A breaker as JSON-able fields."""
    return {
        "state": breaker.state.value,
        "failures": breaker.failures,
        "successes": breaker.successes,
        "since": breaker.since,
        "backoff_s": breaker.backoff_s,
        "retry_at": breaker.retry_at,
    }


def breaker_from_dict(data: Mapping[str, Any]) -> Breaker:
    """The breaker saved by breaker_to_dict; ValueError/KeyError/TypeError if malformed."""
    return Breaker(
        state=BreakerState(data["state"]),
        failures=int(data["failures"]),
        successes=int(data["successes"]),
        since=float(data["since"]),
        backoff_s=float(data["backoff_s"]),
        retry_at=float(data["retry_at"]),
    )


def write_state(state_dir: Path, document: Mapping[str, Any]) -> Path:
    """Write status.json atomically; returns its path."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / STATE_FILE
    tmp = state_dir / f".{STATE_FILE}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def read_state(state_dir: Path) -> dict[str, Any] | None:
    """The last state document, or None when there is none (or it is not ours)."""
    try:
        data = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return None
    return data
