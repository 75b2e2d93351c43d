"""The shared Postfix fixture itself: instances start, queue mail, log, and clean up."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.postfix import DEFAULT_CONFIG_DIR, PostfixInstance, postfix_instance

pytestmark = pytest.mark.postfix


def _alternate_dirs() -> str:
    return subprocess.run(
        ["postconf", "-c", str(DEFAULT_CONFIG_DIR), "-h", "alternate_config_directories"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_instance_defers_to_refused_relay_and_cleans_up(tmp_path: Path) -> None:
    with postfix_instance(tmp_path) as pf:
        root = pf.root
        assert str(pf.config_dir) in _alternate_dirs()
        pf.sendmail("a@example.org", ["b@example.net"])
        line = pf.wait_for_log(r"status=deferred")
        assert "Connection refused" in line
        queue = pf.wait_for_queue(lambda q: any(m["queue_name"] == "deferred" for m in q))
        assert queue[0]["recipients"][0]["address"] == "b@example.net"
    assert not root.exists()
    assert str(pf.config_dir) not in _alternate_dirs()


def test_two_instances_run_side_by_side(
    postfix_factory: Callable[..., PostfixInstance],
) -> None:
    first = postfix_factory()
    second = postfix_factory({"smtp_connect_timeout": "2s"})
    assert first.smtp_port != second.smtp_port
    first.sendmail("a@example.org", ["x@example.net"])
    second.sendmail("a@example.org", ["y@example.net"])
    first.wait_for_log(r"to=<x@example\.net>.*deferred")
    second.wait_for_log(r"to=<y@example\.net>.*deferred")
    assert [m["recipients"][0]["address"] for m in first.queue_json()] == ["x@example.net"]
