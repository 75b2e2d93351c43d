"""`smtpdoctor queue` and `config` against a real (unpacked Debian) Exim with its own config."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.mta.cli import smtpdoctor
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
