"""`queue` and `doctor` on a real Postfix whose master is stopped: "the mail system is down"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.check.helpers import run_smtpdoctor
from tests.mta.cli import smtpdoctor
from tests.mta.unprivileged import Unprivileged, unprivileged
from tests.support.postfix import PostfixInstance, postfix_instance

__all__ = ["unprivileged"]

pytestmark = pytest.mark.postfix


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostfixInstance]:
    """A Postfix instance with one message queued, then its master stopped."""
    with postfix_instance(tmp_path_factory.mktemp("down")) as pf:
        pf.sendmail("alice@example.org", ["bob@example.net"])
        pf.wait_for_log(r"status=deferred")
        pf.stop()
        yield pf


def test_queue_says_the_mail_system_is_down(stopped: PostfixInstance) -> None:
    run = run_smtpdoctor("queue", "--postfix-config", str(stopped.config_dir))
    assert run.returncode == 1, run.describe()
    assert "the mail system is down" in run.stdout
    assert f"postfix -c {stopped.config_dir} start" in run.stdout


def test_queue_json_still_reports_when_down(stopped: PostfixInstance) -> None:
    run = run_smtpdoctor("queue", "--postfix-config", str(stopped.config_dir), "--json")
    assert run.returncode == 1, run.describe()
    doc = json.loads(run.stdout)
    assert doc["schema"] == "smtpdoctor.queue/1"
    first = doc["insights"][0]
    assert first["kind"] == "mail_system_down" and first["cause"] == "mta_stopped"
    assert doc["messages"] == 1  # root reads the queue directly while the master is down


def test_queue_as_a_user_when_down(stopped: PostfixInstance, unprivileged: Unprivileged) -> None:
    """postqueue refuses users while the master is down: still exit 1 and one document."""
    run = smtpdoctor(
        "queue", "--postfix-config", str(stopped.config_dir), "--json",
        user="nobody", python=unprivileged.python, pythonpath=unprivileged.pythonpath,
    )  # fmt: skip
    assert run.returncode == 1, (run.stdout, run.stderr)
    doc = json.loads(run.stdout)
    assert doc["insights"][0]["kind"] == "mail_system_down"
    assert all(i["kind"] != "empty" for i in doc["insights"])  # it could not look
    assert "mail system is down" in doc["unreadable"][0]["reason"]


def test_queue_exit_0_when_running(tmp_path: Path) -> None:
    """The control: the same empty instance, running, is healthy."""
    with postfix_instance(tmp_path) as pf:
        run = run_smtpdoctor("queue", "--postfix-config", str(pf.config_dir), "--json")
    assert run.returncode == 0, run.describe()
    assert all(i["kind"] != "mail_system_down" for i in json.loads(run.stdout)["insights"])


def test_doctor_ranks_postfix_not_running_as_a_cause(stopped: PostfixInstance) -> None:
    run = run_smtpdoctor(
        "doctor", "--postfix-config", str(stopped.config_dir), "--log", str(stopped.log_path),
        "--no-probe", "--no-dns-query", "--since", "1 hours ago", "--json",
    )  # fmt: skip
    assert run.returncode == 1, run.describe()
    doc = json.loads(run.stdout)
    assert doc["verdict"] == "failed"
    first = doc["causes"][0]
    assert first["code"] == "mta_stopped"
    assert first["severity"] == "error"
    assert f"postfix -c {stopped.config_dir} start" in first["fixes"]
