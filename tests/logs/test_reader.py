"""Reading: compression by magic bytes, rotated sets oldest first, stdin, bad files."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smtpdoctor.logs.api import NothingReadableError, analyze
from smtpdoctor.logs.reader import order_sources

LINE = (
    "Nov 27 23:{m:02d}:01 mx postfix/smtp[1]: Q{q}: to=<u@d{q}.example>, relay=none, "
    "delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred "
    "(connect to mx[192.0.2.1]:25: Connection timed out)\n"
)


def _text(q: int) -> str:
    return LINE.format(m=q, q=q)


def test_every_compression(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(_text(1))
    (tmp_path / "b.gz").write_bytes(gzip.compress(_text(2).encode()))
    (tmp_path / "c.bz2").write_bytes(bz2.compress(_text(3).encode()))
    (tmp_path / "d.xz").write_bytes(lzma.compress(_text(4).encode()))
    (tmp_path / "e.txt").write_bytes(gzip.compress(_text(5).encode()))  # no telling name
    report = analyze(sorted(tmp_path.iterdir()))
    assert report.totals["lines"] == 5
    assert {g.destination for g in report.groups} == {f"d{i}.example" for i in range(1, 6)}


def test_rotated_set_is_read_oldest_first(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(_text(4))
    (tmp_path / "mail.log.1").write_text(_text(3))
    (tmp_path / "mail.log.2.gz").write_bytes(gzip.compress(_text(2).encode()))
    (tmp_path / "mail.log.10.xz").write_bytes(lzma.compress(_text(1).encode()))
    (tmp_path / "other.log.1").write_text(_text(9))
    names = [p.name for p in order_sources([log], include_rotated=True)]
    assert names == ["mail.log.10.xz", "mail.log.2.gz", "mail.log.1", "mail.log"]
    report = analyze([log], include_rotated=True)
    assert report.totals["lines"] == 4
    assert report.sources[-1].endswith("mail.log")
    assert analyze([log]).totals["lines"] == 1  # rotated siblings only on request


def test_messages_are_joined_across_rotated_files(tmp_path: Path) -> None:
    first = (
        "Nov 27 10:00:00 mx postfix/smtp[1]: JOIN1: to=<u@x.example>, relay=none, delay=30, "
        "delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx[192.0.2.1]:25: "
        "Connection timed out)\n"
    )
    last = (
        "Nov 27 11:00:00 mx postfix/smtp[2]: JOIN1: to=<u@x.example>, relay=mx[192.0.2.1]:25, "
        "delay=3600, delays=0/3599/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
        "Nov 27 11:00:00 mx postfix/qmgr[3]: JOIN1: removed\n"
    )
    (tmp_path / "mail.log.1").write_text(first)
    (tmp_path / "mail.log").write_text(last)
    m = analyze([tmp_path / "mail.log"], include_rotated=True).messages
    assert (m.tracked, m.delivered_after_retry, m.max_attempts) == (1, 1, 2)
    assert m.worst[0].delay == 3600.0


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_stdin_plain_and_compressed() -> None:
    assert _cli("-", "--csv", stdin=_text(1).encode()).stdout.count(b"connect_timeout") == 1
    gz = gzip.compress(_text(2).encode())
    proc = _cli("-", "--csv", stdin=gz)
    assert proc.returncode == 1 and b"d2.example" in proc.stdout


def test_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    binary = tmp_path / "core"
    binary.write_bytes(os.urandom(4096) + b"\x00" * 100)
    with pytest.raises(NothingReadableError, match="binary data"):
        analyze([binary])
    proc = _cli(str(binary))
    assert proc.returncode == 3
    assert proc.stderr.decode().count("\n") == 1 and b"Traceback" not in proc.stderr


def test_truncated_archive_keeps_what_was_read(tmp_path: Path) -> None:
    data = gzip.compress("".join(_text(i % 50) for i in range(2000)).encode())
    cut = tmp_path / "mail.log.2.gz"
    cut.write_bytes(data[: len(data) // 2])
    report = analyze([cut])
    assert 0 < report.totals["lines"] < 2000
    assert "truncated or corrupt" in report.warnings[0]
    proc = _cli(str(cut), "--csv")
    assert proc.returncode == 1
    assert b"warning:" in proc.stderr and b"Traceback" not in proc.stderr


def test_unreadable_file(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    f = tmp_path / "secret.log"
    f.write_text(_text(1))
    f.chmod(0)
    assert _cli(str(f)).returncode == 3
