"""Every probe result in SQLite (WAL, bounded retention), and the summaries read from it."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from smtpdoctor.monitor.sample import CauseLabel, ProbeSample

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    target TEXT NOT NULL,
    started_at REAL NOT NULL,
    verdict TEXT NOT NULL,
    duration_s REAL NOT NULL,
    endpoint TEXT NOT NULL,
    phases TEXT NOT NULL,      -- JSON [[phase, seconds], ...]
    causes TEXT NOT NULL,      -- JSON [[cause, phase, severity, summary, fix], ...]
    error TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_by_target ON samples (target, started_at);
"""

PRUNE_EVERY = 200  # inserts between retention sweeps


def default_path() -> Path:
    """$STATE_DIRECTORY (systemd), else $XDG_STATE_HOME or ~/.local/state, /smtpdoctor."""
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state) / "history.sqlite3"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "smtpdoctor" / "history.sqlite3"


def _row_to_sample(row: sqlite3.Row) -> ProbeSample:
    return ProbeSample(
        target=row["target"],
        spec=row["target"],
        module="",
        verdict=row["verdict"],
        started_at=row["started_at"],
        duration_s=row["duration_s"],
        endpoint=row["endpoint"],
        phases=tuple((p, float(s)) for p, s in json.loads(row["phases"])),
        causes=tuple(CauseLabel(*c) for c in json.loads(row["causes"])),
        error=row["error"],
    )


class History:
    """The probe history; one instance per thread (sqlite3 connections are not shared)."""

    def __init__(self, path: Path, retention_days: float = 14.0, readonly: bool = False):
        self.path = path
        self.retention_s = retention_days * 86400
        if readonly:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=5)
            # WAL: the status page and `monitor status` read while the monitor writes.
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        self.db.row_factory = sqlite3.Row
        self._inserts = 0

    def add(self, sample: ProbeSample) -> None:
        """Store a sample; every PRUNE_EVERY inserts, drop what is past retention."""
        causes = [[c.cause, c.phase, c.severity, c.summary, c.fix] for c in sample.causes]
        with self.db:
            self.db.execute(
                "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sample.target,
                    sample.started_at,
                    sample.verdict,
                    sample.duration_s,
                    sample.endpoint,
                    json.dumps(sample.phases),
                    json.dumps(causes),
                    sample.error,
                ),
            )
        self._inserts += 1
        if self._inserts % PRUNE_EVERY == 1:
            self.prune()

    def prune(self, now: float | None = None) -> int:
        """Delete samples older than the retention; returns how many."""
        cutoff = (now if now is not None else time.time()) - self.retention_s
        with self.db:
            cur = self.db.execute("DELETE FROM samples WHERE started_at < ?", (cutoff,))
        return cur.rowcount

    def targets(self) -> list[str]:
        """Every target with history."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT target FROM samples ORDER BY 1")]

    def samples(self, target: str, since: float, limit: int = 10000) -> list[ProbeSample]:
        """A target's samples since a time, oldest first (at most ``limit``, the newest)."""
        rows = self.db.execute(
            "SELECT * FROM (SELECT * FROM samples WHERE target = ? AND started_at >= ?"
            " ORDER BY started_at DESC LIMIT ?) ORDER BY started_at",
            (target, since, limit),
        ).fetchall()
        return [_row_to_sample(r) for r in rows]

    def close(self) -> None:
        """Close the connection."""
        self.db.close()


@dataclass(frozen=True)
class TargetSummary:
    """What `monitor status` shows of one target."""

    target: str
    last: ProbeSample
    samples: int
    uptime: float  # fraction of probes in the window where mail got through
    since: float  # the window's start
    percentiles: dict[str, tuple[float, float]]  # phase -> (p50, p95) seconds
    last_change: float | None  # when the state last changed, if in the window


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; values need not be sorted."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def summarize(target: str, samples: list[ProbeSample], since: float) -> TargetSummary | None:
    """Uptime, per-phase p50/p95 and the last state change over samples (oldest first)."""
    if not samples:
        return None
    by_phase: dict[str, list[float]] = {}
    for s in samples:
        for phase, seconds in s.phases:
            by_phase.setdefault(phase, []).append(seconds)
    last_change = None
    for before, after in pairwise(samples):
        if before.state != after.state:
            last_change = after.started_at
    return TargetSummary(
        target=target,
        last=samples[-1],
        samples=len(samples),
        uptime=sum(1 for s in samples if s.up) / len(samples),
        since=since,
        percentiles={p: (percentile(v, 0.5), percentile(v, 0.95)) for p, v in by_phase.items()},
        last_change=last_change,
    )
