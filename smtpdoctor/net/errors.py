"""The one exception tree for network outcomes: OS errors are mapped here, once."""

from __future__ import annotations

import errno as errno_mod
import os
import ssl


class NetError(Exception):
    """A network operation did not succeed; ``kind`` names how (a PhaseStatus value)."""

    kind = "error"

    def __init__(self, message: str, errno_name: str | None = None):
        super().__init__(message)
        self.errno_name = errno_name


class NetTimeout(NetError, TimeoutError):
    """Nothing happened before the deadline (both a NetError and a TimeoutError)."""

    kind = "timeout"


class ConnectRefused(NetError):
    """The peer answered the SYN with a reset."""

    kind = "refused"


class HostUnreachable(NetError):
    """An ICMP unreachable or prohibited came back."""

    kind = "host_unreachable"


class NetworkUnreachable(NetError):
    """No route to the destination."""

    kind = "network_unreachable"


class ConnectionClosed(NetError):
    """The peer closed or reset the connection."""

    kind = "closed"


class TlsHandshakeError(NetError):
    """The TLS handshake failed; ``verify_error`` is set when only verification failed."""

    kind = "tls_error"

    def __init__(self, message: str, verify_error: str | None = None):
        super().__init__(message)
        self.verify_error = verify_error


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


def from_os_error(exc: OSError, context: str) -> NetError:
    """Map an OSError to the tree, keeping the errno's name for the evidence."""
    if isinstance(exc, NetError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or str(exc)
        return TlsHandshakeError(f"certificate verification failed: {reason}", verify_error=reason)
    if isinstance(exc, ssl.SSLError):
        return TlsHandshakeError(f"{context}: {exc.reason or exc}")
    code = exc.errno
    name = errno_mod.errorcode.get(code, None) if code is not None else None
    cls = _BY_ERRNO.get(code, NetError) if code is not None else NetError
    # asyncio's sock_connect words refusals as "Connect call failed (...)": the errno's
    # own text ("Connection refused") is what admins know from every other tool.
    text = os.strerror(code) if code else (exc.strerror or str(exc) or type(exc).__name__)
    return cls(f"{context}: {text}", errno_name=name)
