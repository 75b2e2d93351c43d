"""Connecting: refused ports, many ports at once, silently dropped SYNs."""

from __future__ import annotations

import socket

import pytest

from tests.check.helpers import check, run_smtpdoctor


def _closed_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def test_connect_refused(closed_port: int) -> None:
    run = check(f"127.0.0.1:{closed_port}")
    assert run.returncode == 1
    assert run.doc["verdict"] == "failed"
    cause = run.cause("connect_refused")
    assert cause["severity"] == "error"
    assert cause["phase"] == "connect"
    assert cause["port"] == closed_port
    assert cause["address"] == "127.0.0.1"
    assert cause["fix"], cause
    assert run.endpoint["failed_phase"] == "connect"
    assert run.phase("connect")["status"] == "refused"


def test_several_closed_ports_fail_fast_and_clearly() -> None:
    ports = _closed_ports(3)
    options = [arg for port in ports for arg in ("-p", str(port))]
    run = check("127.0.0.1", *options)
    assert run.doc["ports"] == ports
    assert run.doc["verdict"] == "failed"
    assert sorted(ep["port"] for ep in run.doc["endpoints"]) == sorted(ports)
    assert all(ep["failed_phase"] == "connect" for ep in run.doc["endpoints"])
    assert "connect_refused" in run.codes
    assert run.doc["elapsed_ms"] < 1000, run.doc["elapsed_ms"]
    assert run.wall_s < 5, run.wall_s  # interpreter start included


def test_terminal_report_names_the_cause() -> None:
    (port,) = _closed_ports(1)
    run = run_smtpdoctor("check", "127.0.0.1", "-p", str(port), "--no-color")
    assert run.returncode == 1, run.describe()
    first = run.stdout.strip().splitlines()[0].lower()
    assert "failed" in first, run.stdout
    assert "connect_refused" in run.stdout


def test_default_ports_are_25_465_587() -> None:
    run = run_smtpdoctor(
        "check", "127.0.0.1", "--json", "--timeout", "connect=1", "--timeout", "greeting=1",
        "--timeout", "tls=1", "--timeout", "command=1", "--budget", "8",
    )  # fmt: skip
    assert run.returncode in (0, 1), run.describe()
    assert run.doc["ports"] == [25, 465, 587], run.describe()
    assert sorted(ep["port"] for ep in run.doc["endpoints"]) == [25, 465, 587]
    implicit = [ep for ep in run.doc["endpoints"] if ep["port"] == 465]
    assert implicit[0]["tls_mode"] == "implicit"


@pytest.mark.netns
def test_connect_timeout_in_a_namespace(drop_namespace: str) -> None:
    run = check(
        "192.0.2.10:25",
        "--timeout", "connect=2",
        wrapper=("ip", "netns", "exec", drop_namespace),
        timeout=30,
    )  # fmt: skip
    cause = run.cause("connect_timeout")
    assert cause["severity"] == "error"
    assert cause["phase"] == "connect"
    assert run.phase("connect")["status"] == "timeout"
    assert run.phase("connect")["limit_s"] == 2
    assert 1.8 < run.phase("connect")["ms"] / 1000 < 3.5
    assert run.wall_s < 2 + 4, run.wall_s


@pytest.mark.netns
def test_all_ports_dropped_cost_one_connect_cap_not_three(drop_namespace: str) -> None:
    run = check(
        "192.0.2.10",
        "--timeout", "connect=2",
        wrapper=("ip", "netns", "exec", drop_namespace),
        timeout=30,
    )  # fmt: skip
    assert run.doc["verdict"] == "failed"
    assert len(run.doc["endpoints"]) == 3
    assert all(ep["failed_phase"] == "connect" for ep in run.doc["endpoints"])
    # Every port is dropped, so nothing shows that port 25 alone is blocked.
    assert run.codes == ["connect_timeout"] * 3
    assert run.doc["elapsed_ms"] < 2000 * 2, "ports must be probed concurrently"
