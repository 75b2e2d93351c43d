"""Real Exim (Debian's binary, unpacked), real faults: `smtpdoctor logs` on its main log
names every fault with the right cause, phase and destination."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.logs.lab import DROPPED, EXPECTED_FAULTS, REFUSED, logs_lab, start_fault_servers
from tests.support.exim import exim_instance

pytestmark = [pytest.mark.netns, pytest.mark.exim, pytest.mark.slow]

EXPECTED: dict[str, tuple[str, str]] = {**EXPECTED_FAULTS}


@pytest.fixture(scope="module")
def exim_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Send one message into every fault through Exim; yield a copy of its main log."""
    base = tmp_path_factory.mktemp("eximlogs")
    with logs_lab() as lab:
        # Busy gets its own address: Exim hands a queued message to an open connection
        # to the same IP (even another port), which would blur this fault.
        ports = start_fault_servers(lab, busy_listen="127.0.0.3:0")
        routes = {"dropped.test": f"{DROPPED}::25", "refused.test": f"{REFUSED}::25"}
        routes |= {f"{name}.test": f"127.0.0.1::{port}" for name, port in ports.items()}
        routes["busy.test"] = f"127.0.0.3::{ports['busy']}"
        routes["example.org"] = f"127.0.0.1::{ports['ok']}"  # bounces to the sender
        transport = {
            "connect_timeout": "2s",
            "command_timeout": "2s",
            "data_timeout": "2s",
            "final_timeout": "2s",
            # TCP Fast Open (on by default) turns a dropped SYN into "SMTP timeout
            # after initial connection": docs/logs.md, Exim.
            "hosts_try_fastopen": ":",
            "tls_verify_hosts": "",
            "tls_try_verify_hosts": "",
            "tls_tempfail_tryclear": "false",
        }
        with exim_instance(routes, transport, netns=lab.netns) as ex:
            for domain in [*EXPECTED, "ok.test"]:
                ex.send("sender@example.org", [f"user@{domain}"], subject=domain)
            ex.wait_for_log("=> user@ok.test")
            copy = base / "mainlog"
            shutil.copyfile(ex.main_log, copy)
        yield copy


def _logs_json(path: Path) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", str(path), "--json"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout)


def test_every_exim_fault_is_named(exim_log: Path) -> None:
    rc, doc = _logs_json(exim_log)
    assert rc == 1
    found = {(g["destination"], g["cause"], g["phase"]) for g in doc["groups"]}
    expected = {(d, c, p) for d, (c, p) in EXPECTED.items()}
    assert found == expected, exim_log.read_text()
    assert doc["mtas"] == ["exim"]


def test_exim_totals_and_join(exim_log: Path) -> None:
    _, doc = _logs_json(exim_log)
    # Delivered: ok.test, the bounce notices for nxdomain.test and reject.test, and
    # two that Exim passed at once to an open connection to 127.0.0.1 (the TLS stall
    # and the dropped connection), a real Exim behaviour.
    assert doc["totals"]["deliveries"] == 5
    assert doc["totals"]["unparsed"] == 0
    m = doc["messages"]
    assert m["tracked"] == len(EXPECTED) + 3
    assert m["delivered_first_try"] == 3
    assert m["delivered_after_retry"] == 2
    assert m["bounced"] == 2  # nxdomain.test (unrouteable), reject.test (550)
    assert m["pending"] == len(EXPECTED) - 4
    by_dest = {g["destination"]: g for g in doc["groups"]}
    assert by_dest["dropped.test"]["relay"].startswith(f"{DROPPED}[{DROPPED}]")
