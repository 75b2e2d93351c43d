"""Worker processes forked from this one: tasks go out through a pipe each, pickled
results come back through another, and the caller takes them in the order it asks.

Why not multiprocessing.Pool: `logs` on a large file spent its first 30 to 40 ms
importing multiprocessing (sockets, subprocess, tempfile...) and starting the pool's
processes and three threads, before any line was read: about 3 % of the whole run on
the 1,000,000-line bench log, all of it before the workers could start. And a Pool
whose worker dies (the OOM killer, a signal) never answers: `get()` waits forever.
Here a pool needs a fork and two pipes per worker, pickle, and one thread that reads
results as they come (a worker never waits with a full pipe while this process is
busy merging) and hands the next task to the worker that is free. A worker that dies
is seen at once (its pipe closes): its task is reported lost, for the caller to do.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import struct
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_SIZE: Final = struct.Struct("<Q")  # the length of the pickle that follows
_OK: Final = 0
_RAISED: Final = 1


class WorkerLost(Exception):
    """A worker process died before it sent the result of its task."""


class _Worker:
    __slots__ = ("pid", "results", "task", "tasks")

    def __init__(self, pid: int, tasks: int, results: int) -> None:
        self.pid = pid
        self.tasks = tasks  # this end writes tasks
        self.results = results  # this end reads replies
        self.task: int | None = None  # the ticket of the task it is doing


class ForkPool(Generic[T, R]):
    """`workers` processes forked now, each running `run` on the tasks it is given.

    submit() queues a task and returns its ticket; result(ticket) waits for that
    task's result (re-raising what `run` raised, or WorkerLost). Use as a context
    manager: on the way out the workers are told to stop (killed, after an error)
    and waited for, so no process outlives the pool.
    """

    def __init__(self, run: Callable[[T], R], workers: int) -> None:
        self._workers: list[_Worker] = []
        self._lock = threading.Condition()
        self._backlog: deque[tuple[int, bytes]] = deque()
        self._replies: dict[int, bytes | None] = {}  # None: the worker died
        self._next = 0
        self._closing = False
        self._wake_read, self._wake_write = os.pipe()  # tells the reader to stop
        try:
            for _ in range(max(1, workers)):
                self._workers.append(self._fork(run))
        except BaseException:
            self.close(kill=True)
            raise
        self._idle: list[_Worker] = list(self._workers)
        self._reader = threading.Thread(target=self._read_replies, daemon=True)
        self._reader.start()  # after the forks: a fork copies no running thread

    def _fork(self, run: Callable[[T], R]) -> _Worker:
        task_read, task_write = os.pipe()
        reply_read, reply_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: it never returns into the caller's code
            code = 1
            try:
                for fd in (task_write, reply_read, self._wake_read, self._wake_write):
                    os.close(fd)
                for other in self._workers:  # their ends, or their EOF never comes
                    os.close(other.tasks)
                    os.close(other.results)
                _serve(run, task_read, reply_write)
                code = 0
            finally:
                os._exit(code)  # no atexit handlers, no flush of the parent's buffers
        os.close(task_read)
        os.close(reply_write)
        return _Worker(pid, task_write, reply_read)

    def __enter__(self) -> ForkPool[T, R]:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self.close(kill=kind is not None)

    def submit(self, task: T) -> int:
        """Queue task; its ticket for result()."""
        payload = pickle.dumps(task, pickle.HIGHEST_PROTOCOL)
        with self._lock:
            ticket = self._next
            self._next += 1
            self._backlog.append((ticket, payload))
            self._dispatch()
        return ticket

    def result(self, ticket: int) -> R:
        """The result of the task with this ticket, waiting for it if need be."""
        with self._lock:
            while ticket not in self._replies:
                if not self._workers:  # every worker died: nobody will do it
                    self._replies[ticket] = None
                    break
                self._lock.wait()
            reply = self._replies.pop(ticket)
        if reply is None:
            raise WorkerLost("the worker process died before it answered")
        status, value = pickle.loads(reply)
        if status == _OK:
            return value  # type: ignore[no-any-return]
        raise value

    def close(self, kill: bool = False) -> None:
        """Stop the workers (at once, with kill) and wait for them."""
        with self._lock:
            self._closing = True
            workers, self._workers, self._idle = self._workers, [], []
        if kill:
            for worker in workers:
                _kill(worker.pid)
        os.write(self._wake_write, b"x")
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join()
        for worker in workers:
            _close(worker.tasks)  # a worker reads EOF and leaves
            _close(worker.results)
        for worker in workers:
            _reap(worker.pid)
        _close(self._wake_read)
        _close(self._wake_write)

    def _dispatch(self) -> None:
        # Called holding the lock: the next tasks to the workers that are free. A
        # worker that cannot be written to has died: the reader sees its pipe close.
        while self._backlog and self._idle:
            ticket, payload = self._backlog.popleft()
            worker = self._idle.pop()
            try:
                _send(worker.tasks, payload)
            except OSError:
                self._backlog.appendleft((ticket, payload))
                continue
            worker.task = ticket

    def _read_replies(self) -> None:
        """The reader thread: each reply as it comes, then the worker's next task."""
        try:
            while self._read_some():
                pass
        finally:  # whatever stopped it, nobody waits for a reply that cannot come
            with self._lock:
                self._closing = True
                for ticket in {w.task for w in self._workers} | {t for t, _ in self._backlog}:
                    if ticket is not None:
                        self._replies.setdefault(ticket, None)
                self._workers = []
                self._lock.notify_all()

    def _read_some(self) -> bool:
        with self._lock:
            if self._closing:
                return False
            watched = {w.results: w for w in self._workers}
        # Every worker's pipe, busy or not: an idle worker that dies closes it too.
        ready, _, _ = select.select([self._wake_read, *watched], [], [])
        for fd in ready:
            worker = watched.get(fd)
            if worker is None:
                continue  # the wake-up: the next round sees _closing
            reply: bytes | None
            try:
                reply = _receive(fd)
            except (EOFError, OSError):
                reply = None
            with self._lock:
                if self._closing:
                    return False
                if worker.task is not None:
                    self._replies[worker.task] = reply
                worker.task = None
                if reply is None:
                    self._lose(worker)
                else:
                    self._idle.append(worker)
                self._dispatch()
                self._lock.notify_all()
        return True

    def _lose(self, worker: _Worker) -> None:
        # Called holding the lock, in the reader: a worker that died.
        if worker in self._idle:
            self._idle.remove(worker)
        if worker in self._workers:
            self._workers.remove(worker)
        _close(worker.tasks)
        _close(worker.results)
        _kill(worker.pid)
        _reap(worker.pid)
        if not self._workers:  # nobody left for the tasks still waiting
            for ticket, _payload in self._backlog:
                self._replies[ticket] = None
            self._backlog.clear()


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 9)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _serve(run: Callable[[Any], Any], tasks: int, replies: int) -> None:
    """The worker's loop: a task in, its result (or what it raised) out, until EOF."""
    while True:
        try:
            data = _receive(tasks)
        except EOFError:
            return  # the pool is closed
        try:
            reply: tuple[int, Any] = (_OK, run(pickle.loads(data)))
            payload = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # sent back, raised by result()
            try:
                payload = pickle.dumps((_RAISED, exc), pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that does not pickle: its text
                payload = pickle.dumps((_RAISED, RuntimeError(repr(exc))))
        _send(replies, payload)


def _send(fd: int, payload: bytes) -> None:
    view = memoryview(_SIZE.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int) -> bytes:
    (size,) = _SIZE.unpack(_read_exactly(fd, _SIZE.size))
    return _read_exactly(fd, size)


def _read_exactly(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
