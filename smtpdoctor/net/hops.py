"""What a TCP traceroute records: hops and the whole trace. Pure values, no IO.

`smtpdoctor.net.trace` does the probing; diagnose/ and report/ read these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Hop", "HopKind", "TraceResult", "last_answering_hop"]


class HopKind(StrEnum):
    """How a probe ended (the values are used in JSON)."""

    TIME_EXCEEDED = "time_exceeded"  # a router on the way answered
    REACHED = "reached"  # SYN-ACK: the port is open
    RESET = "reset"  # RST: the destination (or a firewall for it) refused
    UNREACHABLE = "unreachable"  # ICMP destination unreachable / prohibited
    SILENT = "silent"  # nothing came back in time ('*')
    ERROR = "error"  # a local error (no route here)


@dataclass(frozen=True)
class Hop:
    """One TTL: who answered, how, and after how long (address None for '*')."""

    ttl: int
    kind: HopKind
    address: str | None = None
    rtt_ms: float | None = None
    detail: str = ""

    @property
    def answered(self) -> bool:
        """True when something came back from a known address."""
        return self.address is not None


@dataclass(frozen=True)
class TraceResult:
    """A whole trace to ADDRESS:PORT."""

    target: str
    address: str
    port: int
    hops: tuple[Hop, ...]
    reached: bool
    stopped: str  # reached, reset, unreachable, silent, max_hops, error
    max_hops: int
    probe_timeout_s: float
    elapsed_ms: float

    @property
    def family_name(self) -> str:
        """'IPv4' or 'IPv6'."""
        return "IPv6" if ":" in self.address else "IPv4"


def last_answering_hop(trace: TraceResult) -> Hop | None:
    """The last hop that answered: where the packets stop when the trace did not reach."""
    answered = [h for h in trace.hops if h.answered]
    return answered[-1] if answered else None
