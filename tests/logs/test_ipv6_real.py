"""Real Postfix, real broken IPv6: the MX host of dual.test has an IPv4 and an IPv6
address, IPv6 SYNs to it are dropped by nftables, IPv4 delivers. Postfix (preferring
IPv6, as many do) logs an IPv6 connect timeout and then delivers over IPv4 for every
message; `smtpdoctor logs` must name that `ipv6_broken` with the Postfix fix.

Everything lives in a namespace of our own, on documentation addresses only.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.dnsmasq import Zone, start_dnsmasq, stop
from tests.logs.lab import RESOLV_CONF, LogsLab, wait_in_netns
from tests.support.netns import loopback_namespace, output_ruleset
from tests.support.postfix import postfix_instance

pytestmark = [pytest.mark.netns, pytest.mark.postfix, pytest.mark.slow]

MX_V4 = "192.0.2.25"
MX_V6 = "2001:db8::25"
MESSAGES = 3


@contextlib.contextmanager
def dual_stack_lab() -> Iterator[LogsLab]:
    """A namespace where mx.dual.test answers on IPv4 and drops IPv6; removed on exit."""
    ruleset = output_ruleset("smtpdoctor_v6", f"ip6 daddr {MX_V6} tcp dport 25 drop")
    with loopback_namespace("sdv6", (MX_V4, MX_V6), ruleset, RESOLV_CONF) as name:
        lab = LogsLab(name)
        try:
            zone = Zone(
                domain="test",
                hosts={"mx.dual.test": (MX_V4, MX_V6)},
                mx={"dual.test": [(10, "mx.dual.test")]},
            )
            lab.procs.append(start_dnsmasq(zone, "127.0.0.1", 53, netns=name))
            wait_in_netns(name)
            # A working server on both addresses: only the nftables drop is broken.
            lab.badsmtp("mx4", "normal", listen=f"{MX_V4}:25")
            lab.badsmtp("mx6", "normal", listen=f"[{MX_V6}]:25")
            lab.badsmtp("ok", "normal")
            yield lab
        finally:
            for proc in lab.procs:
                stop(proc)


@pytest.fixture(scope="module")
def ipv6_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Send MESSAGES messages to dual.test through Postfix; yield a copy of its log."""
    base = tmp_path_factory.mktemp("pfv6")
    with dual_stack_lab() as lab:
        transport = base / "transport"
        # Bounces and notices to the sender go to a working server on loopback.
        transport.write_text(f"example.org smtp:[127.0.0.1]:{lab.servers['ok']}\n")
        base.chmod(0o755)
        main_cf = {
            "inet_protocols": "all",
            "smtp_address_preference": "ipv6",
            "smtp_connect_timeout": "2s",
            "transport_maps": f"texthash:{transport}",
            "smtp_dns_support_level": "enabled",
            "smtp_host_lookup": "dns",
            "relayhost": "",
            "queue_run_delay": "300s",
        }
        with postfix_instance(base, main_cf, netns=lab.netns) as pf:
            for n in range(MESSAGES):
                pf.sendmail("sender@example.org", [f"user{n}@dual.test"], subject=f"v6 {n}")
            for n in range(MESSAGES):
                pf.wait_for_log(rf"to=<user{n}@dual.test>.* status=sent", timeout=40)
            copy = base / "maillog.copy"
            shutil.copyfile(pf.log_path, copy)
        yield copy


def _logs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _json(path: Path) -> dict[str, Any]:
    proc = _logs(str(path), "--json")
    assert proc.returncode == 1, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def test_the_log_really_shows_both_families(ipv6_log: Path) -> None:
    text = ipv6_log.read_text()
    assert f"connect to mx.dual.test[{MX_V6}]:25: Connection timed out" in text
    assert text.count(f"relay=mx.dual.test[{MX_V4}]:25") == MESSAGES


def test_ipv6_broken_is_named_with_the_postfix_fix(ipv6_log: Path) -> None:
    doc = _json(ipv6_log)
    [insight] = doc["insights"]
    assert insight["cause"] == "ipv6_broken"
    assert insight["host"] == "mx.dual.test"
    assert insight["destination"] == "dual.test"
    assert insight["failed_addresses"] == [MX_V6]
    assert insight["working_addresses"] == [MX_V4]
    assert (insight["failures"], insight["successes"]) == (MESSAGES, MESSAGES)
    assert any("smtp_address_preference = ipv4" in f for f in insight["fixes"])
    assert any("inet_protocols = ipv4" in f for f in insight["fixes"])
    assert insight["check"] == "smtpdoctor check mx.dual.test:25"
    # The underlying attempts are still there as their own group.
    [group] = doc["groups"]
    assert (group["cause"], group["phase"], group["destination"]) == (
        "connect_timeout",
        "connect",
        "dual.test",
    )
    assert group["relay"] == f"mx.dual.test[{MX_V6}]:25"
    assert doc["totals"]["deliveries"] == MESSAGES


def test_terminal_report_leads_with_the_insight(ipv6_log: Path) -> None:
    proc = _logs(str(ipv6_log))
    lines = proc.stdout.splitlines()
    assert lines[2].startswith(f"ipv6_broken: mx.dual.test fails on IPv6 ({MX_V6}")
    assert "postconf -e 'smtp_address_preference = ipv4'" in proc.stdout
