"""The lab itself: it builds fast, routes both families, and leaves nothing behind."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import pytest

from tests.lab.topology import Lab, new_tag

pytestmark = pytest.mark.netns


def netns_list() -> str:
    return subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=False
    ).stdout


def test_builds_quickly_and_tears_down_completely() -> None:
    lab = Lab(new_tag(), n_routers=2, n_servers=2)
    start = time.monotonic()
    try:
        lab.build()
        took = time.monotonic() - start
        assert lab.client.ns in netns_list()
        lab.start_smtp(lab.servers[0])
    finally:
        lab.close()
    assert lab.tag not in netns_list()
    assert not lab.netns_dir.exists()
    assert took < 10  # the figure is printed by bench/lab_bench.py; this only catches a hang


def test_client_reaches_server_both_families_and_resolves(lab: Lab) -> None:
    lab.start_smtp(lab.servers[0])
    script = (
        "import socket,sys\n"
        "for fam,addr in ((socket.AF_INET,sys.argv[1]),(socket.AF_INET6,sys.argv[2])):\n"
        "    s=socket.create_connection((addr,25),timeout=3)\n"
        "    print(s.recv(100).decode()[:3]); s.close()\n"
        "print(socket.getaddrinfo('s1.lab.test',25,type=socket.SOCK_STREAM)[0][4][0])\n"
    )
    done = lab.run_client(["python3", "-c", script, lab.servers[0].v4, lab.servers[0].v6])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert lines[:2] == ["220", "220"]
    assert lines[2] in (lab.servers[0].v4, lab.servers[0].v6)  # libc used the lab's resolv.conf


def test_drop_fault_times_out(lab: Lab) -> None:
    lab.start_smtp(lab.servers[0])
    lab.drop(dport=25)
    script = (
        "import socket,sys\n"
        "try:\n socket.create_connection((sys.argv[1],25),timeout=1); print('connected')\n"
        "except TimeoutError: print('timeout')\n"
    )
    done = lab.run_client(["python3", "-c", script, lab.servers[0].v4])
    assert done.stdout.strip() == "timeout"


def test_two_labs_side_by_side(make_lab: Callable[..., Lab]) -> None:
    a, b = make_lab(), make_lab()
    assert a.client.ns != b.client.ns
    assert a.netns_dir.exists() and b.netns_dir.exists()
