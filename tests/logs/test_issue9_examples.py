"""Every line shape issue 9 reports as missed or misread, with the cause and phase it
must get (the replies it lists are in test_replies.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smtpdoctor.logs.events import EventKind
from smtpdoctor.logs.parser import parse_line

H = "Nov 27 23:10:01 mx postfix/smtp[123]: "


@pytest.mark.parametrize(
    ("line", "cause", "phase", "qid"),
    [
        (H + "A0F7BE2AA5: host mx.example.net[192.0.2.6] refused to talk to me: 554 5.7.1 "
         "Connection not authorized", "client_policy", "greeting", "A0F7BE2AA5"),
        (H + "78D6B41: conversation with mx00.example.com[192.0.2.4] timed out while "
         "receiving the initial server greeting", "greeting_timeout", "greeting", "78D6B41"),
        (H + "B99FE3D: lost connection with mx3.example.com[192.0.2.5] while receiving the "
         "initial server greeting", "connection_dropped", "greeting", "B99FE3D"),
        (H + "ED59C3D: host mail2.example.com[192.0.2.7] said: 450 4.7.1 <u@example.com>: "
         "Recipient address rejected: Greylisted for 5 minutes (in reply to RCPT TO command)",
         "greylisted", "rcpt", "ED59C3D"),
        (H + "D0F29603B4: SASL authentication failed; server xyz.example.com[192.0.2.8] said: "
         "535 5.7.8 Error: authentication failed: authentication failure", "auth_failed",
         "auth", "D0F29603B4"),
        (H + "connect to mx.example.com[192.0.2.4]:25: Operation timed out", "connect_timeout",
         "connect", ""),
        (H + "connect to mx.example.com[192.0.2.4]: read timeout (port 25)", "greeting_timeout",
         "greeting", ""),
        (H + "connect to mx.example.com[192.0.2.4]: server dropped connection without sending "
         "the initial SMTP greeting (port 25)", "connection_dropped", "greeting", ""),
        (H + "connect to mx.example.com[2001:db8::1]:25: Cannot assign requested address",
         "local_address", "connect", ""),
        ("Nov 27 23:10:01 mx mail.info postfix/smtp[123]: connect to mx.example.com"
         "[192.0.2.4]:25: Connection refused", "connect_refused", "connect", ""),
        (H + "certificate verification failed for mx.example.com[192.0.2.5]:25: self-signed "
         "certificate", "tls_cert_invalid", "starttls", ""),
        (H + "SSL_connect error to mx.example.com[192.0.2.5]:25: lost connection", "tls_failed",
         "starttls", ""),
        (H + "4ABC: to=<u@example.com>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.3, "
         "status=deferred (Host or domain name not found. Name service error for "
         "name=example.com type=MX: Malformed or unexpected name server reply)",
         "dns_servfail", "resolve", "4ABC"),
        ("2026-11-27 10:00:00 1r5XYZ-000ABC-DE == u@example.com R=dnslookup defer (-1): "
         "missing MX, or all MXs point to missing A records", "dns_no_address", "resolve",
         "1r5XYZ-000ABC-DE"),
        ("2026-11-27 10:00:00 1r5XYZ-000ABC-DE ** u@example.com: retry timeout exceeded",
         "retry_expired", None, "1r5XYZ-000ABC-DE"),
        ("Nov 27 10:00:31 mx sendmail[2102]: 4ARA01xA002101: to=<u@nx.example.com>, "
         "delay=00:00:00, mailer=esmtp, dsn=5.1.2, stat=Host unknown (Name server: "
         "nx.example.com: host not found)", "dns_nxdomain", "resolve", "4ARA01xA002101"),
        ("Nov 27 10:00:31 mx sm-msp-queue[2102]: 4ARA01xA002101: to=root, delay=00:00:30, "
         "mailer=relay, relay=[127.0.0.1], dsn=4.0.0, stat=Deferred: Connection refused by "
         "[127.0.0.1]", "connect_refused", "connect", "4ARA01xA002101"),
        ("<22>1 2026-11-27T23:10:01.123Z mx postfix/smtp 123 - - connect to mx.example.com"
         "[192.0.2.4]:25: Connection refused", "connect_refused", "connect", ""),
        ("2026-11-27 23:10:01 mx postfix/smtp[123]: connect to mx.example.com[192.0.2.4]:25: "
         "Connection refused", "connect_refused", "connect", ""),
        ("<22>Nov 27 23:10:01 mx postfix/smtp[123]: connect to mx.example.com[192.0.2.4]:25: "
         "Connection refused", "connect_refused", "connect", ""),
    ],
)  # fmt: skip
def test_line(line: str, cause: str, phase: str | None, qid: str) -> None:
    event = parse_line(line)
    assert event is not None
    assert (event.cause, event.phase, event.queue_id) == (cause, phase, qid)


def test_sendmail_server_side_timeout_is_inbound() -> None:
    event = parse_line(
        "Nov 27 10:00:31 mx sm-mta[2102]: 4ARA01xA002101: timeout waiting for input from "
        "client.example.net during server cmd read"
    )
    assert event is not None
    assert event.kind is EventKind.SERVER_TIMEOUT
    assert (event.cause, event.destination) == ("command_timeout", "client.example.net")


def test_delays_a_is_called_waiting_not_before_the_queue(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(
        H + "4ABC: to=<u@example.com>, relay=none, delay=3600, delays=3590/0.1/9/0, "
        "dsn=4.4.1, status=deferred (connect to mx.example.com[192.0.2.4]:25: Connection "
        "timed out)\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "logs", str(log), "--no-rotated"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    assert "waiting before delivery: arrival, deferred queue (a)" in out
    assert "before the queue (a)" not in out
