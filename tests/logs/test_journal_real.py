"""`smtpdoctor logs --journal` against a real systemd-journald.

journald runs here without systemd as PID 1: the test starts Debian's
systemd-journald in a private mount namespace (`unshare -m`, tmpfs over /run/systemd,
/run/log and /var/log/journal, so the machine's journal is untouched), writes mail
records into it with `logger --journald` (facility mail, as Postfix's syslog() calls
land there), and reads them back through journalctl. Everything ends with the shell:
journald is killed by its trap, the mounts vanish with the namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.netns]  # needs root for unshare -m and journald

JOURNALD = next(
    (p for p in ("/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald")
     if os.access(p, os.X_OK)),
    None,
)  # fmt: skip
REPO = Path(__file__).resolve().parents[2]

RECORDS = [
    "connect to mx.b.example[192.0.2.7]:25: Connection timed out",
    "9F1E2D3C4B: to=<a@b.example>, relay=none, delay=31, delays=0/0/31/0, dsn=4.4.1, "
    "status=deferred (connect to mx.b.example[192.0.2.7]:25: Connection timed out)",
    "8E1E2D3C4B: to=<c@d.example>, relay=mx.d.example[192.0.2.8]:25, delay=12, "
    "delays=0/0/2/10, dsn=4.4.2, status=deferred (conversation with "
    "mx.d.example[192.0.2.8] timed out while sending end of data -- message may be "
    "sent more than once)",
]

SCRIPT = """
set -e
mount -t tmpfs tmpfs /run/systemd 2>/dev/null || { mkdir -p /run/systemd; mount -t tmpfs tmpfs /run/systemd; }
mkdir -p /run/log /var/log/journal /run/systemd/journal
mount -t tmpfs tmpfs /run/log
mount -t tmpfs tmpfs /var/log/journal
"$JOURNALD" & J=$!
trap 'kill $J 2>/dev/null; wait $J 2>/dev/null || true' EXIT
i=0; while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
while IFS=' ' read -r pid msg; do
  printf 'MESSAGE=%s\\nSYSLOG_IDENTIFIER=postfix/smtp\\nSYSLOG_FACILITY=2\\nSYSLOG_PID=%s\\n' "$msg" "$pid" | logger --journald
done < "$RECORDS"
i=0; while [ "$(journalctl -q --no-pager SYSLOG_FACILITY=2 | wc -l)" -lt "$COUNT" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
cd "$REPO"
set +e
"$PYTHON" -m smtpdoctor logs --journal --json
echo "rc=$?" >&2
"""  # noqa: E501


@pytest.mark.skipif(JOURNALD is None, reason="no systemd-journald binary here")
@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="needs root")
def test_journal_mode_reads_a_real_journald(tmp_path: Path) -> None:
    records = tmp_path / "records"
    # One smtp process (pid) writes the failed address and then its status line.
    pids = (4242, 4242, 4243)
    records.write_text("".join(f"{pid} {r}\n" for pid, r in zip(pids, RECORDS, strict=True)))
    env = dict(
        os.environ, JOURNALD=str(JOURNALD), RECORDS=str(records), COUNT=str(len(RECORDS)),
        REPO=str(REPO), PYTHON=sys.executable,
    )  # fmt: skip
    proc = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "rc=1" in err.decode(), err.decode()
    doc = json.loads(out)
    assert doc["sources"] == ["journal"]
    found = {(g["destination"], g["cause"], g["phase"], g["relay"]) for g in doc["groups"]}
    assert found == {
        ("b.example", "connect_timeout", "connect", "mx.b.example[192.0.2.7]:25"),
        ("d.example", "data_timeout", "eod", "mx.d.example[192.0.2.8]:25"),
    }, doc["groups"]
    assert doc["totals"]["deferred"] == 2
