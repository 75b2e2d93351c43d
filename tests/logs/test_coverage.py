"""Honest coverage: every report says how much of its input it read; a file that is
not a mail log is "could not read this log" (exit 3), never "OK"; NUL runs are
skipped, not fatal; an overlong line is cut and counted as one line."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from smtpdoctor.logs.api import analyze

DATA = Path(__file__).resolve().parents[1] / "data" / "logs"
POSTFIX = DATA / "postfix-grok-patterns.log"
# nginx's default "combined" format (nginx.org/en/docs/http/ngx_http_log_module.html).
NGINX = (
    '192.0.2.7 - - [27/Nov/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"\n'
    '192.0.2.8 - alice [27/Nov/2026:10:00:02 +0000] "POST /login HTTP/2.0" 302 0 '
    '"https://example.com/" "Mozilla/5.0"\n'
) * 50
JSON_LINES = '{"time": "2026-11-27T10:00:01Z", "level": "info", "msg": "started"}\n' * 80


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", "--no-rotated", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_nginx_log_is_could_not_read_exit_3(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(NGINX)
    proc = _cli(str(log))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "COULD NOT READ THIS LOG" in proc.stdout
    assert "OK" not in proc.stdout
    assert 'unrecognised: 192.0.2.7 - - [27/Nov/2026:10:00:01 +0000] "GET /' in proc.stdout
    doc = json.loads(_cli(str(log), "--json").stdout)
    assert doc["verdict"] == "could not read this log"
    assert doc["coverage"]["lines"] == 100
    assert doc["coverage"]["parsed"] == 0
    assert doc["coverage"]["unparsed"] == 100
    assert len(doc["coverage"]["first_unparsed"]) == 3


def test_json_lines_are_could_not_read_exit_3(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(JSON_LINES)
    proc = _cli(str(log), "--json")
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["verdict"] == "could not read this log"


def test_syslog_without_any_mta_line_is_could_not_read(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_text("Nov 27 10:00:01 host systemd[1]: Started Daily apt upgrade.\n" * 20)
    proc = _cli(str(log))
    assert proc.returncode == 3
    assert "no line was written by Postfix, Exim, Sendmail or OpenSMTPD" in proc.stdout


def test_mostly_garbage_with_some_postfix_is_could_not_read(tmp_path: Path) -> None:
    log = tmp_path / "mixed.log"
    log.write_text(POSTFIX.read_text() + NGINX * 2)
    assert _cli(str(log)).returncode == 3


def test_every_format_reports_coverage() -> None:
    lines = len(POSTFIX.read_text().splitlines())
    doc = json.loads(_cli(str(POSTFIX), "--json").stdout)
    assert doc["verdict"] == "problems"
    assert doc["coverage"] == {
        "lines": lines,
        "parsed": lines,
        "recognised": lines,
        "unparsed": 0,
        "binary_skipped": 0,
        "truncated": 0,
        "first_unparsed": [],
    }
    terminal = _cli(str(POSTFIX)).stdout
    assert f"read: {lines:,} of {lines:,} lines parsed, {lines:,} from an MTA" in terminal
    rows = list(csv.DictReader(io.StringIO(_cli(str(POSTFIX), "--csv").stdout)))
    assert rows[-1]["cause"] == "(coverage)"


def _groups(path: Path) -> list[tuple[str, str | None, str, str, int]]:
    report = analyze([path])
    return [(g.cause, g.phase, g.destination, g.relay, g.count) for g in report.groups]


def test_nul_prefixed_log_gives_the_same_groups(tmp_path: Path) -> None:
    clean = tmp_path / "clean.log"
    clean.write_bytes(POSTFIX.read_bytes())
    dirty = tmp_path / "dirty.log"
    # copytruncate: the writer kept its offset, the start is a hole of NULs; a crash
    # left another run in the middle, at a line boundary.
    text = POSTFIX.read_bytes()
    middle = text.index(b"\n", len(text) // 2) + 1
    dirty.write_bytes(b"\x00" * 70000 + text[:middle] + b"\x00" * 300 + text[middle:])
    assert _groups(dirty) == _groups(clean)
    report = analyze([dirty])
    assert report.coverage.binary == 2
    assert report.coverage.lines == len(text.splitlines())
    assert not report.coverage.unreadable
    proc = _cli(str(dirty))
    assert proc.returncode == 1
    assert "2 runs of NUL bytes skipped" in proc.stdout


def test_an_overlong_line_is_one_line_cut(tmp_path: Path) -> None:
    log = tmp_path / "long.log"
    head = POSTFIX.read_text()
    log.write_text(head + "Nov 27 10:00:00 mx postfix/smtp[1]: " + "x" * 10_000_000 + "\n" + head)
    report = analyze([log])
    n = len(head.splitlines())
    assert report.coverage.lines == 2 * n + 1
    assert report.coverage.truncated == 1
    assert report.totals["lines"] == 2 * n + 1


def test_only_nuls_is_could_not_read(tmp_path: Path) -> None:
    log = tmp_path / "zeros.log"
    log.write_bytes(b"\x00" * 10000)
    assert _cli(str(log)).returncode == 3
