"""The typed facts of a network failure: what was being done, and how it failed. Pure.

These enums are the seam between net/ (which maps OS and TLS errors onto them, in one
place: `smtpdoctor.net.errors.map_error`) and the rules in diagnose/, which read them and
never the rendered message. The module has no IO and imports nothing.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ErrorKind", "NetOp"]


class NetOp(StrEnum):
    """What the probe was doing on the network when an error struck."""

    SOCKET = "socket"  # creating the socket (before any packet)
    CONNECT = "connect"  # the TCP handshake
    TLS_HANDSHAKE = "tls_handshake"  # implicit TLS or the handshake after STARTTLS
    READ = "read"  # waiting for a reply
    WRITE = "write"  # sending a command or the message


class ErrorKind(StrEnum):
    """How a network operation failed (the values are PhaseStatus values)."""

    TIMEOUT = "timeout"  # nothing happened before the deadline
    REFUSED = "refused"  # TCP reset in answer to the SYN
    HOST_UNREACHABLE = "host_unreachable"  # ICMP unreachable or prohibited
    NETWORK_UNREACHABLE = "network_unreachable"  # no route from here
    CLOSED = "closed"  # end of stream, or a reset mid-session
    TLS_ERROR = "tls_error"  # a TLS failure (in the handshake or in the session after it)
    ERROR = "error"  # any other OS error (the errno says which)
