"""No MTA, or an MTA that cannot be read: clear statements, the rest still works."""

from __future__ import annotations

import json
from pathlib import Path

from tests.mta.cli import smtpdoctor


def _resolv(tmp_path: Path) -> Path:
    path = tmp_path / "resolv.conf"
    path.write_text("nameserver 127.0.0.254\noptions timeout:1 attempts:1\n")
    return path


def test_queue_without_any_mta_exits_3_with_one_line(tmp_path: Path) -> None:
    proc = smtpdoctor("queue", env={"PATH": str(tmp_path)})
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0
    assert "no MTA found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_queue_with_missing_config_dir_exits_3(tmp_path: Path) -> None:
    proc = smtpdoctor("queue", "--postfix-config", str(tmp_path / "nope"))
    assert proc.returncode == 3
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_config_reports_what_it_could_not_read_and_audits_the_rest(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    proc = smtpdoctor(
        "config",
        "--json",
        "--postfix-config",
        str(missing),
        "--resolv-conf",
        str(_resolv(tmp_path)),
        "--no-dns-query",
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "smtpdoctor.config/1"
    sections = {s["area"]: s for s in doc["sections"]}
    assert "no such file" in sections["postfix"]["unreadable"][0]["reason"]
    assert sections["resolver"]["facts"]["nameservers"] == "127.0.0.254"
    assert sections["resources"]["checked"]


def test_config_without_any_mta_says_so(tmp_path: Path) -> None:
    proc = smtpdoctor(
        "config",
        "--resolv-conf",
        str(_resolv(tmp_path)),
        "--no-dns-query",
        env={"PATH": str(tmp_path)},
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "could not read mta: no MTA found" in proc.stdout


def test_doctor_without_mta_still_reports(tmp_path: Path) -> None:
    proc = smtpdoctor(
        "doctor",
        "--json",
        "--no-probe",
        "--resolv-conf",
        str(_resolv(tmp_path)),
        "--no-dns-query",
        "--log",
        str(tmp_path / "no.log"),
        env={"PATH": str(tmp_path)},
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "smtpdoctor.doctor/1"
    text = " | ".join(doc["not_checked"])
    assert "queue: no MTA found" in text
    assert "logs: not analysed" in text
    assert "probe: skipped" in text


def test_bad_duration_is_a_usage_error() -> None:
    proc = smtpdoctor("queue", "--older-than", "soon")
    assert proc.returncode == 2
    assert "bad duration 'soon'" in proc.stderr
