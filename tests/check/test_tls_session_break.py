"""A TLS error after the handshake: reported as what it is, in the phase where it struck.

Before issue 8, an ssl.SSLError while sending a command was mapped as a failed TLS
*handshake* ("The TLS handshake failed") and the same error while reading as a plain
close. The server here completes STARTTLS, then answers MAIL with a forged TLS record
(a bad MAC), which real TLS stacks reject with a fatal error.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest

from smtpdoctor.net.connection import open_tcp
from smtpdoctor.net.errors import ConnectionClosed, ErrorKind, NetError, NetOp, TlsError, map_error
from smtpdoctor.net.tls import client_context
from tests.check.helpers import check
from tests.support.certs import CertSet

# An application-data record header (TLS 1.2 framing, which 1.3 keeps) and junk instead
# of ciphertext: the client's TLS layer fails it with a fatal "bad record mac".
FORGED_RECORD = b"\x17\x03\x03\x00\x40" + os.urandom(64)


class BreakingServer:
    """STARTTLS, then a forged record instead of the reply to BREAK_ON (or at once)."""

    def __init__(self, context: ssl.SSLContext, break_on: bytes | None) -> None:
        self.context = context
        self.break_on = break_on
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.closing = threading.Event()

    def start(self) -> BreakingServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        self.listener.close()
        self.thread.join(5)

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.closing.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            try:
                self._session(conn)
            except OSError:
                pass
            finally:
                conn.close()

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.sendall(b"220 break.test ESMTP\r\n")
        _read_line(conn)  # EHLO
        conn.sendall(b"250-break.test\r\n250 STARTTLS\r\n")
        _read_line(conn)  # STARTTLS
        conn.sendall(b"220 go ahead\r\n")
        tls = self.context.wrap_socket(conn, server_side=True)
        if self.break_on is None:
            conn.sendall(FORGED_RECORD)  # the raw socket: under the TLS layer
            _drain(tls)
            return
        while True:
            line = _read_line(tls)
            if not line or line.upper().startswith(self.break_on):
                break
            tls.sendall(b"250 ok\r\n")
        os.write(tls.fileno(), FORGED_RECORD)
        _drain(tls)


def _read_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(4096):
            pass
    except (OSError, ssl.SSLError):
        pass


@pytest.fixture
def breaking(certs: CertSet) -> Iterator[type[BreakingServer]]:
    started: list[BreakingServer] = []

    class Started(BreakingServer):
        def __init__(self, break_on: bytes | None) -> None:
            super().__init__(certs.server_context("valid"), break_on)
            started.append(self)
            self.start()

    yield Started
    for server in started:
        server.stop()


def test_tls_error_while_waiting_for_the_mail_reply(
    breaking: type[BreakingServer], certs: CertSet
) -> None:
    server = breaking(b"MAIL")
    run = check(f"127.0.0.1:{server.port}", "--cafile", str(certs.ca_pem), "--helo", "t.test")
    assert run.returncode == 1
    phase = run.phase("mail")
    assert phase["status"] == "tls_error"
    assert phase["detail"].startswith("TLS error while reading: ")
    assert run.phase("starttls")["status"] == "ok"
    assert run.codes == ["connection_dropped"]
    cause = run.cause("connection_dropped")
    assert cause["phase"] == "mail"
    assert cause["severity"] == "error"
    assert cause["summary"].startswith(
        f"The TLS session with 127.0.0.1:{server.port} broke during MAIL FROM: "
        "TLS error while reading: "
    )


def test_write_after_a_fatal_tls_error_is_a_close_during_the_write(
    breaking: type[BreakingServer],
) -> None:
    """The forged record arrives while the client is idle: the TLS layer closes the
    connection, and the next write fails as a close of the session (not a handshake)."""
    server = breaking(None)

    async def session() -> NetError:
        conn = await open_tcp("127.0.0.1", server.port, 5)
        await conn.read_some(5)
        await conn.write(b"EHLO t.test\r\n", 5)
        await conn.read_some(5)
        await conn.write(b"STARTTLS\r\n", 5)
        await conn.read_some(5)
        await conn.start_tls(client_context(verify=False), None, 5)
        await asyncio.sleep(0.5)  # the forged record arrives and fails the TLS layer
        try:
            await conn.write(b"MAIL FROM:<>\r\n", 5)
        except NetError as exc:
            return exc
        finally:
            conn.abort()
        raise AssertionError("the write after a fatal TLS error succeeded")

    error = asyncio.run(session())
    assert type(error) is ConnectionClosed
    assert error.op is NetOp.WRITE
    assert str(error) == "write: Connection lost"


def test_tls_error_on_a_write_maps_to_a_session_error() -> None:
    """What the OpenSSL layer raises under a write is a TLS error of the write."""
    exc = ssl.SSLError(1, "[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] bad record mac")
    exc.reason = "DECRYPTION_FAILED_OR_BAD_RECORD_MAC"
    error = map_error(exc, NetOp.WRITE, 5)
    assert type(error) is TlsError
    assert (error.op, error.kind) == (NetOp.WRITE, ErrorKind.TLS_ERROR)
    assert str(error) == "TLS error while writing: DECRYPTION_FAILED_OR_BAD_RECORD_MAC"
