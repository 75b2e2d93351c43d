"""The pure schedule, and the runner against real servers (one of them hanging)."""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise

from smtpdoctor.monitor import probing
from smtpdoctor.monitor.config import MonitorConfig, TargetSpec
from smtpdoctor.monitor.module import ProbeModule
from smtpdoctor.monitor.runner import Runner
from smtpdoctor.monitor.sample import ProbeSample
from smtpdoctor.monitor.schedule import Schedule, offsets, reload_changes
from tests.check.helpers import BadFactory
from tests.support.servers import GoodSMTP


def test_offsets_spread_targets_evenly_and_stably() -> None:
    names = [f"t{i}" for i in range(60)]
    spread = offsets(names, 60.0)
    assert sorted(spread.values()) == [float(i) for i in range(60)]
    # the same names in another order get the same offsets (hash order, not input order)
    assert offsets(list(reversed(names)), 60.0) == spread


def test_next_due_skips_missed_turns() -> None:
    schedule = Schedule.build(["a", "b"], 10.0, base=100.0)
    first = schedule.next_due("a", 0.0)
    other = schedule.next_due("b", 0.0)
    assert {first, other} == {100.0, 105.0}
    assert schedule.next_due("a", first) == first
    assert schedule.next_due("a", first + 0.001) == first + 10
    assert schedule.next_due("a", first + 35) == first + 40


def test_reload_restarts_only_what_changed() -> None:
    a, b, c = TargetSpec("a:25", "a"), TargetSpec("b:25", "b"), TargetSpec("c:25", "c")
    changes = reload_changes([a, b], [a, TargetSpec("b:587", "b"), c])
    assert changes.stop == ("b",)
    assert changes.start == ("b", "c")
    assert changes.keep == ("a",)


def test_a_hanging_target_never_delays_another(bad: BadFactory, good: GoodSMTP) -> None:
    hanging = bad("no-greeting")
    module = ProbeModule(ports=(), starttls="never", timeouts=(("greeting", 30.0),))
    config = MonitorConfig(
        targets=(TargetSpec(hanging.target, "hanging"), TargetSpec(good.target, "good")),
        modules={"default": module},
        interval_s=1.0,
        concurrency=2,
    )
    samples: list[tuple[float, ProbeSample]] = []

    async def scenario() -> None:
        runner = Runner(probing.probe, lambda s: samples.append((time.monotonic(), s)))
        runner.apply(config)
        await asyncio.sleep(3.6)
        await runner.close()

    asyncio.run(scenario())
    good_runs = [t for t, s in samples if s.target == "good"]
    hanging_runs = [s for _, s in samples if s.target == "hanging"]
    # good is probed every second although the hanging probe holds on for its whole budget
    assert len(good_runs) >= 3
    assert max(b - a for a, b in pairwise(good_runs)) < 1.5
    assert all(s.verdict == "ok" for _, s in samples if s.target == "good")
    # the hanging one is cut at its budget (0.8 s of a 1 s interval) and says why
    assert hanging_runs, "the hanging target's probe never ended"
    assert hanging_runs[0].verdict == "failed"
    assert hanging_runs[0].duration_s < 1.5
    assert hanging_runs[0].main_cause is not None
    assert hanging_runs[0].main_cause.cause == "greeting_timeout"
