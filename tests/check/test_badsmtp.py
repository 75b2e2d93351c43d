"""The misbehaving server itself: each mode does what the cause tests rely on."""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.check.helpers import REPO, BadFactory
from tests.support.certs import CertSet


def test_normal_mode_speaks_smtp_with_starttls_and_auth(bad: BadFactory, certs: CertSet) -> None:
    server = bad("normal", cert="valid", user="u", password="p")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert client.has_extn("starttls") and client.has_extn("pipelining")
        client.starttls(context=certs.client_context())
        client.ehlo()
        client.login("u", "p")
        assert client.sendmail("a@example.org", ["b@example.org"], "Subject: x\r\n\r\nhi") == {}
    assert "AUTH PLAIN ***" in server.server.commands  # smtplib prefers PLAIN to LOGIN


def test_stall_after_mail_never_answers(bad: BadFactory) -> None:
    server = bad("stall-after", after="MAIL")
    with smtplib.SMTP(server.host, server.port, timeout=1) as client:
        client.ehlo()
        with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
            client.mail("a@example.org")


def test_endless_line_keeps_writing(bad: BadFactory) -> None:
    server = bad("endless-line")
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        got = 0
        while got < 5_000_000:
            chunk = sock.recv(1 << 20)
            assert chunk and b"\n" not in chunk
            got += len(chunk)


def test_stop_closes_connections_and_listener(bad: BadFactory) -> None:
    server = bad("no-greeting")
    port = server.port
    threads_before = threading.active_count()
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    time.sleep(0.1)
    server.stop()
    sock.settimeout(5)
    assert sock.recv(1) == b""  # the server side was closed
    sock.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert threading.active_count() <= threads_before - 1


def test_script_prints_the_port_first() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.badsmtp", "--listen", "127.0.0.1:0",
         "--mode", "busy-421"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            assert sock.recv(100).startswith(b"421 ")
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
