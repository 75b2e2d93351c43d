"""The fork pool under `logs` on large files (logs/forks.py): results in the order asked,
a worker's exception raised here, a worker that dies reported lost (never waited for),
and no process left behind."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpdoctor.logs import parallel
from smtpdoctor.logs.api import analyze
from smtpdoctor.logs.forks import ForkPool, WorkerLost

DATA = Path(__file__).resolve().parents[1] / "data" / "logs"


def _square_slowly(n: int) -> int:
    time.sleep(0.001 * (n % 7))  # replies come back out of order
    return n * n


def _fail_on_three(n: int) -> int:
    if n == 3:
        raise ValueError("three")
    return n


def _die_on_three(n: int) -> int:
    if n == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def _die(n: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return n


def _pid(n: int) -> int:
    return os.getpid()


def _all_reaped(pids: list[int]) -> bool:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue  # gone and waited for
        return False
    return True


def _pids(pool: ForkPool[int, int]) -> list[int]:
    return [worker.pid for worker in pool._workers]


def test_results_come_in_the_order_asked_whatever_order_workers_finish() -> None:
    with ForkPool(_square_slowly, 3) as pool:
        pids = _pids(pool)
        tickets = [pool.submit(n) for n in range(40)]
        assert [pool.result(t) for t in tickets] == [n * n for n in range(40)]
    assert len(pids) == 3 and _all_reaped(pids)


def test_the_work_is_done_in_other_processes() -> None:
    with ForkPool(_pid, 2) as pool:
        pids = {pool.result(pool.submit(n)) for n in range(20)}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_an_exception_in_a_worker_is_raised_here_and_the_pool_goes_on() -> None:
    with ForkPool(_fail_on_three, 2) as pool:
        pids = _pids(pool)
        tickets = [pool.submit(n) for n in range(6)]
        assert [pool.result(t) for t in tickets[:3]] == [0, 1, 2]
        with pytest.raises(ValueError, match="three"):
            pool.result(tickets[3])
        assert [pool.result(t) for t in tickets[4:]] == [4, 5]
    assert _all_reaped(pids)


def test_a_worker_that_dies_loses_its_task_only() -> None:
    with ForkPool(_die_on_three, 2) as pool:
        pids = _pids(pool)
        tickets = [pool.submit(n) for n in range(8)]
        got: list[int | str] = []
        for t in tickets:
            try:
                got.append(pool.result(t))
            except WorkerLost:
                got.append("lost")
    assert got == [0, 1, 2, "lost", 4, 5, 6, 7]
    assert _all_reaped(pids)


def test_when_every_worker_dies_every_waiting_task_is_lost_not_waited_for() -> None:
    start = time.monotonic()
    with ForkPool(_die, 2) as pool:
        pids = _pids(pool)
        tickets = [pool.submit(n) for n in range(5)]
        for t in tickets:
            with pytest.raises(WorkerLost):
                pool.result(t)
    assert time.monotonic() - start < 10
    assert _all_reaped(pids)


def test_an_error_here_kills_the_workers_on_the_way_out() -> None:
    pids: list[int] = []
    with pytest.raises(KeyError), ForkPool(_square_slowly, 3) as pool:
        pids = _pids(pool)
        pool.submit(1)
        raise KeyError("the caller failed")
    assert len(pids) == 3 and _all_reaped(pids)


def test_a_range_whose_worker_died_is_read_here_and_the_report_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "mail.log"
    lines = (DATA / "postfix-grok-patterns.log").read_bytes()
    log.write_bytes(lines * 40)
    monkeypatch.setattr(parallel, "MIN_SIZE", 0)
    monkeypatch.setattr(parallel, "RANGE_SIZE", 20_000)
    spans = parallel.ranges(log)
    assert len(spans) > 6
    doomed = spans[4][0]
    parse = parallel.parse_range

    def dies_on_one_range(task: parallel.Task) -> parallel.RangeResult:
        if task[1] == doomed:
            os.kill(os.getpid(), signal.SIGKILL)
        return parse(task)

    one = analyze([log], parallel=False)
    read_here: list[int] = []  # the ranges this process read itself
    chunks = parallel._chunks

    def counted(path: str, start: int, end: int, size: int = 1 << 18) -> Iterator[str]:
        read_here.append(start)
        return chunks(path, start, end, size)

    monkeypatch.setattr(parallel, "parse_range", dies_on_one_range)
    monkeypatch.setattr(parallel, "_chunks", counted)
    many = analyze([log])
    assert doomed in read_here
    assert many.groups == one.groups
    assert many.totals == one.totals
    assert many.coverage == one.coverage
