"""A lab relay that records each message's Message-ID and arrival time, and can misbehave.

Runs as a script (inside a network namespace with `ip netns exec`)::

    python -m tests.support.relay_recorder --listen 192.0.2.10:25 --name primary \\
        --record /tmp/primary.jsonl --fault-file /tmp/primary.fault [--tls-dir DIR]

It prints "ready" on stdout once it listens. Each message is one JSON line in the
record file: {"relay", "mid", "rcpts", "t" (epoch seconds at the final dot), "acked"}. The fault
file is read at every step, so a test or bench switches faults at run time:

- absent or empty: a normal relay (STARTTLS offered when --tls-dir is given);
- "tls": STARTTLS is answered with 220 and then the handshake never happens;
- "eod": the message is received (recorded with acked=false) and the final dot is
  never answered: the ambiguous end of data;
- "greylist": every RCPT gets 450 4.2.0 greylisted (a recipient-side cause).

Every connection is closed and the socket released on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import ssl
import sys
import time
from pathlib import Path

from tests.support.certs import make_certs

_MID = re.compile(rb"^message-id:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_MAX_LINE = 4096
_MAX_MESSAGE = 1024 * 1024


class Relay:
    """One recording relay."""

    def __init__(
        self, name: str, record: Path, fault_file: Path, tls: ssl.SSLContext | None
    ) -> None:
        self.name = name
        self.record = open(record, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        self.fault_file = fault_file
        self.tls = tls
        self.tasks: set[asyncio.Task[None]] = set()

    def fault(self) -> str:
        try:
            return self.fault_file.read_text().strip()
        except OSError:
            return ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # shutting down: the session ends with the server
        finally:
            self.tasks.discard(task)
            writer.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, reader, writer)
        await session.say(f"220 {self.name}.lab.test ESMTP recorder")
        while True:
            raw = await reader.readline()
            if not raw:
                return
            line = raw[:_MAX_LINE].decode(errors="replace").strip()
            verb = line.split(" ", 1)[0].upper()
            if not await session.command(verb, line):
                return

    async def _read_data(self, reader: asyncio.StreamReader) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = await reader.readline()
            if not line or line in (b".\r\n", b".\n"):
                break
            size += len(line)
            if size <= _MAX_MESSAGE:
                chunks.append(line)
        return b"".join(chunks)

    def _write(self, mid: str | None, rcpts: list[str], acked: bool) -> None:
        entry = {"relay": self.name, "mid": mid, "rcpts": rcpts, "t": time.time(), "acked": acked}
        self.record.write(json.dumps(entry) + "\n")


class _Session:
    """One client's conversation with a Relay: a handler per verb."""

    def __init__(self, relay: Relay, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.relay = relay
        self.reader = reader
        self.writer = writer
        self.tls_on = False
        self.rcpts: list[str] = []

    async def say(self, line: str) -> None:
        self.writer.write(line.encode() + b"\r\n")
        await self.writer.drain()

    async def command(self, verb: str, line: str) -> bool:
        """Answer one command; False when the session is over."""
        handler = {
            "EHLO": self._ehlo,
            "HELO": self._ehlo,
            "STARTTLS": self._starttls,
            "MAIL": self._mail,
            "RCPT": self._rcpt,
            "DATA": self._data,
            "RSET": self._ok,
            "NOOP": self._ok,
            "QUIT": self._quit,
        }.get(verb, self._unknown)
        return await handler(line)

    async def _ehlo(self, line: str) -> bool:
        caps = ["PIPELINING", "SIZE 10240000", "8BITMIME"]
        if self.relay.tls is not None and not self.tls_on:
            caps.append("STARTTLS")
        lines = [f"{self.relay.name}.lab.test", *caps]
        for i, cap in enumerate(lines):
            sep = " " if i == len(lines) - 1 else "-"
            await self.say(f"250{sep}{cap}")
        return True

    async def _starttls(self, line: str) -> bool:
        if self.relay.tls is None or self.tls_on:
            return await self._unknown(line)
        await self.say("220 2.0.0 Ready to start TLS")
        if self.relay.fault() == "tls":
            await asyncio.sleep(3600)
            return False
        await self.writer.start_tls(self.relay.tls, ssl_handshake_timeout=30.0)
        self.tls_on = True
        return True

    async def _mail(self, line: str) -> bool:
        self.rcpts = []
        await self.say("250 2.1.0 Ok")
        return True

    async def _rcpt(self, line: str) -> bool:
        if self.relay.fault() == "greylist":
            await self.say("450 4.2.0 <x>: Recipient address rejected: Greylisted")
        else:
            self.rcpts.append(line[8:].strip().split(" ")[0].strip("<>").lower())
            await self.say("250 2.1.5 Ok")
        return True

    async def _data(self, line: str) -> bool:
        await self.say("354 End data with <CR><LF>.<CR><LF>")
        body = await self.relay._read_data(self.reader)
        found = _MID.search(body)
        mid = found.group(1).decode(errors="replace") if found else None
        if self.relay.fault() == "eod":
            self.relay._write(mid, self.rcpts, acked=False)
            await asyncio.sleep(3600)
            return False
        self.relay._write(mid, self.rcpts, acked=True)
        await self.say("250 2.0.0 Ok: queued")
        return True

    async def _ok(self, line: str) -> bool:
        await self.say("250 2.0.0 Ok")
        return True

    async def _quit(self, line: str) -> bool:
        await self.say("221 2.0.0 Bye")
        return False

    async def _unknown(self, line: str) -> bool:
        await self.say("502 5.5.2 Error: command not recognized")
        return True


def read_records(path: Path) -> list[dict[str, object]]:
    """The records a relay wrote."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def _serve(args: argparse.Namespace) -> int:
    tls: ssl.SSLContext | None = None
    if args.tls_dir:
        tls = make_certs(Path(args.tls_dir)).server_context()
    relay = Relay(args.name, Path(args.record), Path(args.fault_file), tls)
    host, _, port = args.listen.rpartition(":")
    server = await asyncio.start_server(relay.handle, host.strip("[]"), int(port), backlog=256)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await stop.wait()
    server.close()
    for task in list(relay.tasks):
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server.wait_closed(), 5)
    relay.record.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """The script's entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--fault-file", required=True)
    parser.add_argument("--tls-dir")
    return asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
