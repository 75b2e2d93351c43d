"""dnsmasq (from Debian) as an authoritative-only server for a test zone, and its stub friend."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.query

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Zone:
    """The records the lab's DNS server knows; every name outside them is NXDOMAIN."""

    domain: str = "lab.test"
    hosts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> A/AAAA
    mx: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # domain -> (pref, host)
    null_mx: list[str] = field(default_factory=list)
    txt_only: list[str] = field(default_factory=list)  # names that exist with no address

    def dnsmasq_args(self) -> list[str]:
        """dnsmasq options serving exactly these records."""
        args = [f"--local=/{self.domain}/"]
        for name, addrs in self.hosts.items():
            args.append(f"--host-record={name},{','.join(addrs)}")
        for domain, records in self.mx.items():
            args.extend(f"--mx-host={domain},{host},{pref}" for pref, host in records)
        args.extend(f"--dns-rr={name},15,000000" for name in self.null_mx)  # MX 0 .
        args.extend(f"--txt-record={name},exists" for name in self.txt_only)
        return args


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nobody uses right now on HOST (also free on TCP, for dnsmasq)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_udp_answers(host: str, port: int, timeout: float = 5.0) -> None:
    """Wait until a DNS server answers on HOST:PORT (a fresh process needs a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            dns.query.udp(
                dns.message.make_query("probe.invalid", "A"), host, port=port, timeout=0.2
            )
            return
        except Exception:
            time.sleep(0.02)
    raise RuntimeError(f"DNS server on {host}:{port} did not come up")


def netns_prefix(netns: str | None) -> list[str]:
    """The argv prefix that runs a command inside NETNS (nothing for the root namespace)."""
    return ["ip", "netns", "exec", netns] if netns else []


def start_dnsmasq(
    zone: Zone,
    listen: str,
    port: int = 53,
    netns: str | None = None,
    extra_listen: list[str] | None = None,
) -> subprocess.Popen[bytes]:
    """dnsmasq in the foreground on LISTEN:PORT, serving ZONE only; the caller stops it."""
    argv = [
        *netns_prefix(netns), "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
        "--conf-file=/dev/null", "--pid-file=", "--bind-interfaces", "--cache-size=0",
        f"--listen-address={listen}", f"--port={port}", "--user=root",
        *(f"--listen-address={a}" for a in extra_listen or []),
        *zone.dnsmasq_args(),
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc


def start_stub(
    listen: str,
    port: int,
    mode: str,
    *,
    delay: float = 1.5,
    upstream: str | None = None,
    netns: str | None = None,
) -> subprocess.Popen[bytes]:
    """tests.lab.dnsstub on LISTEN:PORT; the caller stops it."""
    argv = [*netns_prefix(netns), sys.executable, "-m", "tests.lab.dnsstub",
            "--listen", f"{listen}:{port}", "--mode", mode, "--delay", str(delay)]  # fmt: skip
    if upstream:
        argv += ["--upstream", upstream]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "ready" once bound
    if b"ready" not in line:
        stop(proc)
        raise RuntimeError(f"dnsstub failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process we started and reap it (SIGKILL after a grace period)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=3)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
