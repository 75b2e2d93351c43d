"""A small fault lab of our own for the log tests: one network namespace holding
misbehaving SMTP servers, a dropped and a refused address (nftables), and dnsmasq
as the only resolver (every name under .test is NXDOMAIN). Everything is removed
on exit, pass or fail."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab.dnsmasq import Zone, start_dnsmasq, stop, wait_udp_answers
from tests.support.netns import loopback_namespace, output_ruleset

REPO = Path(__file__).resolve().parents[2]
DROPPED = "198.51.100.25"  # SYN silently dropped (connect_timeout)
REFUSED = "198.51.100.26"  # answered with a TCP reset (connect_refused)
BACKUP_MX = "198.51.100.27"  # a working server on port 25 (second MX of multi.test)


@dataclass
class LogsLab:
    """The namespace and the servers running in it."""

    netns: str
    servers: dict[str, int] = field(default_factory=dict)  # name -> port on 127.0.0.1
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def exec_prefix(self) -> list[str]:
        """argv prefix that runs a command in the namespace."""
        return ["ip", "netns", "exec", self.netns]

    def badsmtp(self, name: str, mode: str, *extra: str, listen: str = "127.0.0.1:0") -> int:
        """Start tests.support.badsmtp in the namespace; returns its port."""
        argv = [
            *self.exec_prefix(), sys.executable, "-m", "tests.support.badsmtp",
            "--listen", listen, "--mode", mode, *extra,
        ]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(REPO))
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"badsmtp {mode} did not start: {err}")
        self.servers[name] = int(line)
        return int(line)


# domain -> (cause, phase) that `smtpdoctor logs` must report for mail sent into each
# fault of the lab, whichever MTA sent it.
EXPECTED_FAULTS: dict[str, tuple[str, str]] = {
    "dropped.test": ("connect_timeout", "connect"),
    "refused.test": ("connect_refused", "connect"),
    "nogreet.test": ("greeting_timeout", "greeting"),
    "stallmail.test": ("command_timeout", "mail"),
    "stalleod.test": ("data_timeout", "eod"),
    "greylist.test": ("greylisted", "rcpt"),
    "tlsstall.test": ("tls_handshake_timeout", "starttls"),
    "dropconn.test": ("connection_dropped", "rcpt"),
    "nxdomain.test": ("dns_nxdomain", "resolve"),
    "busy.test": ("server_busy", "greeting"),
    "reject.test": ("recipient_unknown", "rcpt"),  # "550 5.1.1 ... User unknown"
}


RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"


@contextlib.contextmanager
def logs_lab() -> Iterator[LogsLab]:
    """Build the namespace; tear everything down on exit."""
    ruleset = output_ruleset(
        "smtpdoctor_logs",
        f"ip daddr {DROPPED} tcp dport 25 drop",
        f"ip daddr {REFUSED} tcp dport 25 reject with tcp reset",
    )
    addresses = (DROPPED, REFUSED, BACKUP_MX)
    with loopback_namespace("sdlogs", addresses, ruleset, RESOLV_CONF) as name:
        lab = LogsLab(name)
        try:
            # multi.test: the first MX is dropped, the second works (Postfix logs the
            # failed address on its own line, then delivers).
            zone = Zone(
                domain="test",
                hosts={"mx1.multi.test": (DROPPED,), "mx2.multi.test": (BACKUP_MX,)},
                mx={"multi.test": [(10, "mx1.multi.test"), (20, "mx2.multi.test")]},
            )
            lab.procs.append(start_dnsmasq(zone, "127.0.0.1", 53, netns=name))
            wait_in_netns(name)
            yield lab
        finally:
            for proc in lab.procs:
                stop(proc)


def start_fault_servers(lab: LogsLab, busy_listen: str = "127.0.0.1:0") -> dict[str, int]:
    """The misbehaving servers behind the lab's faults, by name: name -> port."""
    return {
        "nogreet": lab.badsmtp("nogreet", "no-greeting"),
        "stallmail": lab.badsmtp("stallmail", "stall-after", "--after", "MAIL"),
        "stalleod": lab.badsmtp("stalleod", "stall-after", "--after", "EOD"),
        "greylist": lab.badsmtp("greylist", "greylist"),
        "tlsstall": lab.badsmtp("tlsstall", "starttls-stall"),
        "dropconn": lab.badsmtp("dropconn", "drop-after", "--after", "RCPT"),
        "ok": lab.badsmtp("ok", "normal"),
        "busy": lab.badsmtp("busy", "busy-421", listen=busy_listen),
        "reject": lab.badsmtp("reject", "reject-rcpt"),
    }


def wait_in_netns(name: str) -> None:
    """Wait for dnsmasq to answer inside the namespace."""
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from tests.lab.dnsmasq import wait_udp_answers\n"
        "wait_udp_answers('127.0.0.1', 53)\n"
    )
    subprocess.run(
        ["ip", "netns", "exec", name, sys.executable, "-c", code],
        check=True,
        capture_output=True,
        timeout=15,
    )


__all__ = [
    "BACKUP_MX",
    "DROPPED",
    "REFUSED",
    "LogsLab",
    "logs_lab",
    "start_fault_servers",
    "wait_udp_answers",
]
