"""A real dnsmasq on a loopback address, serving a test zone, plus misbehaving stubs."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator

import pytest

from smtpdoctor.probe.dns import Nameserver, ResolverConfig
from tests.lab.dnsmasq import Zone, free_udp_port, start_dnsmasq, start_stub, stop, wait_udp_answers

ZONE = Zone(
    domain="lab.test",
    hosts={
        "mx1.lab.test": ("192.0.2.10", "2001:db8::10"),
        "mx2.lab.test": ("192.0.2.20",),
        "v4only.lab.test": ("192.0.2.11",),
        "v6only.lab.test": ("2001:db8::11",),
        "implicit.lab.test": ("192.0.2.12", "2001:db8::12"),
    },
    mx={
        "lab.test": [(20, "mx2.lab.test"), (10, "mx1.lab.test"), (30, "gone.lab.test")],
        "noaddr-mx.lab.test": [(10, "noaddr.lab.test")],
    },
    null_mx=["nullmx.lab.test"],
    txt_only=["noaddr.lab.test"],
)

_addresses = itertools.count(60)


def _loopback() -> str:
    # a distinct 127.0.0.x per server (pid-salted) so parallel runs do not collide
    return f"127.0.{os.getpid() % 200 + 20}.{next(_addresses)}"


@pytest.fixture(scope="session")
def dnsmasq_server() -> Iterator[Nameserver]:
    """dnsmasq serving ZONE on a loopback address and a free port."""
    if shutil.which("dnsmasq") is None:
        pytest.skip("dnsmasq (Debian package dnsmasq-base) is not installed")
    host = _loopback()
    port = free_udp_port(host)
    proc = start_dnsmasq(ZONE, host, port)
    try:
        wait_udp_answers(host, port)
        yield Nameserver(host, port)
    finally:
        stop(proc)


@pytest.fixture
def zone_config(dnsmasq_server: Nameserver) -> ResolverConfig:
    """A resolver configuration pointing at the test zone's dnsmasq only."""
    return ResolverConfig((dnsmasq_server,), timeout_s=1.0, attempts=1, hosts_file=None)


@pytest.fixture
def stub_server(dnsmasq_server: Nameserver) -> Iterator[Callable[..., Nameserver]]:
    """Start misbehaving DNS servers (servfail, refused, drop, slow) for one test."""
    procs = []

    def start(mode: str, delay: float = 0.0) -> Nameserver:
        host = _loopback()
        port = free_udp_port(host)
        upstream = f"{dnsmasq_server.address}:{dnsmasq_server.port}"
        procs.append(start_stub(host, port, mode, delay=delay, upstream=upstream))
        return Nameserver(host, port)

    try:
        yield start
    finally:
        for proc in procs:
            stop(proc)


@pytest.fixture
def silent_server() -> Nameserver:
    """A loopback address and port where nothing answers (and nothing listens)."""
    host = _loopback()
    return Nameserver(host, free_udp_port(host))
