"""The one exception tree for network outcomes, and the one place OS and TLS errors map to it.

Every error carries typed facts: the operation (`NetOp`), the kind (`ErrorKind`), the
errno's name, the OS or TLS reason and the limit that applied. The message is rendered
from those facts; rules downstream read the facts, never the message.
"""

from __future__ import annotations

import errno as errno_mod
import os
import ssl
from typing import ClassVar

from smtpdoctor.net.outcome import ErrorKind, NetOp

__all__ = [
    "ConnectRefused",
    "ConnectionClosed",
    "ErrorKind",
    "HostUnreachable",
    "NetError",
    "NetOp",
    "NetTimeout",
    "NetworkUnreachable",
    "TlsError",
    "map_error",
]


class NetError(Exception):
    """A network operation did not succeed: ``op`` says which, ``kind`` how."""

    kind: ClassVar[ErrorKind] = ErrorKind.ERROR

    def __init__(
        self,
        op: NetOp,
        *,
        reason: str = "",
        errno_name: str | None = None,
        timeout_s: float | None = None,
        message: str | None = None,
    ):
        self.op = op
        self.reason = reason
        self.errno_name = errno_name
        self.timeout_s = timeout_s
        super().__init__(
            message if message is not None else render(self.kind, op, reason, timeout_s)
        )


class NetTimeout(NetError, TimeoutError):
    """Nothing happened before the deadline (both a NetError and a TimeoutError)."""

    kind = ErrorKind.TIMEOUT


class ConnectRefused(NetError):
    """The peer answered the SYN with a reset."""

    kind = ErrorKind.REFUSED


class HostUnreachable(NetError):
    """An ICMP unreachable or prohibited came back."""

    kind = ErrorKind.HOST_UNREACHABLE


class NetworkUnreachable(NetError):
    """No route to the destination."""

    kind = ErrorKind.NETWORK_UNREACHABLE


class ConnectionClosed(NetError):
    """The peer closed or reset the connection."""

    kind = ErrorKind.CLOSED


class TlsError(NetError):
    """A TLS failure: in the handshake (``op`` TLS_HANDSHAKE) or in the session after it.

    ``verify_error`` is set when only the certificate verification failed.
    """

    kind = ErrorKind.TLS_ERROR

    def __init__(
        self,
        op: NetOp,
        *,
        reason: str = "",
        verify_error: str | None = None,
        verify_code: int | None = None,
        message: str | None = None,
    ):
        self.verify_error = verify_error
        self.verify_code = verify_code  # OpenSSL's X509_V_ERR_* number
        super().__init__(op, reason=reason, message=message)


_BY_ERRNO: dict[int, type[NetError]] = {
    errno_mod.ECONNREFUSED: ConnectRefused,
    errno_mod.EHOSTUNREACH: HostUnreachable,
    errno_mod.EHOSTDOWN: HostUnreachable,
    # Linux reports ICMPv6 "administratively prohibited" as EACCES (icmpv6_err_convert);
    # a local netfilter rule that drops the SYN gives EPERM instead, left as an OS error.
    errno_mod.EACCES: HostUnreachable,
    errno_mod.ENETUNREACH: NetworkUnreachable,
    errno_mod.ENETDOWN: NetworkUnreachable,
    errno_mod.EADDRNOTAVAIL: NetworkUnreachable,
    errno_mod.ECONNRESET: ConnectionClosed,
    errno_mod.EPIPE: ConnectionClosed,
    errno_mod.ECONNABORTED: ConnectionClosed,
    errno_mod.ETIMEDOUT: NetTimeout,
}

_TIMEOUT_WORDS = {
    NetOp.CONNECT: "no answer to the connection attempt within {t} s",
    NetOp.TLS_HANDSHAKE: "TLS handshake not finished within {t} s",
    NetOp.READ: "no data within {t} s",
    NetOp.WRITE: "could not send within {t} s",
    NetOp.SOCKET: "no socket within {t} s",
}
_TLS_WORDS = {
    NetOp.TLS_HANDSHAKE: "TLS handshake failed: {r}",
    NetOp.READ: "TLS error while reading: {r}",
    NetOp.WRITE: "TLS error while writing: {r}",
}
_OS_PREFIX = {NetOp.TLS_HANDSHAKE: "TLS handshake"}


def render(kind: ErrorKind, op: NetOp, reason: str, timeout_s: float | None) -> str:
    """The message for the typed facts (what the transcript and the evidence show)."""
    if kind is ErrorKind.TIMEOUT and timeout_s is not None:
        return _TIMEOUT_WORDS[op].format(t=f"{timeout_s:g}")
    if kind is ErrorKind.TLS_ERROR:
        return _TLS_WORDS.get(op, "TLS error: {r}").format(r=reason)
    if kind is ErrorKind.CLOSED and not reason:
        return "the server closed the connection"
    if kind is ErrorKind.CLOSED and op is NetOp.TLS_HANDSHAKE:
        return f"connection closed during the TLS handshake: {reason}"
    return f"{_OS_PREFIX.get(op, op.value)}: {reason}"


def map_error(  # noqa: PLR0911 - one mapping table: each return is one row, read in order
    exc: BaseException, op: NetOp, timeout_s: float | None = None
) -> NetError:
    """The one mapping from what asyncio, ssl and the OS raise to the NetError tree.

    ``exc`` is a TimeoutError (the deadline of ``op`` passed), an ssl.SSLError, an
    OSError or the RuntimeError asyncio raises for writes to a closing transport.
    """
    if isinstance(exc, NetError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or str(exc)
        return TlsError(
            op,
            reason=reason,
            verify_error=reason,
            verify_code=exc.verify_code,
            message=f"certificate verification failed: {reason}",
        )
    if isinstance(exc, ssl.SSLError):
        return TlsError(op, reason=str(exc.reason or exc))
    if isinstance(exc, TimeoutError) and exc.errno is None:  # the deadline, not ETIMEDOUT
        return NetTimeout(op, timeout_s=timeout_s)
    if isinstance(exc, ConnectionError) and op is NetOp.TLS_HANDSHAKE:
        return ConnectionClosed(op, reason=str(exc))
    if isinstance(exc, ConnectionError) and exc.errno is None:
        # asyncio's own "Connection lost": the transport closed under a write.
        return ConnectionClosed(op, reason=str(exc), message=f"{op.value}: {exc}")
    if isinstance(exc, OSError):
        code = exc.errno
        name = errno_mod.errorcode.get(code, None) if code is not None else None
        cls = _BY_ERRNO.get(code, NetError) if code is not None else NetError
        # asyncio's sock_connect words refusals as "Connect call failed (...)": the errno's
        # own text ("Connection refused") is what admins know from every other tool.
        text = os.strerror(code) if code else (exc.strerror or str(exc) or type(exc).__name__)
        return cls(op, reason=text, errno_name=name)
    # RuntimeError: writing to a transport that is closing.
    return ConnectionClosed(op, reason=str(exc), message=str(exc))
