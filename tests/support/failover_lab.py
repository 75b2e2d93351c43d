"""The failover lab: one namespace holding a Postfix instance, recording relays and faults.

The relays listen on documentation addresses on the namespace's loopback; Postfix (and
`smtpdoctor failover`, when started) run inside the namespace; faults are nftables rules
in the namespace's output chain (`drop(address)`) or a relay's fault file (`fault(name,
"tls" | "eod" | "greylist")`). Everything is removed on exit, pass or fail.

Shared by tests/failover and bench/failover_bench.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.support.netns import loopback_namespace, output_ruleset, run
from tests.support.postfix import PostfixInstance, postfix_instance
from tests.support.relay_recorder import read_records

REPO = Path(__file__).resolve().parents[2]
TABLE = "fo"


@dataclass
class RelayProc:
    """One recording relay process."""

    name: str
    address: str
    record: Path
    fault_file: Path
    proc: subprocess.Popen[bytes]

    @property
    def route(self) -> str:
        return f"[{self.address}]:25"


@dataclass
class FailoverLab:
    """What a test drives."""

    netns: str
    root: Path
    postfix: PostfixInstance  # a stand-in without a running Postfix when with_postfix=False
    relays: dict[str, RelayProc]
    daemons: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = field(default_factory=list)

    def ns(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv]

    def drop(self, name: str) -> None:
        """Silently drop every packet to the relay (as a dead host or firewall would)."""
        address = self.relays[name].address
        run(*self.ns("nft", "add", "rule", "inet", TABLE, "out", "ip", "daddr", address, "drop"))

    def undrop(self) -> None:
        """Remove every drop rule."""
        run(*self.ns("nft", "flush", "chain", "inet", TABLE, "out"))

    def fault(self, name: str, kind: str) -> None:
        """Switch a relay's misbehaviour ("" for none)."""
        self.relays[name].fault_file.write_text(kind)

    def records(self, name: str) -> list[dict[str, Any]]:
        return [dict(r) for r in read_records(self.relays[name].record)]

    def received(self, name: str) -> set[str]:
        """Recipients of messages the relay acknowledged."""
        return {rc for r in self.records(name) if r["acked"] for rc in r["rcpts"]}

    def submit(self, recipient: str) -> None:
        """Submit one message through Postfix's sendmail."""
        self.postfix.sendmail("sender@lab.test", [recipient], subject=recipient)

    def wait_received(self, name: str, recipients: set[str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not recipients <= self.received(name):
            if time.monotonic() > deadline:
                missing = recipients - self.received(name)
                raise AssertionError(f"{name} did not receive {sorted(missing)} in {timeout}s")
            time.sleep(0.2)

    def relayhost(self) -> str:
        out = subprocess.run(
            ["postconf", "-c", str(self.postfix.config_dir), "-h", "relayhost"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return out.stdout.strip()

    def write_config(self, text: str) -> Path:
        path = self.root / "failover.toml"
        path.write_text(text)
        return path

    def config(self, **breaker: float) -> Path:
        """A failover.toml for the lab's relays (quick thresholds unless told)."""
        knobs = {
            "failures_to_open": 2,
            "successes_to_close": 2,
            "backoff": 2,
            "backoff_max": 4,
            "jitter": 0.1,
            "hold": 4,
            **breaker,
        }
        lines = [
            'mta = "postfix"',
            "interval = 1",
            f'state_dir = "{self.root / "state"}"',
            "[breaker]",
            *(f"{k} = {v}" for k, v in knobs.items()),
            "[postfix]",
            f'config_dir = "{self.postfix.config_dir}"',
            f'log = "{self.postfix.log_path}"',
            "[modules.relay]",
            'recipient = "probe@dest.test"',
            'sender = "probe@lab.test"',
            "timeouts = { connect = 2, greeting = 3, ehlo = 3, starttls = 3, mail = 3,"
            " rcpt = 3, quit = 2 }",
            "budget = 8",
        ]
        for relay in self.relays.values():
            lines += [
                "[[relays]]",
                f'name = "{relay.name}"',
                f'target = "{relay.route}"',
                'module = "relay"',
            ]
        return self.write_config("\n".join(lines) + "\n")

    def start_daemon(self, config: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
        """`smtpdoctor failover --config` inside the namespace; its stderr goes to a file."""
        log = self.root / f"daemon-{len(self.daemons)}.log"
        handle = open(log, "wb")  # noqa: SIM115 (closed at lab teardown)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen(
            self.ns(
                sys.executable, "-m", "smtpdoctor", "failover", "--config", str(config), *extra
            ),
            stdout=subprocess.DEVNULL,
            stderr=handle,
            env=env,
        )
        self.daemons.append((proc, handle))
        return proc, log


def wait_for_text(path: Path, needle: str, timeout: float = 60.0, after: int = 0) -> str:
    """Wait until `needle` appears in the file (after byte offset `after`); the line."""
    deadline = time.monotonic() + timeout
    while True:
        if path.exists():
            text = path.read_text(errors="replace")[after:]
            for line in text.splitlines():
                if needle in line:
                    return line
        if time.monotonic() > deadline:
            tail = path.read_text(errors="replace")[-2000:] if path.exists() else ""
            raise AssertionError(f"{needle!r} not in {path} within {timeout}s; tail:\n{tail}")
        time.sleep(0.1)


def _start_relay(
    netns: str, root: Path, name: str, address: str, tls_dir: Path | None
) -> RelayProc:
    record = root / f"{name}.jsonl"
    fault = root / f"{name}.fault"
    fault.write_text("")
    argv = [
        "ip", "netns", "exec", netns, sys.executable, "-m", "tests.support.relay_recorder",
        "--listen", f"{address}:25", "--name", name, "--record", str(record),
        "--fault-file", str(fault),
    ]  # fmt: skip
    if tls_dir is not None:
        argv += ["--tls-dir", str(tls_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != b"ready":
        proc.kill()
        raise RuntimeError(f"relay {name} did not start")
    return RelayProc(name, address, record, fault, proc)


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextlib.contextmanager
def failover_lab(
    base: Path,
    relays: dict[str, str] | None = None,
    main_cf: dict[str, str] | None = None,
    tls: bool = False,
    with_postfix: bool = True,
) -> Iterator[FailoverLab]:
    """A namespace with recording relays (name -> address) and a Postfix sending to them
    with `relayhost` listing them in order (Postfix's own passive failover)."""
    relays = relays or {"primary": "192.0.2.10", "backup": "192.0.2.20"}
    ruleset = output_ruleset(TABLE)
    with contextlib.ExitStack() as stack:
        netns = stack.enter_context(
            loopback_namespace("sdfo", addresses=relays.values(), ruleset=ruleset)
        )
        root = base / netns
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o755)
        tls_dir = root / "tls" if tls else None
        if tls_dir is not None:
            tls_dir.mkdir()
        procs: dict[str, RelayProc] = {}
        for name, address in relays.items():
            relay = _start_relay(netns, root, name, address, tls_dir)
            stack.callback(_stop, relay.proc)
            procs[name] = relay
        settings = {
            "relayhost": ", ".join(p.route for p in procs.values()),
            "smtp_tls_security_level": "may" if tls else "none",
        }
        settings.update(main_cf or {})
        if with_postfix:
            postfix = stack.enter_context(postfix_instance(root, settings, netns=netns))
        else:
            postfix = PostfixInstance(root / "no-postfix", "none", netns)
        lab = FailoverLab(netns, root, postfix, procs)

        def stop_daemons() -> None:
            for proc, handle in lab.daemons:
                _stop(proc)
                handle.close()

        stack.callback(stop_daemons)
        yield lab
