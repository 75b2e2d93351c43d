"""End to end with the real thing: Prometheus and Alertmanager from Debian scrape a real
monitor; a relay's port is dropped with nftables; the right alert fires with the right
cause label, reaches Alertmanager's webhook, and resolves when the fault is removed.

Everything runs in one network namespace of the test's own (its loopback holds the relay's
documentation address 192.0.2.25), so the fixed ports below cannot collide with anything.
Two faults: the relay's ports dropped (connect_timeout in connect) and a TLS handshake
that stalls after STARTTLS (tls_handshake_timeout in starttls). The shipped rules are
used as `monitor rules` prints them, with one change: the SMTPTargetDown `for:` of 2
minutes becomes 2 seconds, to keep the test short.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.dnsmasq import REPO
from tests.monitor.conftest import smtpdoctor
from tests.support.netns import loopback_namespace, run

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager")
RELAY = "192.0.2.25"
PORTS = {"prometheus": 9090, "alertmanager": 9093, "monitor": 9925, "webhook": 5001}

pytestmark = [
    pytest.mark.netns,
    pytest.mark.slow,
    pytest.mark.skipif(PROMETHEUS is None, reason="prometheus (Debian package) absent"),
    pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager (Debian) absent"),
]

RECEIVER = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
out = open(sys.argv[2], "a", encoding="utf-8")
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        out.write(json.dumps(json.loads(body)) + "\\n")
        out.flush()
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""

GET = (
    "import sys, urllib.request;"
    "print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
)


class Namespace:
    """Processes in the test's namespace, all stopped at the end."""

    def __init__(self, ns: str, tmp: Path):
        self.ns = ns
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, *argv], stdout=log, stderr=subprocess.STDOUT, cwd=REPO
        )
        self.procs.append(proc)
        return proc

    def get(self, port: int, path: str) -> Any:
        done = subprocess.run(
            ["ip", "netns", "exec", self.ns, sys.executable, "-c", GET, f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, timeout=15, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            return None
        return (
            json.loads(done.stdout) if done.stdout.lstrip().startswith(("{", "[")) else done.stdout
        )

    def nft(self, ruleset: str) -> None:
        run("ip", "netns", "exec", self.ns, "nft", "-f", "-", stdin=ruleset)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def space(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace("sdmon", [RELAY]) as ns:
        space = Namespace(ns, tmp_path)
        try:
            yield space
        finally:
            space.stop()


def wait_for(what: str, check: Callable[[], Any], timeout: float, space: Namespace) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in space.tmp.glob("*.log"))
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def firing(space: Namespace) -> list[dict[str, Any]]:
    doc = space.get(PORTS["prometheus"], "/api/v1/alerts")
    if not doc:
        return []
    return [
        a
        for a in doc["data"]["alerts"]
        if a["labels"]["alertname"] == "SMTPTargetDown" and a["state"] == "firing"
    ]


def hooks(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


class Relay:
    """badsmtp on RELAY:25 offering STARTTLS (its CA written for the monitor), and one on
    RELAY:2525 that stalls the TLS handshake after `220 Ready to start TLS`: the TLS fault
    redirects new connections to port 25 there (nftables DNAT), so the switch is instant
    and leaves no window where the port is closed."""

    def __init__(self, space: Namespace):
        self.space = space
        self.ca = space.tmp / "relay-ca.pem"
        for name, port, mode in (("relay", 25, "normal"), ("stall", 2525, "starttls-stall")):
            ca = self.ca if port == 25 else space.tmp / "stall-ca.pem"
            self.space.start(name, sys.executable, "-m", "tests.support.badsmtp",
                             "--listen", f"{RELAY}:{port}", "--mode", mode,
                             "--ca-out", str(ca))  # fmt: skip
            log = space.tmp / f"{name}.log"
            wait_for(
                f"the {mode} relay", lambda log=log: log.read_text().strip().isdigit(), 20, space
            )


STALL = (
    "table ip fault {\n chain out {\n  type nat hook output priority -100;\n"
    f"  ip daddr {RELAY} tcp dport 25 dnat to {RELAY}:2525\n }}\n}}\n"
)
DROP = (
    "table inet fault {\n chain out {\n  type filter hook output priority 0;\n"
    f"  ip daddr {RELAY} tcp dport {{ 25, 465, 587 }} drop\n }}\n}}\n"
)


@pytest.mark.parametrize(
    ("fault", "cause", "phase"),
    [("drop", "connect_timeout", "connect"), ("tls-stall", "tls_handshake_timeout", "starttls")],
)
def test_a_fault_fires_target_down_with_its_cause_reaches_alertmanager_and_resolves(
    space: Namespace, fault: str, cause: str, phase: str
) -> None:
    tmp = space.tmp
    rules = smtpdoctor("monitor", "rules").stdout
    marker = "      - alert: SMTPTargetDown\n"
    head, _, rest = rules.partition(marker)
    assert "for: 2m" in rest.split("- alert:")[0]
    (tmp / "rules.yml").write_text(head + marker + rest.replace("for: 2m", "for: 2s", 1))
    (tmp / "alertmanager.yml").write_text(
        "route:\n  receiver: test\n  group_by: [alertname, target, cause]\n"
        "  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        f"receivers:\n  - name: test\n    webhook_configs:\n"
        f"      - url: http://127.0.0.1:{PORTS['webhook']}/\n        send_resolved: true\n"
    )
    (tmp / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  scrape_timeout: 1s\n"
        "rule_files: [rules.yml]\n"
        "alerting:\n  alertmanagers:\n"
        f"    - static_configs: [{{targets: ['127.0.0.1:{PORTS['alertmanager']}']}}]\n"
        "scrape_configs:\n  - job_name: smtpdoctor\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{PORTS['monitor']}']}}]\n"
    )
    relay = Relay(space)
    # every 2 s, each probe within 1.6 s: the phase limits leave room for check's
    # follow-up probes (the MSS-clamped retry after a TLS stall)
    (tmp / "monitor.toml").write_text(
        f'interval = "2s"\nmail_log = "off"\nqueue = false\n'
        f'[[targets]]\ntarget = "{RELAY}:25"\nname = "relay"\n'
        f'[modules.default]\nstarttls = "require"\ncafile = "{relay.ca}"\n'
        "timeouts = { connect = 0.5, starttls = 0.5 }\n"
    )
    hook_log = tmp / "hooks.jsonl"
    py = sys.executable
    space.start("webhook", py, "-c", RECEIVER, str(PORTS["webhook"]), str(hook_log))
    assert ALERTMANAGER is not None and PROMETHEUS is not None
    space.start(
        "alertmanager", ALERTMANAGER, f"--config.file={tmp / 'alertmanager.yml'}",
        f"--storage.path={tmp / 'am'}", f"--web.listen-address=127.0.0.1:{PORTS['alertmanager']}",
        "--cluster.listen-address=",
    )  # fmt: skip
    space.start(
        "monitor", py, "-m", "smtpdoctor", "monitor", "--config", str(tmp / "monitor.toml"),
        "--listen", f"127.0.0.1:{PORTS['monitor']}", "--history", str(tmp / "history.sqlite3"),
    )  # fmt: skip
    space.start(
        "prometheus", PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{PORTS['prometheus']}", "--rules.alert.resend-delay=1s",
    )  # fmt: skip

    def relay_up() -> bool:
        doc = space.get(PORTS["prometheus"], "/api/v1/query?query=smtpdoctor_target_up")
        return bool(doc and [r for r in doc["data"]["result"] if r["value"][1] == "1"])

    wait_for("Prometheus to see the relay up", relay_up, 30, space)
    assert firing(space) == []

    space.nft(DROP if fault == "drop" else STALL)
    faulted_at = time.monotonic()
    (alert,) = wait_for("SMTPTargetDown to fire", lambda: firing(space), 30, space)
    fired_after = time.monotonic() - faulted_at
    assert alert["labels"]["cause"] == cause
    assert alert["labels"]["phase"] == phase
    assert alert["labels"]["target"] == "relay"
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"] == f"SMTP target relay is down: {cause} in {phase}"

    def notified(status: str) -> list[dict[str, Any]]:
        return [
            a for doc in hooks(hook_log) for a in doc["alerts"]
            if a["labels"]["alertname"] == "SMTPTargetDown" and a["status"] == status
        ]  # fmt: skip

    (sent,) = wait_for("Alertmanager's webhook", lambda: notified("firing"), 20, space)[:1]
    assert sent["labels"]["cause"] == cause

    family = "inet" if fault == "drop" else "ip"
    run("ip", "netns", "exec", space.ns, "nft", "delete", "table", family, "fault")
    wait_for("the alert to resolve", lambda: not firing(space), 30, space)
    (resolved,) = wait_for("the resolved notification", lambda: notified("resolved"), 20, space)[:1]
    assert resolved["labels"]["cause"] == cause
    print(f"{fault}: fault to firing alert {fired_after:.1f} s")
