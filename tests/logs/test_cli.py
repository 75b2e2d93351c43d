"""The command line: exit codes, one-line errors, --since, JSON schema, CSV, bounded memory."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smtpdoctor.logs.aggregate import Aggregator

SAMPLES = Path(__file__).parent / "samples"
OK_LINE = (
    "Nov 27 10:00:00 mx postfix/smtp[1]: OK1: to=<a@ok.example>, relay=mx[192.0.2.1]:25, "
    "delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
)


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_exit_codes_and_one_line_errors(tmp_path: Path) -> None:
    ok = tmp_path / "ok.log"
    ok.write_text(OK_LINE)
    assert _cli(str(ok)).returncode == 0
    assert _cli(str(SAMPLES / "sendmail.log")).returncode == 1
    for args in (
        ["/nonexistent/mail.log"],
        [str(ok), "--since", "the day after tomorrow"],
        [],
        [str(tmp_path)],
        [str(ok), "--journal"],
        [str(ok), "--top", "0"],
        [str(ok), "--interval", "nan"],
        [str(ok), "--since", "9999999 weeks ago"],
        [str(ok), str(ok), "--follow"],
    ):
        proc = _cli(*args)
        assert proc.returncode == 2, args
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, args
        assert proc.stdout == ""


def test_terminal_verdict_first(tmp_path: Path) -> None:
    ok = tmp_path / "ok.log"
    ok.write_text(OK_LINE)
    assert _cli(str(ok)).stdout.splitlines()[1].startswith("OK: no timeouts")
    out = _cli(str(SAMPLES / "postfix-2.2.log")).stdout
    assert out.splitlines()[1].startswith("PROBLEMS: 2 timeouts")
    assert "confirm live: smtpdoctor check mx.far.example.net:25" in out
    assert "Most delayed messages" in out


def test_since_filters_events() -> None:
    path = str(SAMPLES / "postfix-rfc3339.log")
    everything = json.loads(_cli(path, "--json").stdout)
    later = json.loads(_cli(path, "--json", "--since", "2026-11-27T12:00:05+01:00").stdout)
    assert everything["problems"] == 9
    assert later["problems"] == 4
    assert later["totals"]["before_since"] == 5


def test_json_schema_fields() -> None:
    doc = json.loads(_cli(str(SAMPLES / "sendmail.log"), "--json").stdout)
    assert doc["schema"] == "smtpdoctor.logs/1"
    assert doc["verdict"] == "problems"
    for key in ("lines", "parsed", "unparsed", "deliveries", "delayed", "deferred", "bounced",
                "timeouts"):  # fmt: skip
        assert isinstance(doc["totals"][key], int)
    g = doc["groups"][0]
    for key in ("cause", "phase", "destination", "relay", "count", "first_seen", "last_seen",
                "check", "sample"):  # fmt: skip
        assert key in g
    assert all(c["fixes"] for c in doc["causes"])


def test_csv_rows() -> None:
    text = _cli(str(SAMPLES / "opensmtpd.log"), "--csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["cause"] for r in rows[:-1]} == {"connect_timeout", "greylisted"}
    assert rows[0]["check"].startswith("smtpdoctor check ")
    lines = len((SAMPLES / "opensmtpd.log").read_text().splitlines())
    assert rows[-1]["cause"] == "(coverage)"
    assert rows[-1]["count"] == str(lines)
    assert rows[-1]["sample"].startswith(f"lines={lines} parsed={lines} recognised={lines} ")


def test_journal_without_journalctl_is_exit_3(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", "--journal"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": str(tmp_path)},  # no journalctl on this PATH
    )
    assert proc.returncode == 3
    assert "journalctl not found" in proc.stderr


def test_message_table_is_bounded() -> None:
    agg = Aggregator(max_messages=100)
    for i in range(5000):
        agg.feed_line(
            f"Nov 27 10:00:00 mx postfix/smtp[1]: Q{i}: to=<a@d{i % 7}.example>, relay=none, "
            "delay=3, delays=0/0/3/0, dsn=4.4.1, status=deferred "
            "(connect to mx[192.0.2.1]:25: Connection timed out)"
        )
    report = agg.report()
    assert len(agg._messages) == 100
    assert report.messages.evicted == 4900
    assert report.messages.tracked == 5000
    assert len(report.messages.worst) == 20
    assert report.totals["timeouts"] == 5000


def test_group_table_is_bounded() -> None:
    agg = Aggregator(max_groups=50)
    for i in range(1000):
        agg.feed_line(
            f"Nov 27 10:00:00 mx postfix/smtp[1]: Q{i}: to=<a@d{i}.example>, relay=none, "
            "delay=3, delays=0/0/3/0, dsn=4.4.1, status=deferred "
            f"(connect to mx{i}[192.0.2.1]:25: Connection timed out)"
        )
    groups = agg.report().groups
    assert len(groups) == 51
    assert sum(g.count for g in groups) == 1000
    assert any(g.destination == "(other)" for g in groups)


def test_journal_records_become_syslog_lines() -> None:
    # The shape `journalctl -o json` prints (systemd.journal-fields(7)); MESSAGE may be
    # a byte array when it is not UTF-8.
    from smtpdoctor.logs.journal import record_to_line
    from smtpdoctor.logs.parser import parse_line

    record = {
        "__REALTIME_TIMESTAMP": "1795860601000000",
        "_HOSTNAME": "mx",
        "SYSLOG_IDENTIFIER": "postfix/smtp",
        "SYSLOG_PID": "4242",
        "MESSAGE": "4ABC: to=<u@x.example>, relay=none, delay=30, delays=0/0/30/0, "
        "dsn=4.4.1, status=deferred (connect to mx.x.example[192.0.2.1]:25: "
        "Connection timed out)",
    }
    line = record_to_line(record)
    assert line is not None and line.startswith("2026-11-28T10:10:01+00:00 mx postfix/smtp[4242]: ")
    ev = parse_line(line)
    assert ev is not None and (ev.cause, ev.destination) == ("connect_timeout", "x.example")
    raw = dict(record, MESSAGE=list(b"caf\xe9: removed"))
    assert record_to_line(raw) is not None
    assert record_to_line({"MESSAGE": ""}) is None


def test_json_rollups() -> None:
    doc = json.loads(_cli(str(SAMPLES / "sendmail.log"), "--json").stdout)
    dests = {r["key"]: r for r in doc["by_destination"]}
    assert dests["slow.example.net"]["count"] == 2
    assert set(dests["slow.example.net"]["causes"]) == {"connect_timeout", "command_timeout"}
    assert {r["key"] for r in doc["by_cause_phase"]} >= {"connect_timeout / connect"}


def test_journal_with_no_mail_records_is_exit_3() -> None:
    # Real journalctl, real (empty or mail-less) journal on the test machine.
    import shutil

    import pytest

    if shutil.which("journalctl") is None:
        pytest.skip("no journalctl")
    probe = subprocess.run(
        ["journalctl", "-o", "json", "--no-pager", "-q", "SYSLOG_FACILITY=2", "-n", "1"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if probe.stdout.strip():
        pytest.skip("this machine's journal has mail records")
    proc = _cli("--journal", "--since", "1 hour ago")
    assert proc.returncode == 3
    assert "journald returned no mail records" in proc.stderr


def test_the_cause_table_names_its_relay_column() -> None:
    out = _cli(str(SAMPLES / "sendmail.log")).stdout
    header = next(line for line in out.splitlines() if "cause / phase" in line)
    assert [c.strip() for c in header.strip("┃│ ").replace("┃", "│").split("│")] == [
        "cause / phase",
        "count",
        "timeouts",
        "relays",
        "first seen",
        "last seen",
    ]


def test_a_report_in_this_process_leaves_the_collector_as_it_was() -> None:
    # `logs` turns the cyclic collector off while it works (no cycles are made); run
    # in a process that goes on (tests, other tools), it must turn it on again.
    import gc

    from smtpdoctor.cli.main import main

    assert gc.isenabled()
    assert main(["logs", "--json", str(SAMPLES / "postfix-2.2.log")]) == 1  # failures in it
    assert gc.isenabled()
    gc.disable()
    try:
        main(["logs", "--json", str(SAMPLES / "postfix-2.2.log")])
        assert not gc.isenabled()  # and off, when it was off
    finally:
        gc.enable()


@pytest.mark.parametrize("destinations", [1, 3000])
def test_the_report_is_written_whole_before_the_process_ends(
    tmp_path: Path, destinations: int
) -> None:
    # The process entry point ends a `logs` run with os._exit, its output flushed
    # first: a report smaller than stdout's buffer and one far larger than a pipe's
    # must both reach the reader whole (stdout buffered, as it is outside this suite).
    log = tmp_path / "mail.log"
    log.write_text(
        "".join(
            f"Nov 27 10:00:00 mx postfix/smtp[1]: Q{n:05X}: to=<a@d{n}.example>, "
            f"relay=none, delay=31, delays=0/0/30/0, dsn=4.4.1, status=deferred "
            f"(connect to mx.d{n}.example[192.0.2.1]:25: Connection timed out)\n"
            for n in range(destinations)
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for args in (["--json"], []):
        proc = subprocess.run(
            [sys.executable, "-m", "smtpdoctor", "logs", *args, str(log)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )
        assert proc.returncode == 1, proc.stderr
        if args:
            assert len(json.loads(proc.stdout)["groups"]) == destinations
        else:
            assert proc.stdout.rstrip().endswith("0 in no known format")
