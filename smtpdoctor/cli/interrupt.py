"""Stopping a running check on SIGINT or SIGTERM, keeping what was measured so far.

The probe reports every phase's start and end through its progress hook; `Measured`
records them with their times, so when the user presses Ctrl-C (or a supervisor sends
SIGTERM) the command can still say which phases finished, how, and which one was running.
The check's task is cancelled and awaited here, so no task is left with an exception
nobody retrieved.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import PhaseStatus

T = TypeVar("T")

INTERRUPTED_EXIT = 130  # 128 + SIGINT, what shells report for Ctrl-C


@dataclass
class EndpointSoFar:
    """One address and port: the phases that ended, and the one still running."""

    label: str
    done: list[tuple[Phase, PhaseStatus, float]] = field(default_factory=list)
    running: tuple[Phase, float] | None = None  # phase, its start (monotonic seconds)


class Measured:
    """A progress hook that remembers every phase event (and passes it on)."""

    def __init__(self, then: Callable[[str, Phase, PhaseStatus | None], None] | None = None):
        self.started = time.monotonic()
        self.endpoints: dict[str, EndpointSoFar] = {}
        self._then = then

    def __call__(self, label: str, phase: Phase, status: PhaseStatus | None) -> None:
        now = time.monotonic()
        ep = self.endpoints.setdefault(label, EndpointSoFar(label))
        if status is None:
            ep.running = (phase, now)
        else:
            began = ep.running[1] if ep.running and ep.running[0] is phase else now
            ep.done.append((phase, status, round((now - began) * 1000, 1)))
            ep.running = None
        if self._then is not None:
            self._then(label, phase, status)

    def as_dict(self, stopped_at: float | None = None) -> list[dict[str, Any]]:
        """Every endpoint seen: finished phases and the one interrupted, as plain data."""
        at = stopped_at if stopped_at is not None else time.monotonic()
        out = []
        for ep in self.endpoints.values():
            item: dict[str, Any] = {
                "endpoint": ep.label,
                "phases": [{"phase": p.value, "status": s.value, "ms": ms} for p, s, ms in ep.done],
                "interrupted_phase": None,
            }
            if ep.running is not None:
                item["interrupted_phase"] = {
                    "phase": ep.running[0].value,
                    "ms": round((at - ep.running[1]) * 1000, 1),
                }
            out.append(item)
        return out


@dataclass(frozen=True)
class Interrupted:
    """The check stopped on a signal before it finished."""

    signal_name: str
    elapsed_ms: float  # from the start of the run to the signal
    stopped_at: float  # the signal's monotonic time: measure the cut phase to it


def run_interruptible(coro: Coroutine[Any, Any, T]) -> T | Interrupted:
    """asyncio.run(coro), but SIGINT/SIGTERM cancel it cleanly and return Interrupted."""
    return asyncio.run(_guarded(coro))


async def _guarded(coro: Coroutine[Any, Any, T]) -> T | Interrupted:
    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    task = asyncio.ensure_future(coro)
    caught: list[str] = []
    caught_at: list[float] = []
    start = time.monotonic()

    def stop(sig: signal.Signals) -> None:
        # Every task, not only the check's: a helper task the probe started (a read it
        # waits on with asyncio.wait) would otherwise go on, fail on the closed socket
        # and die with an exception nobody retrieves.
        if not caught:
            caught.append(sig.name)
            caught_at.append(time.monotonic())
            for t in asyncio.all_tasks():
                if t is not me:
                    t.cancel()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop, sig)
            installed.append(sig)
    try:
        return await task
    except asyncio.CancelledError:
        if not caught:
            raise
        await _settle()
        return Interrupted(caught[0], round((caught_at[0] - start) * 1000, 1), caught_at[0])
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _settle() -> None:
    """Cancel and await every other task, retrieving their exceptions (none left dangling)."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in others:
        t.cancel()
    await asyncio.gather(*others, return_exceptions=True)
