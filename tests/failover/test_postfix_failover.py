"""`smtpdoctor failover` steering a real Postfix between recording relays in a namespace.

Faults are real: nftables drops in the namespace, a relay that stalls or greylists.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.failover_lab import FailoverLab, failover_lab, wait_for_text

pytestmark = [pytest.mark.netns, pytest.mark.postfix, pytest.mark.slow]

PRIMARY = "[192.0.2.10]:25"
BACKUP = "[192.0.2.20]:25"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[FailoverLab]:
    with failover_lab(tmp_path) as built:
        yield built


def status(lab: FailoverLab) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "failover", "status", "--json", "--state-dir",
         str(lab.root / "state")],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def test_steers_away_from_a_dead_primary_flushes_and_fails_back(lab: FailoverLab) -> None:
    lab.submit("before@dest.test")
    lab.wait_received("primary", {"before@dest.test"})
    main_cf_before = (lab.postfix.config_dir / "main.cf").read_text()
    _, log = lab.start_daemon(lab.config(hold=4), "--listen", "127.0.0.1:9339")
    wait_for_text(log, "relay=backup outcome=success")
    lab.drop("primary")
    line = wait_for_text(log, "switch: postfix relayhost", timeout=40)
    assert f"-> {BACKUP}, {PRIMARY}" in line
    assert lab.relayhost() == f"{BACKUP}, {PRIMARY}"
    # the evidence of the fault is in the journal: cause, phase and timing
    assert "causes=connect_timeout@connect" in wait_for_text(log, "breaker=closed->open")
    wait_for_text(log, "flushed deferred mail: postqueue -f")
    # the previous main.cf is kept to restore
    previous = (lab.postfix.config_dir / "main.cf.smtpdoctor-prev").read_text()
    assert previous == main_cf_before
    lab.submit("during@dest.test")
    lab.wait_received("backup", {"during@dest.test"}, timeout=15)
    text = subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "failover", "status", "--state-dir",
         str(lab.root / "state")],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert text.returncode == 1
    assert "route: backup (relayhost = [192.0.2.20]:25, [192.0.2.10]:25)  << on a backup relay" in (
        text.stdout
    )
    assert "switch    backup: primary is open: moving to backup" in text.stdout
    doc = status(lab)
    assert doc["schema"] == "smtpdoctor.failover-status/1"
    route = doc["current_route"]
    assert isinstance(route, dict)
    assert (route["relay"], route["preferred"]) == ("backup", False)
    # metrics on the loopback listener
    metrics = subprocess.run(
        lab.ns("python3", "-c", "import urllib.request as u;"
               "print(u.urlopen('http://127.0.0.1:9339/metrics').read().decode())"),
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert 'smtpdoctor_relay_up{relay="primary"} 0.0' in metrics
    assert 'smtpdoctor_relay_breaker_state{relay="primary",state="open"} 1.0' in metrics
    assert 'smtpdoctor_failover_actions_total{action="switch"} 1.0' in metrics
    # recovery: fail back only after the hold time
    lab.undrop()
    closed = wait_for_text(log, "relay=primary outcome=success breaker=half_open->closed", 40)
    back = wait_for_text(log, "failback: postfix relayhost", timeout=40)
    assert f"-> {PRIMARY}, {BACKUP}" in back
    t_closed = time.mktime(time.strptime(closed[:19], "%Y-%m-%d %H:%M:%S"))
    t_back = time.mktime(time.strptime(back[:19], "%Y-%m-%d %H:%M:%S"))
    assert t_back - t_closed >= 3  # hold = 4 s, timestamps in whole seconds
    lab.submit("after@dest.test")
    lab.wait_received("primary", {"after@dest.test"}, timeout=15)


def test_crash_mid_failover_mail_keeps_flowing_on_the_last_route(lab: FailoverLab) -> None:
    proc, log = lab.start_daemon(lab.config())
    lab.drop("primary")
    wait_for_text(log, "switch: postfix relayhost", timeout=40)
    proc.send_signal(signal.SIGKILL)  # no clean-up of any kind
    proc.wait(10)
    assert lab.relayhost() == f"{BACKUP}, {PRIMARY}"
    check = subprocess.run(
        ["postfix", "-c", str(lab.postfix.config_dir), "check"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    wanted = {f"crash{i}@dest.test" for i in range(5)}
    for rcpt in sorted(wanted):
        lab.submit(rcpt)
    lab.wait_received("backup", wanted, timeout=20)
    assert not lab.received("primary") & wanted
    # a restarted daemon takes the breakers from the state file and keeps the route
    _, log2 = lab.start_daemon(lab.config())
    wait_for_text(log2, "relay=backup outcome=success")
    time.sleep(2)
    assert lab.relayhost() == f"{BACKUP}, {PRIMARY}"
    assert "switch:" not in log2.read_text()


def test_all_relays_down_changes_nothing_and_loses_nothing(lab: FailoverLab) -> None:
    main_cf = lab.postfix.config_dir / "main.cf"
    before = main_cf.read_bytes()
    lab.drop("primary")
    lab.drop("backup")
    _, log = lab.start_daemon(lab.config())
    wanted = {f"down{i}@dest.test" for i in range(3)}
    for rcpt in sorted(wanted):
        lab.submit(rcpt)
    wait_for_text(log, "ALL RELAYS DOWN: every relay is down", timeout=40)
    assert main_cf.read_bytes() == before
    assert not (lab.postfix.config_dir / "main.cf.smtpdoctor-prev").exists()
    doc = status(lab)
    assert doc["all_down"] is True
    # mail waits in the queue, then goes out once a relay is back
    queued = lab.postfix.wait_for_queue(lambda q: len(q) == 3, timeout=60)
    assert {r["address"] for m in queued for r in m["recipients"]} == wanted
    lab.undrop()
    lab.postfix.flush()
    deadline = time.monotonic() + 60
    while not wanted <= lab.received("primary") | lab.received("backup"):
        assert time.monotonic() < deadline, "mail was lost after all relays came back"
        time.sleep(0.3)


def test_greylisting_relay_never_trips_the_breaker(lab: FailoverLab) -> None:
    lab.fault("primary", "greylist")
    _, log = lab.start_daemon(lab.config(), "--rounds", "5")
    wait_for_text(log, "stopping", timeout=60)
    text = log.read_text()
    # the probe sees the greylisting, and it is not the relay's fault: never a fault
    assert text.count("causes=greylisted@rcpt") == 5
    assert "relay=primary outcome=fault" not in text
    assert "->open" not in text
    assert lab.relayhost() == f"{PRIMARY}, {BACKUP}"


def test_ambiguous_end_of_data_counted_per_relay(tmp_path: Path) -> None:
    # a short end-of-data timeout here only to see the log line within the test;
    # the benchmark keeps Postfix's default 600 s.
    with failover_lab(tmp_path, main_cf={"smtp_data_done_timeout": "3s"}) as lab:
        _, log = lab.start_daemon(lab.config(failures_to_open=50))
        wait_for_text(log, "relay=primary outcome=success")
        lab.fault("primary", "eod")
        lab.submit("twice@dest.test")
        lab.postfix.wait_for_log(r"may be sent more than once", timeout=30)
        wait_for_text(log, "relay=primary 1 message(s) with an unanswered end of data", 20)
        doc = status(lab)
        relays = {r["name"]: r for r in doc["relays"]}  # type: ignore[attr-defined]
        assert (relays["primary"]["ambiguous_eod"], relays["backup"]["ambiguous_eod"]) == (1, 0)


def test_stall_after_the_final_dot_is_seen_in_the_queue_and_steered_around(
    lab: FailoverLab,
) -> None:
    # Postfix keeps its default 600 s end-of-data timeout: the probe (no message sent)
    # sees a healthy relay; the stall watch sees mail held with no delivery.
    _, log = lab.start_daemon(lab.config(stall=5))
    wait_for_text(log, "relay=primary outcome=success")
    lab.fault("primary", "eod")
    lab.submit("stuck@dest.test")
    line = wait_for_text(log, "breaker=closed->open", timeout=60)
    assert "relay=primary outcome=fault" in line
    assert "data_timeout@eod" in line
    assert "held in the active queue" in line
    wait_for_text(log, "switch: postfix relayhost", timeout=20)
    wanted = {f"later{i}@dest.test" for i in range(3)}
    for rcpt in sorted(wanted):
        lab.submit(rcpt)
    lab.wait_received("backup", wanted, timeout=30)
    # the stuck message was received by the primary and never acknowledged
    assert [r["rcpts"] for r in lab.records("primary") if not r["acked"]] == [["stuck@dest.test"]]


def test_dry_run_says_what_it_would_do_and_changes_nothing(lab: FailoverLab) -> None:
    main_cf = lab.postfix.config_dir / "main.cf"
    before = main_cf.read_bytes()
    lab.drop("primary")
    proc = subprocess.run(
        lab.ns(sys.executable, "-m", "smtpdoctor", "failover", "--config", str(lab.config()),
               "--dry-run"),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0] == "route now: [192.0.2.10]:25, [192.0.2.20]:25 (primary)"
    assert "fault    causes=connect_timeout@connect" in lines[1]
    assert lines[3] == "would switch: primary is open: moving to backup"
    assert (
        lines[4] == "  postconf -e 'relayhost = [192.0.2.20]:25, [192.0.2.10]:25'; postfix reload"
    )
    assert main_cf.read_bytes() == before
    assert not (lab.root / "state").exists()


def test_crash_between_rename_and_reload_is_healed_when_the_daemon_starts(
    lab: FailoverLab,
) -> None:
    # The state a crash right after the rename leaves: main.cf names the backup first,
    # the running Postfix has not reloaded it. (postconf -e writes main.cf the same way.)
    # One message first, so Postfix's long-running daemons hold the old relayhost.
    lab.submit("warm@dest.test")
    lab.wait_received("primary", {"warm@dest.test"})
    lab.drop("primary")
    lab.postfix.postconf(f"relayhost = {BACKUP}, {PRIMARY}")
    _, log = lab.start_daemon(lab.config(hold=60))
    wait_for_text(log, "starting:")
    mark = lab.postfix.log_path.stat().st_size
    lab.submit("healed@dest.test")
    lab.wait_received("backup", {"healed@dest.test"}, timeout=20)
    time.sleep(6)  # longer than the instance's 5 s smtp_connect_timeout
    after = lab.postfix.log_path.read_text(errors="replace")[mark:]
    assert "192.0.2.10" not in after  # never tried the dead primary: the reload took
    assert lab.relayhost() == f"{BACKUP}, {PRIMARY}"
    assert "failback" not in log.read_text()
