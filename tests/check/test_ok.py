"""A healthy server: verdict ok, every phase recorded, secrets kept out of the output."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from tests.check.helpers import BadFactory, check, run_smtpdoctor, transcript_text
from tests.support.certs import CertSet
from tests.support.servers import TEST_PASSWORD, TEST_USER, GoodSMTP


def test_healthy_server_with_starttls_and_auth(
    good: GoodSMTP, certs: CertSet, password_file: Callable[[str], Path]
) -> None:
    run = check(
        good.target,
        "--cafile", str(certs.ca_pem),
        "--user", TEST_USER,
        "--password-file", str(password_file(TEST_PASSWORD)),
        "--timeout", "command=5",
    )  # fmt: skip
    assert run.returncode == 0, run.describe()
    assert run.doc["verdict"] == "ok"
    assert [c for c in run.doc["causes"] if c["severity"] != "info"] == []
    assert run.doc["ports"] == [good.port]
    assert run.doc["timeouts"]["mail"] == 5
    assert run.doc["timeouts"]["rcpt"] == 5
    ep = run.endpoint
    assert (ep["address"], ep["port"], ep["family"]) == ("127.0.0.1", good.port, "IPv4")
    assert ep["status"] == "ok" and ep["failed_phase"] is None
    names = [p["phase"] for p in ep["phases"]]
    for needed in ("connect", "greeting", "ehlo", "starttls", "auth", "mail", "rcpt"):
        assert needed in names, names
    assert names.index("starttls") < names.index("auth") < names.index("mail")
    assert names.count("ehlo") == 2  # before STARTTLS and again inside TLS
    assert run.phase("greeting")["reply"]["code"] == 220
    assert run.phase("auth")["reply"]["code"] == 235
    assert run.phase("rcpt")["reply"]["code"] == 250
    assert all(p["status"] == "ok" for p in ep["phases"])
    assert "AUTH" in {k.upper() for k in ep["capabilities"]}
    tls = ep["tls"]
    assert tls is not None and tls["verified"] is True and tls["verify_error"] is None
    assert tls["version"].startswith("TLS")
    assert tls["chain"] and tls["chain"][0]["days_left"] > 0
    text = transcript_text(run)
    assert "STARTTLS" in text
    assert "RSET" in text.upper() and "QUIT" in text.upper()
    # the password never appears, not even base64-encoded in the AUTH line
    secrets = [
        TEST_PASSWORD,
        base64.b64encode(TEST_PASSWORD.encode()).decode().rstrip("="),
        base64.b64encode(f"\0{TEST_USER}\0{TEST_PASSWORD}".encode()).decode().rstrip("="),
    ]
    for secret in secrets:
        assert secret not in run.stdout + run.stderr
    assert good.mailbox.messages == []  # no --send: nothing was delivered


def test_send_delivers_one_message(good: GoodSMTP, certs: CertSet) -> None:
    run = check(
        good.target,
        "--cafile", str(certs.ca_pem),
        "--send", "--from", "probe@example.org", "--to", "someone@example.net",
    )  # fmt: skip
    assert run.doc["verdict"] == "ok", run.describe()
    for phase in ("data", "body", "eod"):
        assert run.phase(phase)["status"] == "ok"
    assert run.phase("eod")["reply"]["code"] == 250
    assert len(good.mailbox.messages) == 1
    envelope = good.mailbox.messages[0]
    assert envelope.mail_from == "probe@example.org"
    assert envelope.rcpt_tos == ["someone@example.net"]


def test_default_envelope_is_null_sender_and_postmaster(bad: BadFactory) -> None:
    server = bad("normal")
    run = check(server.target)
    assert run.doc["verdict"] == "ok", run.describe()
    commands = [c.upper() for c in server.server.commands]
    assert any(c.startswith("MAIL FROM:<>") for c in commands), commands
    assert any(c.startswith("RCPT TO:<POSTMASTER@") for c in commands), commands
    assert any(c.startswith("QUIT") for c in commands), commands
    assert not any(c.startswith("DATA") for c in commands), commands


def test_helo_name_is_used(bad: BadFactory) -> None:
    server = bad("normal")
    run = check(server.target, "--helo", "probe.example.org")
    assert run.doc["verdict"] == "ok", run.describe()
    assert "EHLO probe.example.org" in server.server.commands


def test_ipv6_loopback(bad: BadFactory) -> None:
    server = bad("normal", host="::1")
    run = check(server.target)
    assert run.doc["verdict"] == "ok", run.describe()
    assert run.endpoint["family"] == "IPv6"
    assert run.endpoint["address"] == "::1"


def test_terminal_report_plain_text(bad: BadFactory) -> None:
    server = bad("normal")
    run = run_smtpdoctor("check", server.target, "-v")
    assert run.returncode == 0, run.describe()
    lines = run.stdout.strip().splitlines()
    assert lines and "ok" in lines[0].lower(), run.stdout
    assert "\x1b[" not in run.stdout  # stdout is a pipe: no colour codes
    assert "EHLO" in run.stdout  # -v puts the transcript in the report
