"""`smtpdoctor queue` and `config` against a real (unpacked Debian) Exim with its own config."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.mta.cli import smtpdoctor
from tests.support.badsmtp import BadConfig, BadSMTPServer
from tests.support.exim import EximInstance, exim_factory, find_exim

__all__ = ["exim_factory"]

pytestmark = pytest.mark.exim


def test_exim_queue_and_transport_audit(
    exim_factory: Callable[..., EximInstance], tmp_path: Path
) -> None:
    # example.net goes to a refused loopback port: Exim defers and keeps the messages.
    exim = exim_factory({"example.net": "127.0.0.1::9"}, {"connect_timeout": "2s"})
    for i in range(3):
        exim.send("app@example.org", [f"user{i}@example.net"])
    exe = find_exim()
    assert exe is not None
    env = {"PATH": f"{exe.parent}:{os.environ.get('PATH', '')}"}
    config = str(exim.config_path)
    queue = smtpdoctor("queue", "--json", "--mta", "exim", "--exim-config", config, env=env)
    assert "Traceback" not in queue.stderr, queue.stderr
    doc = json.loads(queue.stdout)
    assert doc["mta"] == "exim" and doc["messages"] == 3
    assert [d["domain"] for d in doc["domains"]] == ["example.net"]
    assert doc["actions"][0]["command"] == "exim -qff"
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.254\n")
    audit = smtpdoctor(
        "config",
        "--json",
        "--exim-config",
        config,
        "--resolv-conf",
        str(resolv),
        "--no-dns-query",
        env=env,
    )
    assert audit.returncode == 1, audit.stderr
    findings = {f["subject"]: f for f in json.loads(audit.stdout)["findings"]}
    connect = findings["transport remote_smtp: connect_timeout"]
    assert (connect["current"], connect["cause"]) == ("2s", "connect_timeout")
    assert findings["transport remote_smtp: fallback_hosts"]["cause"] == "connect_timeout"


def test_exim_queue_grouped_by_deferral_reason(
    exim_factory: Callable[..., EximInstance],
) -> None:
    """A relay that never greets (timeout) and a closed port (refused), from the msglogs."""
    silent = BadSMTPServer(BadConfig(mode="no-greeting")).start()
    try:
        _grouped_by_reason(exim_factory, silent)
    finally:
        silent.stop()


def _grouped_by_reason(exim_factory: Callable[..., EximInstance], silent: BadSMTPServer) -> None:
    exim = exim_factory(
        {"example.net": f"127.0.0.1::{silent.port}", "example.com": "127.0.0.1::9"},
        {"command_timeout": "2s"},
    )
    exim.send("app@example.org", ["a@example.net", "b@example.net"])
    exim.send("app@example.org", ["c@example.com"])
    exe = find_exim()
    assert exe is not None
    env = {"PATH": f"{exe.parent}:{os.environ.get('PATH', '')}"}
    proc = smtpdoctor(
        "queue", "--json", "--mta", "exim", "--exim-config", str(exim.config_path), env=env
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    reasons = {g["cause"]: g for g in doc["reasons"]}
    assert set(reasons) == {"greeting_timeout", "connect_refused"}, doc["reasons"]
    timeout = reasons["greeting_timeout"]
    assert timeout["recipients"] == 2 and timeout["phase"] == "greeting"
    assert timeout["relay"] == "127.0.0.1[127.0.0.1]"
    assert "SMTP timeout after initial connection" in timeout["sample_reason"]
    assert "defer (111)" in reasons["connect_refused"]["sample_reason"]
    assert not doc["unreadable"]
    filtered = smtpdoctor(
        "queue",
        "--json",
        "--mta",
        "exim",
        "--exim-config",
        str(exim.config_path),
        "--reason",
        "connect_refused",
        env=env,
    )
    assert json.loads(filtered.stdout)["recipients"] == 1


def test_exim_retry_rules_audited(
    exim_factory: Callable[..., EximInstance], tmp_path: Path
) -> None:
    exim = exim_factory({"example.net": "127.0.0.1::9"})
    config = exim.config_path.read_text()
    assert "begin retry\n* * F,1h,10m\n" in config
    rules = "begin retry\nexample.net * F,3h,10m\n*.example.com timeout F,4d,6h\n"
    exim.config_path.write_text(config.replace("begin retry\n* * F,1h,10m\n", rules))
    exe = find_exim()
    assert exe is not None
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.254\n")
    proc = smtpdoctor(
        "config",
        "--json",
        "--exim-config",
        str(exim.config_path),
        "--resolv-conf",
        str(resolv),
        "--no-dns-query",
        env={"PATH": f"{exe.parent}:{os.environ.get('PATH', '')}"},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    retry = [f for f in doc["findings"] if f["subject"].startswith("retry rule")]
    summaries = " | ".join(f["summary"] for f in retry)
    assert "no retry rule for every domain" in summaries
    assert "'example.net * F,3h,10m' gives up after 3h" in summaries
    assert "'*.example.com timeout F,4d,6h' waits 6h before the first retry" in summaries
    assert all(f["cause"] == "connect_timeout" for f in retry)
    facts = {s["area"]: s for s in doc["sections"]}["exim"]["facts"]
    assert "example.net * F,3h,10m" in facts["retry rules"]
