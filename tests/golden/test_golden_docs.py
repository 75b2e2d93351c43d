"""logs, queue, config and doctor JSON pinned on fixtures (issue 8: unchanged by the seam
refactor). Regenerate with SMTPDOCTOR_UPDATE_GOLDEN=1 only for an intended change."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smtpdoctor.doctor.model import DoctorReport
from smtpdoctor.doctor.rank import rank, report_verdict
from smtpdoctor.doctor.run import read_logs, run_probe
from smtpdoctor.mta.audit import audit_resolver_section
from smtpdoctor.mta.exim_queue import parse_listing
from smtpdoctor.mta.findings import AuditSection, ConfigReport
from smtpdoctor.mta.model import Mta, QueueSnapshot
from smtpdoctor.mta.postconf import PostfixSettings, parse_postconf
from smtpdoctor.mta.postfix_audit import audit_postfix
from smtpdoctor.mta.sendmail_queue import parse_mailq
from smtpdoctor.mta.shape import QueueShape, shape_queue
from smtpdoctor.report import config_json, doctor_json, queue_json
from tests.golden.normalise import compare, normalise

REPO = Path(__file__).resolve().parents[2]
LOG_SAMPLES = REPO / "tests" / "logs" / "samples"
MTA_SAMPLES = REPO / "tests" / "mta" / "samples"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
RELAY = "198.51.100.25"


@pytest.mark.parametrize("sample", sorted(p.name for p in LOG_SAMPLES.glob("*.log")))
def test_logs_json_unchanged(sample: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", str(LOG_SAMPLES / sample), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    compare(f"logs-{sample}", normalise(doc, {str(REPO): "<repo>"}))


def _queue() -> QueueShape:
    exim = list(parse_listing((MTA_SAMPLES / "exim-bp.txt").read_text().splitlines(), NOW))
    sendmail = parse_mailq((MTA_SAMPLES / "sendmail-mailq.txt").read_text().splitlines(), NOW)
    snapshot = QueueSnapshot(Mta.EXIM, NOW, (*exim, *sendmail), "exim -bp")
    return shape_queue(snapshot, queue_lifetime_s=5 * 86400)


def test_queue_json_unchanged() -> None:
    compare("queue-samples", normalise(json.loads(queue_json.render(_queue())), {}))


def _config(tmp_path: Path) -> ConfigReport:
    postconf = shutil.which("postconf") or "/usr/sbin/postconf"
    if not Path(postconf).exists():
        pytest.skip("needs postconf (Debian postfix) for Postfix's own defaults")
    defaults = parse_postconf(
        subprocess.run([postconf, "-d"], capture_output=True, text=True, check=True).stdout.split(
            "\n"
        )
    )
    changed = {
        "relayhost": f"[{RELAY}]:25",
        "smtp_connect_timeout": "1s",
        "smtp_helo_timeout": "20s",
        "maximal_queue_lifetime": "1d",
    }
    settings = PostfixSettings({**defaults, **changed}, changed, defaults)
    postfix = AuditSection(
        "postfix",
        ("main.cf",),
        (("relayhost", changed["relayhost"]),),
        tuple(audit_postfix(settings, has_ipv6_route=False)),
    )
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 192.0.2.53\nnameserver 192.0.2.54\noptions timeout:30\n")
    return ConfigReport((postfix, audit_resolver_section(resolv, query=False)))


def test_config_json_unchanged(tmp_path: Path) -> None:
    doc = json.loads(config_json.render(_config(tmp_path)))
    compare("config-postfix-resolver", normalise(doc, {str(tmp_path): "<tmp>"}))


def test_doctor_json_unchanged(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = _config(tmp_path)
    queue = _queue()
    logs, why = read_logs([LOG_SAMPLES / "postfix-2.2.log"], timedelta(days=3650))
    assert logs is not None, why
    probe, why = run_probe(f"127.0.0.1:{port}", "relay host", 2.0)
    assert probe is not None, why
    causes = rank(config, queue, logs, (probe,), f"127.0.0.1:{port}", "`exim -qff`")
    report = DoctorReport(tuple(causes), config, queue, logs, (probe,), ("all",), ())
    doc = json.loads(doctor_json.render(report, report_verdict(report)))
    replacements = {str(tmp_path): "<tmp>", str(port): "PORT", str(REPO): "<repo>"}
    compare("doctor-fixtures", normalise(doc, replacements))
