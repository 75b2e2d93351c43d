"""History in SQLite, `monitor status`, and state-change hooks (pure tracker and real delivery)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from smtpdoctor.monitor.history import History, percentile, summarize
from smtpdoctor.monitor.hooks import StateTracker
from smtpdoctor.monitor.sample import CauseLabel, ProbeSample
from tests.check.helpers import BadFactory
from tests.monitor.conftest import MonitorProcess, smtpdoctor
from tests.support.servers import GoodSMTP

TIMEOUT = CauseLabel("connect_timeout", "connect", "error", "SYN unanswered", "nft list ruleset")


def sample(
    target: str, verdict: str, at: float, *causes: CauseLabel, rcpt: float = 0.01
) -> ProbeSample:
    return ProbeSample(
        target=target,
        spec=target,
        module="default",
        verdict=verdict,
        started_at=at,
        duration_s=0.05,
        phases=(("connect", 0.001), ("rcpt", rcpt)),
        causes=causes,
    )


def test_history_is_wal_bounded_and_summarised(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3", retention_days=1)
    now = time.time()
    history.add(sample("old", "ok", now - 3 * 86400))
    for i in range(20):
        down = i in (5, 6)
        history.add(
            sample(
                "relay",
                "failed" if down else "ok",
                now - 100 + i,
                *((TIMEOUT,) if down else ()),
                rcpt=0.01 * (i + 1),
            )
        )
    mode = sqlite3.connect(tmp_path / "h.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    # the first insert swept the three-day-old sample (one-day retention)
    assert history.targets() == ["relay"]
    history.add(sample("old", "ok", now - 2 * 86400))
    assert history.prune(now) == 1
    assert history.targets() == ["relay"]
    rows = history.samples("relay", now - 200)
    assert [s.verdict for s in rows].count("failed") == 2
    assert rows[5].causes == (TIMEOUT,)
    summary = summarize("relay", rows, now - 200)
    assert summary is not None
    assert summary.uptime == pytest.approx(18 / 20)
    assert summary.percentiles["rcpt"] == pytest.approx((0.10, 0.19))
    assert summary.last_change == rows[7].started_at  # failed -> ok at the 8th probe
    history.close()


def test_percentile_by_nearest_rank() -> None:
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert percentile([7.0], 0.95) == 7.0


def test_tracker_dedups_rate_limits_and_holds_the_latest() -> None:
    tracker = StateTracker(min_interval_s=60)
    assert tracker.observe(sample("r", "ok", 0), now=0) is None  # new and ok: nothing to say
    first = tracker.observe(sample("r", "failed", 1, TIMEOUT), now=1)
    assert first is not None
    assert (first.previous, first.state) == ("ok", "failed:connect_timeout")
    assert first.document()["cause"] == "connect_timeout"
    assert first.document()["fix"] == "nft list ruleset"
    assert tracker.observe(sample("r", "failed", 2, TIMEOUT), now=2) is None  # same state
    assert tracker.observe(sample("r", "ok", 3), now=3) is None  # held: inside 60 s
    assert tracker.held() == ["r"]
    back = tracker.due("r", now=61)
    assert back is not None
    assert (back.previous, back.state) == ("failed:connect_timeout", "ok")
    # a flap that returns to the notified state before the quiet time ends is never sent
    assert tracker.observe(sample("r", "failed", 62, TIMEOUT), now=62) is None
    assert tracker.observe(sample("r", "ok", 63), now=63) is None
    assert tracker.due("r", now=200) is None
    assert tracker.held() == []


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.events.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on loopback: (url, events received)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.events = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", server.events  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def wait_until(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_state_changes_reach_the_command_and_the_webhook_once(
    monitor: Callable[[str], MonitorProcess],
    bad: BadFactory,
    webhook: tuple[str, list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    url, events = webhook
    server = bad("normal")
    log = tmp_path / "hook.log"
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\ncat >> {log}\necho >> {log}\n")
    script.chmod(0o755)
    mp = monitor(
        f'interval = "1s"\n[[targets]]\ntarget = "{server.target}"\nname = "relay"\n'
        '[modules.default]\nstarttls = "never"\n'
        f'[hooks]\ncommand = ["{script}"]\nwebhook = "{url}"\nmin_interval = 0\n'
    )
    wait_until(lambda: 'smtpdoctor_target_up{target="relay"} 1.0' in mp.get("/metrics")[1])
    assert events == []  # healthy from the start: nothing to announce
    server.stop()
    wait_until(lambda: len(events) >= 1)
    time.sleep(2.5)  # more probes of the same failure: still one event
    assert [e["state"] for e in events] == ["failed:connect_refused"]
    event = events[0]
    assert event["schema"] == "smtpdoctor.monitor.event/1"
    assert (event["target"], event["previous"], event["cause"], event["phase"]) == (
        "relay",
        "ok",
        "connect_refused",
        "connect",
    )
    wait_until(lambda: log.exists() and log.read_text().count("\n") >= 1)
    (line,) = log.read_text().splitlines()  # one change, one call
    assert json.loads(line)["state"] == "failed:connect_refused"

    # `monitor status` reads the same history
    done = smtpdoctor("monitor", "status", "--json", "--history", str(mp.history))
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == "smtpdoctor.monitor.status/1"
    (relay,) = doc["targets"]
    assert relay["verdict"] == "failed"
    assert relay["causes"][0]["cause"] == "connect_refused"
    assert 0 < relay["uptime"] < 1
    assert relay["phases"]["connect"]["p50_s"] <= relay["phases"]["connect"]["p95_s"]
    assert "rcpt" in relay["phases"]  # from the healthy probes before the stop
    text = smtpdoctor("monitor", "status", "--history", str(mp.history))
    assert text.stdout.startswith("relay: failed (")
    assert "error: connect_refused in connect:" in text.stdout


def test_status_without_history_cannot_run(tmp_path: Path) -> None:
    done = smtpdoctor("monitor", "status", "--history", str(tmp_path / "none.sqlite3"))
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1
    assert "no history yet" in done.stderr


def test_status_page_renders_in_chromium(
    monitor: Callable[[str], MonitorProcess],
    good: GoodSMTP,
    closed_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import shutil
    import subprocess

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium (Debian package) absent")
    mp = monitor(
        f'interval = "1s"\n[[targets]]\ntarget = "{good.target}"\nname = "good"\n'
        f'[[targets]]\ntarget = "127.0.0.1:{closed_port}"\nname = "closed"\n'
        '[modules.default]\nstarttls = "never"\n'
    )
    wait_until(
        lambda: 'data-target="good"' in mp.get("/")[1] and 'data-target="closed"' in mp.get("/")[1]
    )
    time.sleep(2.5)  # a few probes each, so the plots have lines
    artifacts = tmp_path_factory.mktemp("status-page")
    shot = artifacts / "status.png"
    profile = artifacts / "profile"
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}"]
    dom = subprocess.run(
        [*base, "--dump-dom", mp.url + "/"], capture_output=True, text=True, timeout=60, check=False
    )
    assert 'data-target="good" data-state="ok"' in dom.stdout
    assert 'data-target="closed" data-state="failed"' in dom.stdout
    assert "connect_refused" in dom.stdout
    assert "<polyline" in dom.stdout
    assert "http://" not in dom.stdout.replace(mp.url, "")  # no external assets
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1280,600", mp.url + "/"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert shot.exists() and shot.stat().st_size > 5000
    print(f"status page screenshot: {shot}")


def test_an_unwritable_history_cannot_run(tmp_path: Path) -> None:
    config = tmp_path / "m.toml"
    config.write_text('mail_log = "off"\n')
    blocker = tmp_path / "file"
    blocker.write_text("")
    history = blocker / "history.sqlite3"  # a directory that is a file
    done = smtpdoctor("monitor", "--config", str(config), "--listen", "127.0.0.1:0",
                      "--history", str(history))  # fmt: skip
    assert done.returncode == 3
    assert done.stderr.startswith(f"smtpdoctor: cannot run: {history}: cannot open the history: ")
    assert done.stderr.count("\n") == 1
