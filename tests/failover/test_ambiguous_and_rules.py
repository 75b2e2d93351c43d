"""Ambiguous end-of-data lines counted per relay; the shipped alert rules."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from smtpdoctor.failover.alerts import RULES
from smtpdoctor.failover.ambiguous import AmbiguousCounter, match_relay

REPO = Path(__file__).resolve().parents[2]
ADDRESSES = {
    "192.0.2.8": "primary",
    "192.0.2.8:25": "primary",
    "relay2.example.net": "backup",
    "relay2.example.net:587": "backup",
}
# Postfix's wording (smtp_proto.c, smtp_stream_except + "-- message may be sent more than
# once"), as in the published Postfix log the logs tests replay.
POSTFIX_LINE = (
    "Dec  1 14:00:01 host postfix/smtp[4242]: 8E1E2D3C4B: to=<c@d.example>, "
    "relay=mx.d.example[192.0.2.8]:25, delay=12, delays=0/0/2/10, dsn=4.4.2, "
    "status=deferred (conversation with mx.d.example[192.0.2.8] timed out while sending "
    "end of data -- message may be sent more than once)"
)
# Exim's wording (transports/smtp.c: "SMTP timeout after end of data").
EXIM_LINE = (
    "2026-12-01 14:00:02 1vQ7x2-000A1b-3C == c@d.example R=smarthost T=remote_smtp "
    "defer (-46) H=relay2.example.net [198.51.100.7]: SMTP timeout after end of data "
    "(1234 bytes written)"
)


def test_postfix_line_maps_to_relay_by_address() -> None:
    assert match_relay(POSTFIX_LINE, ADDRESSES) == "primary"


def test_other_timeouts_are_not_ambiguous() -> None:
    line = POSTFIX_LINE.replace("end of data -- message may be sent more than once", "MAIL FROM")
    assert match_relay(line, ADDRESSES) is None


def test_exim_line_unknown_address_is_not_counted() -> None:
    assert match_relay(EXIM_LINE, ADDRESSES) is None
    assert match_relay(EXIM_LINE, {"198.51.100.7": "backup"}) == "backup"


def test_counter_reads_only_what_was_appended_and_survives_rotation(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(POSTFIX_LINE + "\n" + "unrelated line\n")
    counter = AmbiguousCounter(log, ADDRESSES)
    assert counter.poll({}) == {"primary": 1}
    assert counter.poll({}) == {}
    with open(log, "a") as handle:
        handle.write(POSTFIX_LINE + "\n" + POSTFIX_LINE[:40])  # a half-written last line
    assert counter.poll({}) == {"primary": 1}
    with open(log, "a") as handle:
        handle.write(POSTFIX_LINE[40:] + "\n")
    assert counter.poll({}) == {"primary": 1}  # counted once, when it is complete
    assert counter.poll({}) == {}
    log.write_text(POSTFIX_LINE + "\n")  # rotated: smaller than the offset
    assert counter.poll({}) == {"primary": 1}


def test_packaged_rules_equal_the_printed_ones_and_pass_promtool() -> None:
    packaged = REPO / "packaging/prometheus/smtpdoctor-failover.rules.yml"
    assert packaged.read_text() == RULES
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed")
    out = subprocess.run(
        [promtool, "check", "rules", str(packaged)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "SUCCESS: 4 rules found" in out.stdout
