"""Real Postfix, real faults: every fault made here must come out of `smtpdoctor logs`
with the right cause, phase and destination, and nothing else may.

One Postfix instance runs in a namespace of our own (tests/logs/lab.py) with short
timeouts; a transport map sends each test domain to its own fault.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.logs.lab import (
    BACKUP_MX,
    DROPPED,
    EXPECTED_FAULTS,
    REFUSED,
    logs_lab,
    start_fault_servers,
)
from tests.support.postfix import postfix_instance

pytestmark = [pytest.mark.netns, pytest.mark.postfix, pytest.mark.slow]

# domain -> (cause, phase) that `smtpdoctor logs` must report for it
EXPECTED: dict[str, tuple[str, str]] = {
    **EXPECTED_FAULTS,
    "multi.test": ("connect_timeout", "connect"),  # first MX dropped, second delivers
}
# Our own smtpd waited for a client that stalled after EHLO.
INBOUND = ("command_timeout", "ehlo")
TIMEOUTS = {
    f"smtp_{name}_timeout": "2s"
    for name in (
        "connect", "helo", "mail", "rcpt", "data_init", "data_xfer", "data_done",
        "starttls", "quit", "rset", "xforward",
    )
}  # fmt: skip


@pytest.fixture(scope="module")
def postfix_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Send one message into every fault; yield a copy of the instance's log."""
    base = tmp_path_factory.mktemp("pflogs")
    with logs_lab() as lab:
        ports = start_fault_servers(lab)
        lab.badsmtp("backup", "normal", listen=f"{BACKUP_MX}:25")
        transport = base / "transport"
        lines = [
            f"dropped.test smtp:[{DROPPED}]:25",
            f"refused.test smtp:[{REFUSED}]:25",
            "nxdomain.test smtp:[mx.nxdomain.test]:25",
            "multi.test smtp:multi.test",
        ]
        lines += [f"{name}.test smtp:[127.0.0.1]:{port}" for name, port in ports.items()]
        lines.append(f"example.org smtp:[127.0.0.1]:{ports['ok']}")  # bounces to the sender
        transport.write_text("\n".join(lines) + "\n")
        policy = base / "tls_policy"
        policy.write_text(f"[127.0.0.1]:{ports['tlsstall']} may\n")
        base.chmod(0o755)
        main_cf = {
            **TIMEOUTS,
            "transport_maps": f"texthash:{transport}",
            "smtp_tls_policy_maps": f"texthash:{policy}",
            "smtp_dns_support_level": "enabled",
            "smtp_host_lookup": "dns",
            "relayhost": "",
            "minimal_backoff_time": "300s",
            "queue_run_delay": "300s",
            "smtpd_timeout": "2s",
        }
        with postfix_instance(base, main_cf, netns=lab.netns) as pf:
            domains = [*EXPECTED, "ok.test"]
            for domain in domains:
                pf.sendmail("sender@example.org", [f"user@{domain}"], subject=domain)
            for domain in domains:
                pf.wait_for_log(rf"to=<user@{domain}>.* status=", timeout=40)
            _stalling_client(lab.netns, pf.smtp_port)
            pf.wait_for_log(r"timeout after EHLO from", timeout=20)
            time.sleep(0.5)  # let qmgr write its last lines
            copy = base / "maillog.copy"
            shutil.copyfile(pf.log_path, copy)
            if os.environ.get("SMTPDOCTOR_KEEP_LOG"):  # for docs: keep a real example
                shutil.copyfile(pf.log_path, os.environ["SMTPDOCTOR_KEEP_LOG"])
        yield copy


def _stalling_client(netns: str, port: int) -> None:
    """A client in the namespace that says EHLO and then nothing (real smtpd timeout)."""
    code = (
        "import socket, time\n"
        f"s = socket.create_connection(('127.0.0.1', {port}), timeout=10)\n"
        "s.recv(1000); s.sendall(b'EHLO stall.example\\r\\n'); time.sleep(0.3)\n"
        "s.recv(1000); time.sleep(3); s.close()\n"
    )
    subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", code],
        check=True,
        capture_output=True,
        timeout=30,
    )


def _logs_json(*args: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", *args, "--json"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout)


def test_every_fault_is_named_with_phase_and_destination(postfix_log: Path) -> None:
    rc, doc = _logs_json(str(postfix_log))
    assert rc == 1
    found = {
        (g["destination"], g["cause"], g["phase"])
        for g in doc["groups"]
        if g["direction"] == "outbound"
    }
    expected = {(d, c, p) for d, (c, p) in EXPECTED.items()}
    assert found == expected, postfix_log.read_text()
    inbound = [g for g in doc["groups"] if g["direction"] == "inbound"]
    assert [(g["cause"], g["phase"]) for g in inbound] == [INBOUND]
    assert inbound[0]["destination"] in ("localhost", "127.0.0.1")
    assert inbound[0]["check"] is None
    multi = next(g for g in doc["groups"] if g["destination"] == "multi.test")
    assert multi["relay"] == f"mx1.multi.test[{DROPPED}]:25"


def test_relays_and_check_commands(postfix_log: Path) -> None:
    _, doc = _logs_json(str(postfix_log))
    by_dest = {g["destination"]: g for g in doc["groups"]}
    assert by_dest["dropped.test"]["relay"] == f"{DROPPED}[{DROPPED}]:25"
    assert by_dest["dropped.test"]["check"] == f"smtpdoctor check {DROPPED}:25"
    assert by_dest["nxdomain.test"]["check"] == "smtpdoctor check @nxdomain.test"
    for g in doc["groups"]:
        assert g["first_seen"] is not None and g["count"] >= 1
        assert g["sample"] in postfix_log.read_text()


def test_totals_and_messages(postfix_log: Path) -> None:
    _, doc = _logs_json(str(postfix_log))
    t = doc["totals"]
    # Delivered: ok.test, multi.test (second MX) and the two bounce notices
    # (nxdomain.test, reject.test) sent back to sender@example.org.
    assert t["deliveries"] == 4
    assert t["deferred"] + t["bounced"] >= len(EXPECTED) - 1  # multi.test was delivered
    m = doc["messages"]
    assert m["tracked"] == len(EXPECTED) + 3
    assert m["delivered_first_try"] == 4
    assert m["bounced"] == 2  # nxdomain.test, reject.test
    assert m["pending"] == len(EXPECTED) - 3
    assert t["server_timeouts"] == 1
    fixes = {c["cause"]: c for c in doc["causes"]}
    assert fixes["connect_timeout"]["fixes"]
    assert f"smtpdoctor check {DROPPED}:25" in fixes["connect_timeout"]["check_commands"]


def test_terminal_report_names_the_faults(postfix_log: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", str(postfix_log)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    out = proc.stdout
    assert out.splitlines()[1].startswith("PROBLEMS:")
    for domain in EXPECTED:
        assert domain in out
    assert "confirm live: smtpdoctor check" in out
