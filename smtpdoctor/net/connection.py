"""TCP and TLS connections with deadlines: the only module of the probe that touches sockets.

Why not aiosmtplib: a diagnosis needs each phase timed and capped on its own, the MSS
clamped before connect, ICMP errors reported at once (IP_RECVERR), the raw reply bytes
for the transcript, and a bounded reply parser. aiosmtplib hides those behind one
client object, so the probe drives the sans-IO protocol in proto/ over this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno as errno_mod
import socket
import ssl
import struct
from dataclasses import dataclass

from smtpdoctor.net.errors import ConnectionClosed, NetError, NetOp, TlsError, map_error

# What the IO below raises and map_error turns into a NetError (TimeoutError: a deadline;
# ssl.SSLError and ConnectionError are OSErrors; RuntimeError: a transport that is closing).
_MAPPED = (OSError, RuntimeError)

# Not exported by every Python build's socket module; values from <linux/in.h>, <linux/in6.h>.
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)

READ_CHUNK = 4096

# Smallest MSS values every path must carry (RFC 879 for IPv4; IPv6 minimum MTU 1280 - 60).
CLAMPED_MSS_IPV4 = 536
CLAMPED_MSS_IPV6 = 1220


def family_of(address: str) -> int:
    """AF_INET6 for an address with a colon, else AF_INET."""
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def clamped_mss(address: str) -> int:
    """The MSS that fits any path for the address's family."""
    return CLAMPED_MSS_IPV6 if ":" in address else CLAMPED_MSS_IPV4


@dataclass(frozen=True)
class TlsSession:
    """What the handshake negotiated, and the peer's chain (DER, leaf first)."""

    version: str
    cipher: str
    chain_der: tuple[bytes, ...]


def _new_socket(address: str, mss: int | None) -> socket.socket:
    family = family_of(address)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    # Report ICMP errors (host unreachable, prohibited) at once instead of retrying the
    # SYN until the timeout: that is what tells a REJECT rule from a silent DROP.
    with contextlib.suppress(OSError):
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    if mss is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    return sock


# struct tcp_info (linux/tcp.h): eight one-byte fields, then 32-bit ones; tcpi_total_retrans
# is the 25th of those (byte offset 100). It counts SYNs sent again as well.
_TCP_INFO_LEN = 104
_TOTAL_RETRANS = struct.Struct("=I")
_TOTAL_RETRANS_OFFSET = 100


def _retransmits(sock: socket.socket) -> int | None:
    """Segments the kernel sent again on SOCK so far (None where TCP_INFO is missing)."""
    option = getattr(socket, "TCP_INFO", None)
    if option is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, option, _TCP_INFO_LEN)
    except OSError:
        return None
    if len(info) < _TCP_INFO_LEN:
        return None
    return int(_TOTAL_RETRANS.unpack_from(info, _TOTAL_RETRANS_OFFSET)[0])


def _pending_error(sock: socket.socket) -> OSError | None:
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    return OSError(code, errno_mod.errorcode.get(code, str(code))) if code else None


async def open_tcp(address: str, port: int, timeout: float, mss: int | None = None) -> Connection:
    """Connect to address:port within ``timeout`` seconds; raises a NetError subclass."""
    loop = asyncio.get_running_loop()
    try:
        sock = _new_socket(address, mss)
    except OSError as exc:
        raise map_error(exc, NetOp.SOCKET) from None
    target = (address, port, 0, 0) if ":" in address else (address, port)
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, target)
        retransmits = _retransmits(sock)
        reader, writer = await asyncio.open_connection(sock=sock, limit=READ_CHUNK * 4)
    except _MAPPED as exc:
        # An ICMP error that arrived while the kernel kept retrying the SYN says more than
        # the timeout does.
        soft = _pending_error(sock) if isinstance(exc, TimeoutError) else None
        sock.close()
        raise map_error(soft or exc, NetOp.CONNECT, timeout) from None
    except BaseException:
        sock.close()
        raise
    return Connection(reader, writer, retransmits)


class Connection:
    """A connected stream with deadline-bounded reads, writes and TLS upgrade."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        syn_retransmits: int | None = None,
    ):
        self._reader = reader
        self._writer = writer
        self.syn_retransmits = syn_retransmits  # SYNs sent again before the handshake ended

    @property
    def is_tls(self) -> bool:
        """True after a successful TLS handshake."""
        return self._writer.get_extra_info("ssl_object") is not None

    async def read_some(self, timeout: float) -> bytes:
        """Up to READ_CHUNK bytes; raises NetTimeout, or ConnectionClosed at end of stream."""
        try:
            async with asyncio.timeout(timeout):
                data = await self._reader.read(READ_CHUNK)
        except _MAPPED as exc:
            raise map_error(exc, NetOp.READ, timeout) from None
        if not data:
            raise ConnectionClosed(NetOp.READ)
        return data

    async def write(self, data: bytes, timeout: float) -> None:
        """Send bytes, waiting for the buffer to drain within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(data)
                await self._writer.drain()
        except _MAPPED as exc:
            raise map_error(exc, NetOp.WRITE, timeout) from None

    async def start_tls(
        self, context: ssl.SSLContext, server_hostname: str | None, timeout: float
    ) -> TlsSession:
        """Upgrade to TLS within ``timeout``; raises TlsError, NetTimeout or ConnectionClosed."""
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(
                    context, server_hostname=server_hostname, ssl_handshake_timeout=timeout + 1
                )
        except _MAPPED as exc:
            self.abort()
            raise map_error(exc, NetOp.TLS_HANDSHAKE, timeout) from None
        return self._tls_session()

    def _tls_session(self) -> TlsSession:
        obj = self._writer.get_extra_info("ssl_object")
        if obj is None:
            raise TlsError(NetOp.TLS_HANDSHAKE, message="no TLS session after the handshake")
        cipher = obj.cipher()
        return TlsSession(
            version=obj.version() or "?",
            cipher=cipher[0] if cipher else "?",
            chain_der=_peer_chain(obj),
        )

    def abort(self) -> None:
        """Drop the connection at once (no TLS close_notify, no waiting)."""
        transport = self._writer.transport
        with contextlib.suppress(Exception):
            transport.abort()

    async def close(self, timeout: float = 1.0) -> None:
        """Close politely, but never wait longer than ``timeout``."""
        try:
            self._writer.close()
            async with asyncio.timeout(timeout):
                await self._writer.wait_closed()
        except (TimeoutError, OSError, ssl.SSLError, NetError, RuntimeError):
            self.abort()


def _peer_chain(obj: ssl.SSLObject) -> tuple[bytes, ...]:
    # The full chain API is public only from Python 3.13; 3.11 and 3.12 have it on the
    # private _sslobj. Fall back to the leaf alone where neither exists.
    getter = getattr(obj, "get_unverified_chain", None)
    inner = getattr(obj, "_sslobj", None)
    if getter is None and inner is not None:
        getter = getattr(inner, "get_unverified_chain", None)
    if getter is not None:
        try:
            certs = getter() or []
            return tuple(
                c if isinstance(c, bytes) else c.public_bytes(ssl.ENCODING_DER)  # type: ignore[attr-defined]
                for c in certs
            )
        except (AttributeError, ValueError, ssl.SSLError):
            pass
    leaf = obj.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()
