"""A small misbehaving SMTP server for tests and the fault lab.

One asyncio server with a ``mode`` that picks how it misbehaves (see ``MODES``). It
runs in-process in a background thread with its own event loop (``BadSMTPServer``,
a context manager) or as a script for use inside network namespaces::

    python -m tests.support.badsmtp --listen 127.0.0.1:2525 --mode slow-greeting --delay 6

The script prints the bound port on stdout line 1 and serves until SIGTERM/SIGINT.
Every connection task and the listening socket are closed on stop.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import signal
import ssl
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.support.certs import make_certs

MODES: tuple[str, ...] = (
    "normal",
    "no-greeting",
    "slow-greeting",
    "byte-per-second",
    "endless-line",
    "continuation-flood",
    "busy-421",
    "busy-554",
    "starttls-stall",
    "implicit-tls",
    "implicit-tls-stall",
    "stall-after",
    "slow-after",
    "greylist",
    "reject-rcpt",
    "drop-after",
    "no-starttls",
    "auth-only-after-tls",
    "tls-fail",
    "scripted",
)

# Commands `stall-after` and `drop-after` can name; EOD is the end-of-data dot.
AFTER_POINTS: tuple[str, ...] = ("CONNECT", "EHLO", "MAIL", "RCPT", "DATA", "EOD", "QUIT")

# Points the `scripted` mode answers with its own reply; CONNECT is the greeting.
SCRIPT_POINTS: tuple[str, ...] = ("CONNECT", "EHLO", "MAIL", "RCPT", "DATA", "EOD")

# A fatal TLS alert record (TLS 1.2 framing): handshake_failure (40).
_TLS_HANDSHAKE_FAILURE_ALERT = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])

_MAX_COMMAND_LINE = 4096
_MAX_MESSAGE = 10 * 1024 * 1024


@dataclass
class BadConfig:
    """How the server behaves.

    ``delay`` is the greeting delay for ``slow-greeting``, the pause of ``slow-after``
    and the interval between bytes for ``byte-per-second``; ``after`` is the command
    ``stall-after``, ``slow-after`` and ``drop-after`` act on (one of ``AFTER_POINTS``);
    ``tls`` is a server-side SSL context (needed for STARTTLS and the implicit-TLS modes);
    ``user``/``password``
    turn on AUTH PLAIN LOGIN.
    """

    mode: str = "normal"
    delay: float = 5.0
    after: str = "MAIL"
    tls: ssl.SSLContext | None = None
    user: str | None = None
    password: str | None = None
    hostname: str = "badsmtp.test"
    greeting_text: str = "ESMTP badsmtp"
    # `scripted`: point (SCRIPT_POINTS) -> (code, lines): that reply, as a real
    # multi-line reply when it has several lines, instead of the normal one.
    script: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; one of {', '.join(MODES)}")
        self.after = self.after.upper()
        if self.after not in AFTER_POINTS:
            raise ValueError(f"unknown point {self.after!r}; one of {', '.join(AFTER_POINTS)}")
        unknown = set(self.script) - set(SCRIPT_POINTS)
        if unknown:
            raise ValueError(f"unknown script point(s) {sorted(unknown)}")
        needs_tls = ("starttls-stall", "implicit-tls", "auth-only-after-tls")
        if self.mode in needs_tls and self.tls is None:
            raise ValueError(f"mode {self.mode} needs a TLS context")


@dataclass
class _Session:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    tls_active: bool = False
    authenticated: bool = False
    mail_from: str | None = None
    rcpts: list[str] = field(default_factory=list)


class _StopSessionError(Exception):
    """Ends one session quietly."""


class BadSMTP:
    """The asyncio server: ``await start()``, ``.port``, ``await stop()``."""

    def __init__(self, config: BadConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.host = host
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self.commands: list[str] = []  # every command line received (AUTH data redacted)

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Bind and listen."""
        ssl_ctx = self.config.tls if self.config.mode == "implicit-tls" else None
        self._server = await asyncio.start_server(
            self._on_connect,
            host=self.host,
            port=self._requested_port,
            ssl=ssl_ctx,
            reuse_address=True,
            # a client stuck before the handshake must not hold the server past stop()
            ssl_handshake_timeout=30.0 if ssl_ctx else None,
        )

    async def stop(self) -> None:
        """Close the listener and every connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        session = _Session(reader, writer, tls_active=self.config.mode == "implicit-tls")
        try:
            await self._serve(session)
        except (
            _StopSessionError,
            ConnectionError,
            ssl.SSLError,
            asyncio.IncompleteReadError,
            OSError,
        ):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._writers.discard(session.writer)
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                session.writer.transport.abort()
            self._tasks.discard(task)

    # -- the session ------------------------------------------------------------

    async def _write(self, session: _Session, data: bytes) -> None:
        session.writer.write(data)
        await session.writer.drain()

    async def _reply(self, session: _Session, text: str) -> None:
        await self._write(session, text.encode() + b"\r\n")

    async def _scripted(self, session: _Session, point: str) -> bool:
        """Send the scripted reply for POINT, if this server has one; True if sent."""
        if self.config.mode != "scripted" or point not in self.config.script:
            return False
        code, lines = self.config.script[point]
        last = len(lines) - 1
        text = "\r\n".join(
            f"{code}{'-' if i < last else ' '}{line}" for i, line in enumerate(lines)
        )
        await self._reply(session, text)
        return True

    async def _forever(self, session: _Session, read: bool = True) -> None:
        """Never answer again; read and discard (or not) until the peer goes away."""
        if not read:
            await asyncio.Event().wait()
        while await session.reader.read(65536):
            pass
        raise _StopSessionError

    async def _serve(self, session: _Session) -> None:  # noqa: PLR0912  (one branch per misbehaviour mode)
        cfg = self.config
        mode = cfg.mode
        if mode == "no-greeting":
            await self._forever(session)
        if mode == "implicit-tls-stall":
            await self._forever(session, read=False)
        if mode == "busy-421":
            await self._reply(session, "421 4.3.2 Too many connections, try again later")
            raise _StopSessionError
        if mode == "busy-554":
            await self._reply(session, "554 5.7.1 No SMTP service here")
            raise _StopSessionError
        if mode == "endless-line":
            chunk = b"x" * 16384
            await self._write(session, b"220 ")
            while True:
                await self._write(session, chunk)
        if mode == "continuation-flood":
            line = b"220-flood of continuation lines, never ending\r\n" * 256
            while True:
                await self._write(session, line)
        await self._checkpoint(session, "CONNECT")
        greeting = f"220 {cfg.hostname} {cfg.greeting_text}\r\n".encode()
        if mode == "slow-greeting":
            await asyncio.sleep(cfg.delay)
        if mode == "byte-per-second":
            long_greeting = f"220 {cfg.hostname} {'drip ' * 40}\r\n".encode()
            for index in range(len(long_greeting)):
                await self._write(session, long_greeting[index : index + 1])
                await asyncio.sleep(cfg.delay)
        elif not await self._scripted(session, "CONNECT"):
            await self._write(session, greeting)
        while True:
            command = await self._read_line(session)
            if command is None:
                raise _StopSessionError
            await self._command(session, command)

    async def _read_line(self, session: _Session) -> str | None:
        try:
            raw = await session.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError:
            await self._reply(session, "500 5.5.2 Line too long")
            raise _StopSessionError from None
        if len(raw) > _MAX_COMMAND_LINE:
            await self._reply(session, "500 5.5.2 Line too long")
            raise _StopSessionError
        return raw.rstrip(b"\r\n").decode("utf-8", errors="replace")

    async def _checkpoint(self, session: _Session, point: str) -> None:
        """Stall or drop here if the mode says so (before answering ``point``)."""
        if self.config.after != point:
            return
        if self.config.mode == "stall-after":
            await self._forever(session)
        if self.config.mode == "slow-after":
            await asyncio.sleep(self.config.delay)
        if self.config.mode == "drop-after":
            raise _StopSessionError

    def _capabilities(self, session: _Session) -> list[str]:
        cfg = self.config
        caps = ["PIPELINING", "SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES"]
        offers_starttls = (
            (cfg.tls is not None or cfg.mode == "tls-fail")
            and not session.tls_active
            and cfg.mode not in ("no-starttls", "implicit-tls")
        )
        if offers_starttls:
            caps.append("STARTTLS")
        has_auth = cfg.user is not None or cfg.mode == "auth-only-after-tls"
        if has_auth and (cfg.mode != "auth-only-after-tls" or session.tls_active):
            caps.append("AUTH PLAIN LOGIN")
        return caps

    async def _command(self, session: _Session, line: str) -> None:  # noqa: PLR0912, PLR0915  (one branch per misbehaviour mode)
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        self.commands.append(line if verb != "AUTH" else f"AUTH {arg.split(' ')[0]} ***")
        if verb in ("EHLO", "HELO"):
            await self._checkpoint(session, "EHLO")
            if await self._scripted(session, "EHLO"):
                return
            if verb == "HELO":
                await self._reply(session, f"250 {self.config.hostname}")
                return
            lines = [f"{self.config.hostname} greets {arg or 'you'}", *self._capabilities(session)]
            text = "\r\n".join(
                f"250{'-' if i < len(lines) - 1 else ' '}{item}" for i, item in enumerate(lines)
            )
            await self._reply(session, text)
        elif verb == "STARTTLS":
            await self._starttls(session)
        elif verb == "AUTH":
            await self._auth(session, arg)
        elif verb == "MAIL":
            await self._checkpoint(session, "MAIL")
            if await self._scripted(session, "MAIL"):
                return
            session.mail_from = arg
            session.rcpts = []
            await self._reply(session, "250 2.1.0 Ok")
        elif verb == "RCPT":
            await self._checkpoint(session, "RCPT")
            if session.mail_from is None:
                await self._reply(session, "503 5.5.1 Error: need MAIL command")
            elif await self._scripted(session, "RCPT"):
                return
            elif self.config.mode == "greylist":
                await self._reply(
                    session,
                    "450 4.2.0 <postmaster@localhost>: Recipient address rejected: "
                    "Greylisted, try again later",
                )
            elif self.config.mode == "reject-rcpt":
                await self._reply(
                    session,
                    "550 5.1.1 <nobody>: Recipient address rejected: "
                    "User unknown in local recipient table",
                )
            else:
                session.rcpts.append(arg)
                await self._reply(session, "250 2.1.5 Ok")
        elif verb == "DATA":
            await self._checkpoint(session, "DATA")
            if not session.rcpts:
                await self._reply(session, "503 5.5.1 Error: need RCPT command")
                return
            if await self._scripted(session, "DATA"):
                return
            await self._reply(session, "354 End data with <CR><LF>.<CR><LF>")
            await self._read_data(session)
            await self._checkpoint(session, "EOD")
            session.mail_from = None
            session.rcpts = []
            if not await self._scripted(session, "EOD"):
                await self._reply(session, "250 2.0.0 Ok: queued as BADSMTP1")
        elif verb == "RSET":
            session.mail_from = None
            session.rcpts = []
            await self._reply(session, "250 2.0.0 Ok")
        elif verb == "NOOP":
            await self._reply(session, "250 2.0.0 Ok")
        elif verb == "QUIT":
            await self._checkpoint(session, "QUIT")
            await self._reply(session, "221 2.0.0 Bye")
            raise _StopSessionError
        else:
            await self._reply(session, "502 5.5.2 Error: command not recognized")

    async def _read_data(self, session: _Session) -> None:
        size = 0
        while True:
            raw = await session.reader.readuntil(b"\n")
            size += len(raw)
            if raw in (b".\r\n", b".\n"):
                return
            if size > _MAX_MESSAGE:
                await self._reply(session, "552 5.3.4 Message too big")
                raise _StopSessionError

    async def _starttls(self, session: _Session) -> None:
        cfg = self.config
        if "STARTTLS" not in self._capabilities(session):
            await self._reply(session, "502 5.5.1 STARTTLS not available")
            return
        await self._reply(session, "220 2.0.0 Ready to start TLS")
        if cfg.mode == "starttls-stall":
            await self._forever(session, read=False)
        if cfg.mode == "tls-fail":
            # answer the ClientHello with a fatal alert: the handshake cannot agree
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(session.reader.read(16384), 5.0)
            await self._write(session, _TLS_HANDSHAKE_FAILURE_ALERT)
            raise _StopSessionError
        assert cfg.tls is not None
        await session.writer.start_tls(cfg.tls, ssl_handshake_timeout=30.0)
        session.tls_active = True
        session.mail_from = None
        session.rcpts = []

    async def _auth(self, session: _Session, arg: str) -> None:
        cfg = self.config
        if "AUTH PLAIN LOGIN" not in self._capabilities(session):
            await self._reply(session, "503 5.5.1 Error: authentication not enabled")
            return
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        if mech == "PLAIN":
            if not initial:
                await self._reply(session, "334 ")
                initial = (await self._read_line(session)) or ""
            user, password = _decode_plain(initial)
        elif mech == "LOGIN":
            await self._reply(session, "334 VXNlcm5hbWU6")
            user = _b64(await self._read_line(session) or "")
            await self._reply(session, "334 UGFzc3dvcmQ6")
            password = _b64(await self._read_line(session) or "")
        else:
            await self._reply(session, "504 5.5.4 Unrecognized authentication type")
            return
        if cfg.user is not None and user == cfg.user and password == cfg.password:
            session.authenticated = True
            await self._reply(session, "235 2.7.0 Authentication successful")
        else:
            await self._reply(session, "535 5.7.8 Error: authentication failed")


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
    except ValueError:
        return ""


def _decode_plain(text: str) -> tuple[str, str]:
    parts = _b64(text).split("\0")
    if len(parts) != 3:
        return "", ""
    return parts[1], parts[2]


class _LoopThread:
    """An event loop in a background thread: start() returns once _startup() is done
    (or raises what it raised), stop() ends the loop after _shutdown()."""

    _ready_timeout = 10.0

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopped = False

    async def _startup(self) -> None:
        raise NotImplementedError

    async def _shutdown(self) -> None:
        raise NotImplementedError

    async def _abandon(self) -> None:
        """Clean up after a failed _startup()."""

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._startup())
        except BaseException as exc:  # handed to the starting thread
            self._error = exc
            self._loop.run_until_complete(self._abandon())
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._shutdown())
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    def start(self) -> Self:
        """Start; returns when listening."""
        self._thread.start()
        self._ready.wait(self._ready_timeout)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        """Stop and wait for the thread (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class BadSMTPServer(_LoopThread):
    """A BadSMTP running in a background thread with its own event loop.

    Use as a context manager: ``with BadSMTPServer(BadConfig(mode="busy-421")) as s:``
    then connect to ``s.host``/``s.port``. Leaving the block stops it and closes
    every connection.
    """

    def __init__(self, config: BadConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = BadSMTP(config, host, port)
        super().__init__("badsmtp")

    @property
    def host(self) -> str:
        """The address listened on."""
        return self.server.host

    @property
    def port(self) -> int:
        """The bound port."""
        return self.server.port

    @property
    def target(self) -> str:
        """``host:port`` (IPv6 in brackets), as a command line takes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def _startup(self) -> None:
        await self.server.start()

    async def _shutdown(self) -> None:
        await self.server.stop()


class BadSMTPFleet(_LoopThread):
    """Many BadSMTP servers, one per config, on one event loop in one background
    thread: ``with BadSMTPFleet(configs) as fleet:`` then ``fleet.ports[i]`` serves
    ``configs[i]``. Leaving the block stops every server and connection."""

    _ready_timeout = 30.0

    def __init__(self, configs: list[BadConfig], host: str = "127.0.0.1") -> None:
        self.servers = [BadSMTP(config, host) for config in configs]
        self.host = host
        super().__init__("badsmtp-fleet")

    @property
    def ports(self) -> list[int]:
        """The bound port of each server, in the order of the configs."""
        return [server.port for server in self.servers]

    async def _startup(self) -> None:
        for server in self.servers:
            await server.start()

    async def _shutdown(self) -> None:
        await asyncio.gather(*(server.stop() for server in self.servers))

    async def _abandon(self) -> None:
        await self._shutdown()


@contextlib.contextmanager
def running(config: BadConfig, host: str = "127.0.0.1", port: int = 0) -> Iterator[BadSMTPServer]:
    """Context manager form: yields a started server, stops it on exit."""
    server = BadSMTPServer(config, host, port)
    with server:
        yield server


# -- the script ------------------------------------------------------------------


def _parse_listen(text: str) -> tuple[str, int]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or "0"
    else:
        host, _, port = text.rpartition(":")
        if not host:
            host, port = text, "0"
    return host, int(port)


def _script_tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if args.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
        return ctx
    if args.mode in ("starttls-stall", "implicit-tls", "auth-only-after-tls", "tls-fail") or (
        args.mode in ("normal", "stall-after", "drop-after", "greylist", "reject-rcpt")
        and args.ca_out
    ):
        certs = make_certs(Path(tempfile.mkdtemp(prefix="badsmtp-certs-")))
        if args.ca_out:
            Path(args.ca_out).write_bytes(certs.ca_pem.read_bytes())
        return certs.server_context("valid")
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the server until SIGTERM/SIGINT; print the port first."""
    parser = argparse.ArgumentParser(prog="badsmtp", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:0", help="ADDRESS:PORT or [V6]:PORT")
    parser.add_argument("--mode", default="normal", choices=MODES)
    parser.add_argument("--delay", type=float, default=5.0)
    parser.add_argument(
        "--after", default="MAIL", choices=[*AFTER_POINTS, *map(str.lower, AFTER_POINTS)]
    )
    parser.add_argument("--cert", help="PEM certificate chain (default: made with trustme)")
    parser.add_argument("--key", help="PEM private key for --cert")
    parser.add_argument("--ca-out", help="write the CA of the generated certificate here")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--hostname", default="badsmtp.test")
    args = parser.parse_args(argv)
    try:
        host, port = _parse_listen(args.listen)
        config = BadConfig(
            mode=args.mode,
            delay=args.delay,
            after=args.after,
            tls=_script_tls(args),
            user=args.user,
            password=args.password,
            hostname=args.hostname,
        )
    except (ValueError, OSError) as exc:
        print(f"badsmtp: error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_serve_script(config, host, port))


async def _serve_script(config: BadConfig, host: str, port: int) -> int:
    server = BadSMTP(config, host, port)
    try:
        await server.start()
    except OSError as exc:
        print(f"badsmtp: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    print(server.port, flush=True)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    await done.wait()
    await server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
