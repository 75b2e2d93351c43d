"""The systemd unit passes systemd-analyze verify (with the venv's smtpdoctor as ExecStart)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "packaging" / "systemd" / "smtpdoctor-monitor.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_the_unit_verifies(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "smtpdoctor"
    if not exe.exists():
        pytest.skip("the smtpdoctor console script is not installed in this environment")
    text = UNIT.read_text()
    assert "ExecStart=/usr/bin/smtpdoctor monitor" in text
    unit = tmp_path / UNIT.name
    unit.write_text(text.replace("/usr/bin/smtpdoctor", str(exe)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    for setting in ("DynamicUser=yes", "StateDirectory=smtpdoctor", "NoNewPrivileges=yes",
                    "ProtectSystem=strict", "CapabilityBoundingSet=\n"):  # fmt: skip
        assert setting in text
