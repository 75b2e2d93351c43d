"""--follow in a real subprocess: survives logrotate's rename-and-create and copytruncate."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

LINE = (
    "Nov 27 23:10:{s:02d} mx postfix/smtp[1]: F{n}: to=<u@d{n}.example>, relay=none, "
    "delay=3, delays=0/0/3/0, dsn=4.4.1, status=deferred "
    "(connect to mx{n}[192.0.2.{n}]:25: Connection timed out)\n"
)


def _append(path: Path, n: int) -> None:
    with path.open("a") as f:
        f.write(LINE.format(s=n % 60, n=n))


class Follower:
    """`smtpdoctor logs FILE --follow --json` with its rolling documents in a queue."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smtpdoctor", "logs", str(path), "--follow", "--json",
             "--interval", "0.2", "--no-rotated"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.docs: queue.Queue[dict[str, Any]] = queue.Queue()
        self.rest: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{") and line.rstrip().endswith("}"):
                self.docs.put(json.loads(line))
            else:
                self.rest.append(line)

    def wait_for(self, lines: int, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                doc = self.docs.get(timeout=0.5)
            except queue.Empty:
                continue
            if doc["totals"]["lines"] >= lines:
                return doc
        raise AssertionError(f"follow never reached {lines} lines")

    def stop(self) -> tuple[int, dict[str, Any]]:
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=10)
        time.sleep(0.1)
        # JSON Lines throughout: the final report is the last line, nothing else is written
        assert not "".join(self.rest).strip(), self.rest
        last: dict[str, Any] | None = None
        while not self.docs.empty():
            last = self.docs.get()
        assert last is not None
        return rc, last


@pytest.fixture
def follower(tmp_path: Path) -> Iterator[tuple[Path, Follower]]:
    log = tmp_path / "mail.log"
    log.write_text("")
    f = Follower(log)
    try:
        yield log, f
    finally:
        if f.proc.poll() is None:
            f.proc.kill()
            f.proc.wait(timeout=10)


def test_follow_survives_rename_and_create(follower: tuple[Path, Follower]) -> None:
    log, f = follower
    _append(log, 1)
    f.wait_for(1)
    # logrotate (create mode): rename, the writer still appends to the old file once,
    # then a new file appears under the old name.
    rotated = log.with_name("mail.log.1")
    os.rename(log, rotated)
    _append(rotated, 2)
    log.write_text("")
    _append(log, 3)
    _append(log, 4)
    doc = f.wait_for(4)
    assert {g["destination"] for g in doc["groups"]} == {f"d{n}.example" for n in (1, 2, 3, 4)}
    rc, final = f.stop()
    assert rc == 1
    assert final["schema"] == "smtpdoctor.logs/1"
    assert final["totals"]["lines"] == 4


def test_follow_survives_copytruncate(follower: tuple[Path, Follower]) -> None:
    log, f = follower
    _append(log, 1)
    _append(log, 2)
    f.wait_for(2)
    with log.open("r+") as handle:
        handle.truncate(0)
    _append(log, 3)
    doc = f.wait_for(3)
    assert doc["totals"]["lines"] == 3
    rc, final = f.stop()
    assert rc == 1 and final["timeouts"] == 3


SLOW_MX = (
    # Postfix tries each MX host for up to smtp_connect_timeout (30 s) and writes the
    # status line after the last one: far apart compared with --interval.
    "Nov 27 23:10:00 mx postfix/smtp[77]: connect to mx1.slow.example[192.0.2.21]:25: "
    "Connection timed out\n",
    "Nov 27 23:10:30 mx postfix/smtp[77]: connect to mx2.slow.example[192.0.2.22]:25: "
    "Connection timed out\n",
    "Nov 27 23:11:00 mx postfix/smtp[77]: 5A1B2C: to=<u@slow.example>, relay=none, delay=60, "
    "delays=0/0/60/0, dsn=4.4.1, status=deferred (connect to mx2.slow.example[192.0.2.22]:25: "
    "Connection timed out)\n",
)


def test_a_failure_is_counted_once_when_its_lines_come_slower_than_the_interval(
    follower: tuple[Path, Follower],
) -> None:
    log, f = follower
    for n, line in enumerate(SLOW_MX, 1):
        with log.open("a") as out:
            out.write(line)
        doc = f.wait_for(n)
        time.sleep(1.0)  # five --interval periods: rolling reports in between
        assert doc["problems"] <= 2
    doc = f.wait_for(3)
    rc, final = f.stop()
    assert rc == 1
    for d in (doc, final):
        groups = {(g["relay"], g["cause"]): g["count"] for g in d["groups"]}
        assert groups == {
            ("mx1.slow.example[192.0.2.21]:25", "connect_timeout"): 1,
            ("mx2.slow.example[192.0.2.22]:25", "connect_timeout"): 1,
        }
        assert d["problems"] == 2
        assert d["totals"]["deferred"] == 1
