"""Runs the schedule: one task per target, a shared concurrency limit, a budget per probe.

Each target has its own task, so a target that hangs holds at most one slot of the
concurrency limit for at most its budget; it never delays another target's turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from smtpdoctor.monitor.config import MonitorConfig, TargetSpec
from smtpdoctor.monitor.module import ProbeModule
from smtpdoctor.monitor.sample import ProbeSample
from smtpdoctor.monitor.schedule import Schedule, reload_changes

ProbeFn = Callable[[str, str, str, ProbeModule, float], Awaitable[ProbeSample]]
SampleSink = Callable[[ProbeSample], None]


class Runner:
    """The scheduled probes of one config; ``apply()`` a new config to reload."""

    def __init__(self, probe: ProbeFn, sink: SampleSink):
        self._probe = probe
        self._sink = sink
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.config: MonitorConfig | None = None
        self._schedule: Schedule | None = None
        self._limit = asyncio.Semaphore(1)
        self.running = 0  # probes in flight (self-health)
        self.lag_s = 0.0  # how late the last probe started against its slot

    def apply(self, config: MonitorConfig) -> None:
        """Start the config's targets, or reload: only changed targets restart."""
        loop = asyncio.get_running_loop()
        old = self.config.targets if self.config else ()
        changes = reload_changes(old, config.targets)
        if (
            self.config is None
            or self.config.interval_s != config.interval_s
            or self.config.modules != config.modules
        ):
            changes = reload_changes((), config.targets)  # every turn moves: restart all
            for name in list(self._tasks):
                self._tasks.pop(name).cancel()
        for name in changes.stop:
            task = self._tasks.pop(name, None)
            if task is not None:
                task.cancel()
        if self.config is None or self.config.concurrency != config.concurrency:
            self._limit = asyncio.Semaphore(config.concurrency)
        self.config = config
        self._schedule = Schedule.build(
            [t.name for t in config.targets], config.interval_s, loop.time()
        )
        by_name = {t.name: t for t in config.targets}
        for name in changes.start:
            self._tasks[name] = loop.create_task(self._loop(by_name[name]), name=f"probe {name}")

    async def _loop(self, spec: TargetSpec) -> None:
        loop = asyncio.get_running_loop()
        last_due = -1.0
        while True:
            assert self._schedule is not None and self.config is not None
            # never the same slot twice, even when a probe returns at once
            due = self._schedule.next_due(spec.name, max(loop.time(), last_due + 1e-3))
            last_due = due
            await asyncio.sleep(max(0.0, due - loop.time()))
            async with self._limit:
                config = self.config
                self.lag_s = loop.time() - due
                self.running += 1
                try:
                    sample = await self._probe(
                        spec.name,
                        spec.target,
                        spec.module,
                        config.modules[spec.module],
                        config.budget_for(spec),
                    )
                finally:
                    self.running -= 1
            self._sink(sample)

    async def close(self) -> None:
        """Cancel every probe task and wait for them."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def names(self) -> tuple[str, ...]:
        """The targets being probed."""
        return tuple(self._tasks)
