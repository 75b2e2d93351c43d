"""journald as a source: `journalctl -o json` records turned back into syslog lines."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

# Mail facility (LOG_MAIL = 2): Postfix, Exim, Sendmail and OpenSMTPD all log there.
MAIL_FACILITY = "SYSLOG_FACILITY=2"


class JournalUnavailableError(Exception):
    """journalctl is missing or failed."""


def _text(value: Any) -> str:
    if isinstance(value, list):  # journald sends non-UTF-8 fields as byte arrays
        return bytes(v for v in value if isinstance(v, int) and 0 <= v < 256).decode(
            "utf-8", "replace"
        )
    return str(value) if value is not None else ""


def record_to_line(record: dict[str, Any]) -> str | None:
    """One journal JSON record as `RFC3339 host ident[pid]: message`, or None."""
    message = _text(record.get("MESSAGE"))
    if not message:
        return None
    try:
        micros = int(record.get("__REALTIME_TIMESTAMP", "0"))
    except (TypeError, ValueError):
        return None
    stamp = datetime.fromtimestamp(micros / 1e6, UTC).isoformat()
    host = _text(record.get("_HOSTNAME")) or "localhost"
    ident = _text(record.get("SYSLOG_IDENTIFIER")) or _text(record.get("_COMM")) or "unknown"
    pid = _text(record.get("SYSLOG_PID")) or _text(record.get("_PID"))
    tag = f"{ident}[{pid}]" if pid else ident
    return f"{stamp} {host} {tag}: {message}"


def journal_command(since: str | None, follow: bool, unit: tuple[str, ...] = ()) -> list[str]:
    """The journalctl command line that streams mail records as JSON."""
    exe = shutil.which("journalctl")
    if exe is None:
        raise JournalUnavailableError("journalctl not found (is this a systemd machine?)")
    cmd = [exe, "-o", "json", "--no-pager", "-q"]
    if since:
        cmd += ["--since", since]
    if follow:
        cmd.append("--follow")
    for u in unit:
        cmd += ["-u", u]
    if not unit:
        cmd.append(MAIL_FACILITY)
    return cmd


def iter_journal(since: str | None = None, follow: bool = False) -> Iterator[str]:
    """Syslog-shaped lines from journald (mail facility)."""
    import subprocess  # here: `logs FILE` never needs it, and it costs 3 ms to import

    cmd = journal_command(since, follow)
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise JournalUnavailableError(f"cannot run journalctl: {exc}") from None
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict):
                line = record_to_line(record)
                if line is not None:
                    yield line
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=5)
        err = proc.stderr.read().decode("utf-8", "replace").strip() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        proc.stdout.close()
    if proc.returncode not in (0, -15) and err:
        raise JournalUnavailableError(f"journalctl failed: {err.splitlines()[0]}")
