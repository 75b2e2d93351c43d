"""The resolver: /etc/resolv.conf parsed (pure) and each nameserver asked and timed."""

from __future__ import annotations

import time
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from smtpdoctor.probe.dns import DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT_S
from smtpdoctor.probe.dns import parse_resolv_conf as resolver_config

RESOLVED_STUB = "127.0.0.53"


@dataclass(frozen=True)
class ResolvConf:
    """What resolv.conf says."""

    nameservers: tuple[str, ...]
    timeout_s: float = DEFAULT_TIMEOUT_S
    attempts: int = DEFAULT_ATTEMPTS
    rotate: bool = False
    search: tuple[str, ...] = ()

    @property
    def worst_case_s(self) -> float:
        """How long one lookup can take when every nameserver is dead."""
        return self.timeout_s * self.attempts * max(1, len(self.nameservers))


def parse_resolv_conf(text: str) -> ResolvConf:
    """resolv.conf text, read by the resolver's own parser (the nameservers it lists)."""
    cfg = resolver_config(text)
    listed = () if cfg.implicit_nameserver else tuple(ns.address for ns in cfg.nameservers)
    return ResolvConf(listed, cfg.timeout_s, cfg.attempts, cfg.rotate, cfg.search)


@dataclass(frozen=True)
class NameserverCheck:
    """One nameserver asked one question."""

    server: str
    ok: bool
    elapsed_ms: float
    detail: str


def query_nameserver(server: str, name: str = ".", timeout: float = 3.0) -> NameserverCheck:
    """Ask server for name's NS records over UDP and time the answer."""
    query = dns.message.make_query(name, dns.rdatatype.NS)
    start = time.monotonic()
    try:
        response = dns.query.udp(query, server, timeout=timeout)
    except dns.exception.Timeout:
        elapsed = (time.monotonic() - start) * 1000
        return NameserverCheck(server, False, elapsed, f"no answer within {timeout:g}s")
    except (OSError, ValueError, dns.exception.DNSException) as exc:
        elapsed = (time.monotonic() - start) * 1000
        return NameserverCheck(server, False, elapsed, str(exc) or type(exc).__name__)
    elapsed = (time.monotonic() - start) * 1000
    rcode = dns.rcode.to_text(response.rcode())
    return NameserverCheck(server, rcode in ("NOERROR", "NXDOMAIN"), elapsed, rcode)
