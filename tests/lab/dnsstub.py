"""A tiny misbehaving DNS server for tests: SERVFAIL, REFUSED, silence, or slow forwarding.

dnsmasq cannot delay answers or fail on purpose; this can. Run it as
`python -m tests.lab.dnsstub --listen ADDR:PORT --mode slow --delay 1.5 --upstream ADDR:PORT`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import dns.asyncquery
import dns.message
import dns.rcode


def _split(hostport: str) -> tuple[str, int]:
    host, _, port = hostport.rpartition(":")
    return host.strip("[]"), int(port)


class _Stub(asyncio.DatagramProtocol):
    def __init__(self, mode: str, delay: float, upstream: tuple[str, int] | None) -> None:
        self.mode, self.delay, self.upstream = mode, delay, upstream
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        asyncio.get_running_loop().create_task(self._answer(data, addr))

    async def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.mode == "drop" or self.transport is None:
            return
        query = dns.message.from_wire(data)
        if self.mode in ("servfail", "refused"):
            reply = dns.message.make_response(query)
            reply.set_rcode(dns.rcode.SERVFAIL if self.mode == "servfail" else dns.rcode.REFUSED)
            self.transport.sendto(reply.to_wire(), addr)
            return
        await asyncio.sleep(self.delay)
        if self.upstream is None:
            return
        try:
            reply = await dns.asyncquery.udp(
                query, self.upstream[0], timeout=5, port=self.upstream[1]
            )
        except Exception:  # the upstream is part of the fault; stay silent like a dead one
            return
        self.transport.sendto(reply.to_wire(), addr)


async def _serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    host, port = _split(args.listen)
    upstream = _split(args.upstream) if args.upstream else None
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Stub(args.mode, args.delay, upstream), local_addr=(host, port)
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    transport.close()


def main() -> None:
    """Parse the arguments and serve until SIGTERM."""
    parser = argparse.ArgumentParser(prog="dnsstub")
    parser.add_argument("--listen", required=True, help="ADDR:PORT")
    parser.add_argument("--mode", choices=["slow", "servfail", "refused", "drop"], default="slow")
    parser.add_argument("--delay", type=float, default=1.5)
    parser.add_argument("--upstream", help="ADDR:PORT to forward to in slow mode")
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
