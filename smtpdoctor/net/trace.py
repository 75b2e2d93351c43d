"""TCP traceroute to an SMTP port without raw sockets.

For each TTL, a non-blocking TCP connect goes out with IP_TTL / IPV6_UNICAST_HOPS set
and IP_RECVERR / IPV6_RECVERR on. When a router drops the SYN for lack of TTL, its ICMP
"time exceeded" aborts the connect (Linux reports ICMP errors in SYN-SENT) and the
extended error, with the router's address as "offender", lands on the socket's error
queue, read with recvmsg(MSG_ERRQUEUE). A SYN-ACK or a reset means the destination
answered. Hops are probed concurrently in small windows; the trace stops at the
destination, at an ICMP unreachable, or after a run of silent hops.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import struct
import time

from smtpdoctor.net.hops import Hop, HopKind, TraceResult, last_answering_hop

__all__ = ["Hop", "HopKind", "TraceResult", "last_answering_hop", "parse_error_queue", "trace"]

# Not exported by Python's socket module (linux/in.h, linux/in6.h, linux/errqueue.h).
IP_RECVERR = 11
IPV6_RECVERR = 25
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
_EE = struct.Struct("=IBBBBII")  # struct sock_extended_err

ICMP_TIME_EXCEEDED = 11
ICMP_DEST_UNREACH = 3
ICMP6_TIME_EXCEEDED = 3
ICMP6_DEST_UNREACH = 1

# ICMP unreachable codes as traceroute prints them.
_UNREACH_V4 = {0: "!N", 1: "!H", 2: "!P", 3: "port", 9: "!X", 10: "!X", 13: "!X"}
_UNREACH_V6 = {0: "!N", 1: "!X", 3: "!H", 4: "port"}


def parse_error_queue(ancdata: list[tuple[int, int, bytes]]) -> tuple[int, int, int, str] | None:
    """(origin, icmp type, icmp code, offender address) from recvmsg ancillary data."""
    for level, kind, data in ancdata:
        is_v4 = level == socket.IPPROTO_IP and kind == IP_RECVERR
        is_v6 = level == socket.IPPROTO_IPV6 and kind == IPV6_RECVERR
        if not (is_v4 or is_v6) or len(data) < _EE.size + 4:
            continue
        _errno, origin, icmp_type, icmp_code, _pad, _info, _data = _EE.unpack_from(data)
        offender = data[_EE.size :]
        family = struct.unpack_from("=H", offender)[0]
        if family == socket.AF_INET and len(offender) >= 8:
            address = socket.inet_ntop(socket.AF_INET, offender[4:8])
        elif family == socket.AF_INET6 and len(offender) >= 24:
            address = socket.inet_ntop(socket.AF_INET6, offender[8:24])
        else:
            continue
        return origin, icmp_type, icmp_code, address
    return None


def _classify(origin: int, icmp_type: int, icmp_code: int, v6: bool) -> tuple[HopKind, str]:
    if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
        return HopKind.ERROR, f"origin {origin}"
    if icmp_type == (ICMP6_TIME_EXCEEDED if v6 else ICMP_TIME_EXCEEDED):
        return HopKind.TIME_EXCEEDED, ""
    if icmp_type == (ICMP6_DEST_UNREACH if v6 else ICMP_DEST_UNREACH):
        names = _UNREACH_V6 if v6 else _UNREACH_V4
        return HopKind.UNREACHABLE, names.get(icmp_code, f"!<{icmp_code}>")
    return HopKind.ERROR, f"icmp type {icmp_type} code {icmp_code}"


def _new_socket(family: int, ttl: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    # No SYN retransmission games: a probe is one SYN, closed at once with RST-free abort.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return sock


async def probe(address: str, port: int, ttl: int, timeout: float) -> Hop:
    """One SYN with TTL TTL to ADDRESS:PORT; what came back within TIMEOUT seconds."""
    v6 = ":" in address
    family = socket.AF_INET6 if v6 else socket.AF_INET
    loop = asyncio.get_running_loop()
    try:
        sock = _new_socket(family, ttl)
    except OSError as exc:
        return Hop(ttl, HopKind.ERROR, detail=f"socket: {exc.strerror or exc}")
    start = time.monotonic()
    try:
        try:
            async with asyncio.timeout(timeout):
                await loop.sock_connect(sock, (address, port))
        except TimeoutError:
            return Hop(ttl, HopKind.SILENT)
        except ConnectionRefusedError:
            return Hop(ttl, HopKind.RESET, address, _ms(start))
        except OSError as exc:
            rtt = _ms(start)
            found = _read_error_queue(sock)
            if found is not None:
                origin, icmp_type, icmp_code, offender = found
                kind, detail = _classify(origin, icmp_type, icmp_code, v6)
                return Hop(ttl, kind, offender, rtt, detail)
            name = errno.errorcode.get(exc.errno or 0, "error")
            return Hop(ttl, HopKind.ERROR, detail=f"{name}: {exc.strerror or exc}")
        return Hop(ttl, HopKind.REACHED, address, _ms(start))
    finally:
        sock.close()


def _read_error_queue(sock: socket.socket) -> tuple[int, int, int, str] | None:
    try:
        _data, ancdata, _flags, _addr = sock.recvmsg(512, 512, socket.MSG_ERRQUEUE)
    except OSError:
        return None
    return parse_error_queue(ancdata)


def _ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000.0, 2)


def _end(hop: Hop) -> str | None:
    return {
        HopKind.REACHED: "reached",
        HopKind.RESET: "reset",
        HopKind.UNREACHABLE: "unreachable",
        HopKind.ERROR: "error",
    }.get(hop.kind)


async def trace(
    address: str,
    port: int = 25,
    *,
    target: str | None = None,
    max_hops: int = 30,
    probe_timeout: float = 1.0,
    window: int = 5,
    max_silent: int = 4,
) -> TraceResult:
    """Trace the TCP path to ADDRESS:PORT, WINDOW hops at a time.

    The trace stops at the first hop that ends it (destination answered, ICMP
    unreachable, local error), after MAX_SILENT silent hops in a row, or at MAX_HOPS.
    Worst case it takes ceil(max_hops / window) * probe_timeout seconds.
    """
    address = str(ipaddress.ip_address(address.strip("[]")))
    start = time.monotonic()
    hops: list[Hop] = []
    stopped = "max_hops"
    ttl = 1
    while ttl <= max_hops:
        batch = range(ttl, min(ttl + window, max_hops + 1))
        results = await asyncio.gather(*(probe(address, port, t, probe_timeout) for t in batch))
        done = False
        for hop in results:
            hops.append(hop)
            end = _end(hop)
            if end is not None:
                stopped, done = end, True
                break
            silent_run = 0
            for earlier in reversed(hops):
                if earlier.kind != HopKind.SILENT:
                    break
                silent_run += 1
            if silent_run >= max_silent:
                stopped, done = "silent", True
                break
        if done:
            break
        ttl += window
    return TraceResult(
        target=target or address,
        address=address,
        port=port,
        hops=tuple(hops),
        reached=stopped in ("reached", "reset"),
        stopped=stopped,
        max_hops=max_hops,
        probe_timeout_s=probe_timeout,
        elapsed_ms=_ms(start),
    )
