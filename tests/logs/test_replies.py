"""The real-reply table (tests/data/replies.tsv: providers' published error references,
MTA and greylisting daemon sources) through the one reply classifier, and the same
replies written as Postfix and Exim log lines through `smtpdoctor logs`: every row must
get its expected cause both ways.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.parser import parse_line
from smtpdoctor.phases import Phase
from smtpdoctor.replies import classify_reply, classify_reply_text, split_reply

DATA = Path(__file__).resolve().parents[1] / "data"
ROWS = [
    tuple(line.split("\t"))
    for line in (DATA / "replies.tsv").read_text().splitlines()
    if line and not line.startswith("#")
]
FAILURES = [r for r in ROWS if r[4] != "ok"]
# Postfix's "(in reply to X command)" and Exim's "after X" per phase.
POSTFIX_CMD = {"ehlo": "EHLO", "mail": "MAIL FROM", "rcpt": "RCPT TO", "data": "DATA",
               "eod": "end of DATA", "starttls": "STARTTLS"}  # fmt: skip
EXIM_CMD = {"greeting": "initial connection", "ehlo": "EHLO mx.example.org",
            "mail": "MAIL FROM:<s@example.org>", "rcpt": "RCPT TO:<u@example.com>",
            "data": "DATA", "eod": "end of data"}  # fmt: skip


def _reply(code: str, enhanced: str, text: str) -> str:
    return " ".join(p for p in (code, enhanced, text) if p)


def _postfix_line(n: int, row: tuple[str, ...]) -> str:
    code, enhanced, text, phase, _, _ = row
    reply = _reply(code, enhanced, text)
    relay = f"mx.r{n}.example.com[192.0.2.{n % 250 + 1}]"
    if phase == "greeting":
        reason = f"host {relay} refused to talk to me: {reply}"
    else:
        reason = f"host {relay} said: {reply} (in reply to {POSTFIX_CMD[phase]} command)"
    status = "bounced" if code.startswith("5") else "deferred"
    return (
        f"Nov 27 10:{n // 60:02d}:{n % 60:02d} mx postfix/smtp[{1000 + n}]: {0xA000 + n:X}: "
        f"to=<u@r{n}.example.com>, relay={relay}:25, delay=1, delays=0/0/0.5/0.5, "
        f"dsn={enhanced or code[0] + '.0.0'}, status={status} ({reason})"
    )


def _exim_line(n: int, row: tuple[str, ...]) -> str:
    code, enhanced, text, phase, _, _ = row
    flag = "**" if code.startswith("5") else "=="
    defer = "" if flag == "**" else " defer (-44)"
    return (
        f"2026-11-27 10:00:00 1r5XYZ-000ABC-DE {flag} u@r{n}.example.com R=dnslookup "
        f"T=remote_smtp{defer} H=mx.r{n}.example.com [192.0.2.10]: SMTP error from remote mail "
        f"server after {EXIM_CMD[phase]}: {_reply(code, enhanced, text)}"
    )


def test_the_table_is_large_and_covers_every_new_code() -> None:
    assert len(ROWS) >= 60
    expected = {r[4] for r in ROWS}
    wanted = {"rate_limited", "blocklisted", "client_policy", "mailbox_full", "recipient_unknown",
              "remote_error", "greylisted", "server_busy", "rejected"}  # fmt: skip
    assert wanted <= expected


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r[0]}-{r[4]}-{r[2][:24]}")
def test_classifier(row: tuple[str, ...]) -> None:
    code, enhanced, text, phase, expected, _ = row
    assert classify_reply(int(code), enhanced, text, Phase(phase)) == CauseCode(expected)
    # The same reply as a log quotes it, split again.
    assert classify_reply_text(_reply(code, enhanced, text), Phase(phase)) == CauseCode(expected)


@pytest.mark.parametrize("row", FAILURES, ids=lambda r: f"{r[0]}-{r[4]}-{r[2][:24]}")
def test_exim_log_line(row: tuple[str, ...]) -> None:
    event = parse_line(_exim_line(1, row))
    assert event is not None and event.cause == CauseCode(row[4])
    assert event.phase == Phase(row[3])


def logs_groups(log: Path, rows: Iterable[tuple[int, tuple[str, ...]]]) -> list[dict[str, Any]]:
    """The groups of `smtpdoctor logs --json` for (n, row) pairs written to log as Postfix
    lines (row n to rn.example.com); the command must find problems (exit 1)."""
    log.write_text("".join(_postfix_line(n, r) + "\n" for n, r in rows))
    out = subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", str(log), "--json", "--no-rotated"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1, out.stderr
    groups: list[dict[str, Any]] = json.loads(out.stdout)["groups"]
    return groups


def test_postfix_log_lines_through_the_command(tmp_path: Path) -> None:
    groups = logs_groups(tmp_path / "mail.log", enumerate(FAILURES))
    got = {g["destination"]: (g["cause"], g["phase"], g["count"]) for g in groups}
    want = {f"r{n}.example.com": (r[4], r[3], 1) for n, r in enumerate(FAILURES)}
    assert got == want


def test_split_reply() -> None:
    assert split_reply("550-5.7.1 a 550-5.7.1 b 550 5.7.1 c") == (
        550,
        "5.7.1",
        "a 550-5.7.1 b 550 5.7.1 c",
    )
    assert split_reply("421 busy") == (421, "", "busy")
    assert split_reply("no code") == (0, "", "no code")


def test_the_issue_examples() -> None:
    """The replies issue 9 names, each with the cause it must get."""
    # fmt: off
    cases = [
        (421, "4.7.28", "unusual rate of unsolicited mail", Phase.RCPT, "rate_limited"),
        (450, "4.2.1", "receiving mail at a rate", Phase.RCPT, "rate_limited"),
        (450, "4.7.1", "Client host rejected: cannot find your hostname", Phase.RCPT,
         "client_policy"),
        (451, "4.3.5", "Server configuration problem", Phase.RCPT, "remote_error"),
        (554, "", "Bad DNS PTR resource record", Phase.GREETING, "client_policy"),
        (554, "5.7.1", "Service unavailable; blocked using zen.spamhaus.org", Phase.GREETING,
         "blocklisted"),
        (550, "5.7.26", "DMARC policy of the sender domain", Phase.EOD, "client_policy"),
        (450, "", "user unknown", Phase.RCPT, "recipient_unknown"),
        (452, "", "over quota", Phase.RCPT, "mailbox_full"),
        (552, "5.2.2", "Mailbox full", Phase.RCPT, "mailbox_full"),
        (421, "", "Too many connections", Phase.GREETING, "server_busy"),
        (450, "4.7.1", "try again later", Phase.RCPT, "greylisted"),
        (451, "4.7.1", "Please try again later, greylisted", Phase.RCPT, "greylisted"),
        # Gmail's UnsolicitedIPError (tests/data/logs/postfix-issues.log): a block, not a rate
        (550, "5.7.1", "Our system has detected an unusual rate of unsolicited mail originating "
         "from your IP address. To protect our users from spam, mail sent from your IP address "
         "has been blocked.", Phase.EOD, "blocklisted"),
        # sendmail's relay could not write its queue file: its own problem, not load
        (421, "4.3.0", "collect: Cannot write ./dfk67GY7lH016365 (bfcommit, uid=0, gid=122): "
         "No such file or directory", Phase.EOD, "remote_error"),
    ]
    # fmt: on
    for code, enhanced, text, phase, expected in cases:
        assert classify_reply(code, enhanced, text, phase) == CauseCode(expected), text
