"""The shipped alert rules: promtool accepts them, and every alert has unit tests."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.monitor.conftest import smtpdoctor

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian prometheus) absent")
UNIT_TESTS = Path(__file__).parent / "rules" / "smtpdoctor_test.yml"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """`smtpdoctor monitor rules` output next to the unit tests, as a user would install it."""
    done = smtpdoctor("monitor", "rules")
    assert done.returncode == 0, done.stderr
    (tmp_path / "smtpdoctor.yml").write_text(done.stdout)
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    return tmp_path


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_check_rules(rules_dir: Path) -> None:
    done = promtool("check", "rules", "smtpdoctor.yml", cwd=rules_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 10 rules found" in done.stdout


def test_promtool_test_rules(rules_dir: Path) -> None:
    done = promtool("test", "rules", UNIT_TESTS.name, cwd=rules_dir)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_fires_does_not_fire_and_resolves_in_the_unit_tests(rules_dir: Path) -> None:
    alerts = re.findall(r"^\s*- alert: (\w+)", (rules_dir / "smtpdoctor.yml").read_text(), re.M)
    tests = UNIT_TESTS.read_text()
    for alert in alerts:
        blocks = re.findall(
            rf"alertname: {alert}\n\s+exp_alerts:(.*?)(?=\n\s+- eval_time|\n\n|\Z)", tests, re.S
        )
        empty = [b for b in blocks if b.strip().startswith("[]")]
        firing = [b for b in blocks if "exp_labels" in b]
        # before it fires, while it fires, after it resolved
        assert len(empty) >= 2, f"{alert}: needs a not-firing and a resolved case"
        assert firing, f"{alert}: never expected to fire"


def test_a_broken_rule_file_fails_the_check(rules_dir: Path) -> None:
    path = rules_dir / "smtpdoctor.yml"
    path.write_text(
        path.read_text().replace("smtpdoctor_target_up == 0", "smtpdoctor_target_up ==", 1)
    )
    assert promtool("check", "rules", "smtpdoctor.yml", cwd=rules_dir).returncode != 0
