"""State changes (ok -> degraded/failed with a cause, and back) sent to a command or webhook.

``StateTracker`` is the pure decision: deduplicated (a state is reported once, however
many probes see it) and rate-limited per target (changes inside the quiet time are held,
and the latest state is sent when it ends, unless it is the one last sent).
"""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from dataclasses import dataclass, field

from smtpdoctor.monitor.config import HookConfig
from smtpdoctor.monitor.sample import ProbeSample


@dataclass(frozen=True)
class StateChange:
    """One notification."""

    target: str
    previous: str  # a state: ok, degraded:CAUSE, failed:CAUSE, or unknown
    state: str
    sample: ProbeSample

    def document(self) -> dict[str, object]:
        """The JSON document hooks receive (schema smtpdoctor.monitor.event/1)."""
        s = self.sample
        main = s.main_cause
        return {
            "schema": "smtpdoctor.monitor.event/1",
            "target": self.target,
            "previous": self.previous,
            "state": self.state,
            "verdict": s.verdict,
            "cause": main.cause if main else None,
            "phase": (main.phase or None) if main else None,
            "summary": main.summary if main else s.error or None,
            "fix": (main.fix or None) if main else None,
            "at": s.started_at,
            "endpoint": s.endpoint or None,
        }


@dataclass
class _Target:
    sent: str = "ok"  # the state last notified (a new target is presumed ok: no noise)
    sent_at: float = float("-inf")
    pending: ProbeSample | None = None


@dataclass
class StateTracker:
    """Turns a stream of samples into deduplicated, rate-limited state changes."""

    min_interval_s: float
    _targets: dict[str, _Target] = field(default_factory=dict)

    def observe(self, sample: ProbeSample, now: float) -> StateChange | None:
        """The change to send now for this sample, if any."""
        t = self._targets.setdefault(sample.target, _Target())
        t.pending = sample
        return self.due(sample.target, now)

    def due(self, target: str, now: float) -> StateChange | None:
        """A held change whose quiet time is over (call on a timer or the next sample)."""
        t = self._targets.get(target)
        if t is None or t.pending is None:
            return None
        if t.pending.state == t.sent:
            t.pending = None  # back where we were before anyone heard: nothing to say
            return None
        if now - t.sent_at < self.min_interval_s:
            return None
        change = StateChange(target, t.sent, t.pending.state, t.pending)
        t.sent, t.sent_at, t.pending = t.pending.state, now, None
        return change

    def held(self) -> list[str]:
        """Targets with a change waiting for its quiet time to end."""
        return [name for name, t in self._targets.items() if t.pending is not None]


async def deliver(change: StateChange, hooks: HookConfig) -> list[str]:
    """Send a change to the command and the webhook; returns the problems (never raises)."""
    body = json.dumps(change.document()).encode()
    problems: list[str] = []
    if hooks.command:
        try:
            proc = await asyncio.create_subprocess_exec(
                *hooks.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                await asyncio.wait_for(proc.communicate(body), hooks.timeout_s)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                problems.append(f"hook command timed out after {hooks.timeout_s:g} s")
            else:
                if proc.returncode:
                    problems.append(f"hook command exited {proc.returncode}")
        except OSError as exc:
            problems.append(f"hook command: {exc.strerror or exc}")
    if hooks.webhook:
        try:
            await asyncio.to_thread(_post, hooks.webhook, body, hooks.timeout_s)
        except OSError as exc:
            problems.append(f"webhook {hooks.webhook}: {exc}")
    return problems


def _post(url: str, body: bytes, timeout: float) -> None:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read(65536)


def log_problems(problems: list[str]) -> None:
    """Hook failures go to stderr (the journal under systemd)."""
    for problem in problems:
        sys.stderr.write(f"smtpdoctor monitor: {problem}\n")
