"""The done-when scenario on real Postfix: a single relay host behind an nftables DROP,
a 1-second connect timeout and a full deferred queue, inside a namespace of our own."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mta.cli import smtpdoctor
from tests.mta.netns import DROPPED_RELAY
from tests.mta.unprivileged import Unprivileged, unprivileged
from tests.support.postfix import PostfixInstance, postfix_instance

__all__ = ["unprivileged"]

pytestmark = [pytest.mark.postfix, pytest.mark.netns]

MESSAGES = 40
DOMAINS = ("example.com", "example.net", "example.org", "example.edu")


def _netns(name: str) -> None:
    def ip(*argv: str) -> None:
        subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=10)

    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")
    ip("-n", name, "addr", "add", f"{DROPPED_RELAY}/32", "dev", "lo")
    ruleset = (
        "table inet smtpdoctor_test {\n chain out {\n"
        "  type filter hook output priority 0;\n"
        f"  ip daddr {DROPPED_RELAY} tcp dport 25 drop\n }}\n}}\n"
    )
    subprocess.run(
        ["ip", "netns", "exec", name, "nft", "-f", "-"],
        input=ruleset.encode(),
        check=True,
        capture_output=True,
        timeout=10,
    )


@pytest.fixture(scope="module")
def stuck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PostfixInstance, str, Path]]:
    """A Postfix whose only relay host is dropped, with MESSAGES deferred messages."""
    name = f"sdmta{secrets.token_hex(3)}"
    base = tmp_path_factory.mktemp("mta")
    resolv = base / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    try:
        _netns(name)
        main_cf = {
            "relayhost": f"[{DROPPED_RELAY}]:25",
            "smtp_connect_timeout": "1s",
            # No retries while the tests look: the queue must hold still.
            "queue_run_delay": "1h",
            "minimal_backoff_time": "1h",
            "maximal_backoff_time": "2h",
        }
        with postfix_instance(base, main_cf, netns=name) as pf:
            for i in range(MESSAGES):
                pf.sendmail("app@example.org", [f"user{i}@{DOMAINS[i % len(DOMAINS)]}"])
            pf.wait_for_queue(
                lambda q: sum(1 for m in q if m["queue_name"] == "deferred") == MESSAGES, 60
            )
            yield pf, name, resolv
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10, check=False)


def _json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert "Traceback" not in proc.stderr, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def test_doctor_names_the_dropped_relay_first(stuck: tuple[PostfixInstance, str, Path]) -> None:
    pf, ns, resolv = stuck
    proc = smtpdoctor(
        "doctor",
        "--json",
        "--postfix-config",
        str(pf.config_dir),
        "--resolv-conf",
        str(resolv),
        "--probe-connect-timeout",
        "2",
        netns=ns,
    )
    doc = _json(proc)
    assert proc.returncode == 1
    assert doc["schema"] == "smtpdoctor.doctor/1" and doc["verdict"] == "failed"
    top = doc["causes"][0]
    assert DROPPED_RELAY in top["subject"]
    # The local nftables rule drops port 25 to the relay: the firewall audit names the
    # block, the most specific code of the connect family, so it wins the merge.
    assert top["code"] == "port25_blocked"
    assert {"queue", "config", "probe"} <= set(top["sources"])
    evidence = " ".join(e["text"] for e in top["evidence"])
    assert f"{MESSAGES} queued recipient(s)" in evidence
    assert "no fallback" in evidence
    assert f"ip daddr {DROPPED_RELAY} tcp dport 25 drop" in evidence
    assert any("smtp_fallback_relay" in f for f in top["fixes"])
    assert any(f"postqueue -c {pf.config_dir} -f" in f for f in top["fixes"])
    assert doc["probes"][0]["target"] == f"{DROPPED_RELAY}:25"
    assert doc["probes"][0]["verdict"] == "failed"
    assert any(c["subject"] == "smtp_connect_timeout" for c in doc["causes"][1:])


def test_doctor_text_report(stuck: tuple[PostfixInstance, str, Path]) -> None:
    pf, ns, resolv = stuck
    proc = smtpdoctor(
        "doctor",
        "--postfix-config",
        str(pf.config_dir),
        "--resolv-conf",
        str(resolv),
        "--no-probe",
        netns=ns,
    )
    assert proc.returncode == 1, proc.stderr
    first = proc.stdout.split("\n2. ")[0]
    assert "1. " in first and DROPPED_RELAY in first
    assert "probe: skipped (--no-probe)" in proc.stdout


def test_queue_shape(stuck: tuple[PostfixInstance, str, Path]) -> None:
    pf, _, _ = stuck
    proc = smtpdoctor("queue", "--json", "--postfix-config", str(pf.config_dir))
    doc = _json(proc)
    assert proc.returncode == 1
    assert doc["schema"] == "smtpdoctor.queue/1"
    assert doc["messages"] == MESSAGES and doc["queues"] == {"deferred": MESSAGES}
    assert {d["domain"] for d in doc["domains"]} == set(DOMAINS)
    group = doc["reasons"][0]
    assert group["cause"] == "connect_timeout" and group["phase"] == "connect"
    assert DROPPED_RELAY in group["relay"] and group["recipients"] == MESSAGES
    assert group["next_retry"] is not None
    assert "relay_host" in [i["kind"] for i in doc["insights"]]
    assert doc["actions"][0]["command"] == f"postqueue -c {pf.config_dir} -f"


def test_queue_filters_and_text(stuck: tuple[PostfixInstance, str, Path]) -> None:
    pf, _, _ = stuck
    text = smtpdoctor("queue", "--postfix-config", str(pf.config_dir), "--reason", "timeout")
    assert text.returncode == 1
    assert "like qshape" in text.stdout and "example.edu" in text.stdout
    old = smtpdoctor("queue", "--postfix-config", str(pf.config_dir), "--older-than", "1h")
    assert old.returncode == 0
    assert "no queued message matches the filter" in old.stdout
    one = smtpdoctor(
        "queue", "--json", "--postfix-config", str(pf.config_dir), "--domain", "example.net"
    )
    assert _json(one)["recipients"] == MESSAGES // len(DOMAINS)


def test_flush_asks_first(stuck: tuple[PostfixInstance, str, Path]) -> None:
    pf, _, _ = stuck
    proc = smtpdoctor("queue", "--postfix-config", str(pf.config_dir), "--flush", "example.com")
    assert proc.returncode == 2
    assert "add --yes" in proc.stderr
    bad = smtpdoctor("queue", "--postfix-config", str(pf.config_dir), "--flush=x;rm", "--yes")
    assert bad.returncode == 2 and "not a domain name" in bad.stderr


def test_config_audit(stuck: tuple[PostfixInstance, str, Path]) -> None:
    pf, ns, resolv = stuck
    proc = smtpdoctor(
        "config",
        "--json",
        "--postfix-config",
        str(pf.config_dir),
        "--resolv-conf",
        str(resolv),
        netns=ns,
    )
    doc = _json(proc)
    assert proc.returncode == 1
    by_subject = {f["subject"]: f for f in doc["findings"]}
    connect = by_subject["smtp_connect_timeout"]
    assert (connect["current"], connect["recommended"]) == ("1s", "30s")
    assert connect["command"].startswith(f"postconf -c {pf.config_dir} -e")
    assert by_subject["smtp_fallback_relay"]["cause"] == "connect_timeout"
    firewall = [f for f in doc["findings"] if f["area"] == "firewall"]
    assert firewall and f"ip daddr {DROPPED_RELAY} tcp dport 25 drop" in firewall[0]["summary"]
    resolver = [f for f in doc["findings"] if f["area"] == "resolver"]
    assert resolver and resolver[0]["cause"] == "dns_timeout"  # nothing answers on 127.0.0.1:53
    sections = {s["area"]: s for s in doc["sections"]}
    assert sections["postfix"]["facts"]["running"] == "yes"


def test_unprivileged_user_gets_the_queue_and_a_statement(
    stuck: tuple[PostfixInstance, str, Path], unprivileged: Unprivileged
) -> None:
    """As nobody: postqueue (set-gid) still lists the queue, the spool is closed to it."""
    pf, _, _ = stuck
    run = {"user": "nobody", "python": unprivileged.python, "pythonpath": unprivileged.pythonpath}
    whoami = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=65534", "--clear-groups", "id", "-u"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert whoami.stdout.strip() != "0"
    proc = smtpdoctor("queue", "--json", "--postfix-config", str(pf.config_dir), **run)
    doc = _json(proc)
    assert proc.returncode == 1
    assert doc["messages"] == MESSAGES
    assert doc["reasons"][0]["cause"] == "connect_timeout"
    assert doc["next_retry"] is None
    assert "Permission denied: next retry times not shown" in doc["unreadable"][0]["reason"]
    text = smtpdoctor("queue", "--postfix-config", str(pf.config_dir), **run)
    assert text.returncode == 1 and "Traceback" not in text.stderr
    assert "next retry times not shown" in text.stdout + text.stderr
