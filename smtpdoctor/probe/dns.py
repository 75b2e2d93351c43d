"""Name resolution the way the MTA's libc does it, with every attempt timed.

`resolve_host` turns a host name into addresses: /etc/hosts first (dnspython does not
read it; libc does), then A and AAAA queried concurrently against the nameservers of
/etc/resolv.conf, one after the other on failure, each attempt recorded as a `DnsQuery`
with its own time. DNS failures never raise: they are statuses (ok, nxdomain, nodata,
timeout, servfail, refused, error). The overall deadline is respected.

`ResolveResult.queries` holds one `DnsQuery` per attempt, in order; the attempts of one
record type are contiguous and the last one of each type is its outcome (see
`final_queries`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from smtpdoctor.probe.results import DnsQuery, DnsStatus, ResolveResult

if TYPE_CHECKING:
    import dns.message

# dnspython is imported inside the functions that query: it costs ~40 ms of start-up,
# and a check of an IP literal or a name in /etc/hosts sends no query (check --nagios).

RESOLV_CONF = Path("/etc/resolv.conf")
HOSTS_FILE = Path("/etc/hosts")

# glibc's defaults (resolv.conf(5)): 5 s per try, 2 rounds, 127.0.0.1 when none listed.
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_ATTEMPTS = 2
_MAX_NAMESERVERS = 3  # glibc uses only the first three

STATUS_OK = DnsStatus.OK
STATUS_NXDOMAIN = DnsStatus.NXDOMAIN
STATUS_NODATA = DnsStatus.NODATA
STATUS_TIMEOUT = DnsStatus.TIMEOUT
STATUS_SERVFAIL = DnsStatus.SERVFAIL
STATUS_REFUSED = DnsStatus.REFUSED
STATUS_ERROR = DnsStatus.ERROR

_RDTYPE_BY_FAMILY: dict[int, str] = {int(socket.AF_INET): "A", int(socket.AF_INET6): "AAAA"}


@dataclass(frozen=True)
class Nameserver:
    """One resolver to ask: an address and a port."""

    address: str
    port: int = 53

    @property
    def label(self) -> str:
        """'10.0.0.1', or '127.0.0.1:5353' when the port is not 53."""
        if self.port == 53:
            return self.address
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class ResolverConfig:
    """What /etc/resolv.conf says: nameservers, time per try, rounds, rotation."""

    nameservers: tuple[Nameserver, ...]
    timeout_s: float = DEFAULT_TIMEOUT_S
    attempts: int = DEFAULT_ATTEMPTS
    rotate: bool = False
    hosts_file: Path | None = HOSTS_FILE
    search: tuple[str, ...] = ()
    implicit_nameserver: bool = False  # none was listed: libc falls back to 127.0.0.1


def parse_resolv_conf(text: str) -> ResolverConfig:
    """The parts of resolv.conf(5) that decide how long a lookup can take."""
    servers: list[Nameserver] = []
    timeout_s, attempts, rotate = DEFAULT_TIMEOUT_S, DEFAULT_ATTEMPTS, False
    search: tuple[str, ...] = ()
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver":
            addr = words[1].split("%", 1)[0]  # drop an IPv6 zone index
            if _is_ip(addr) and len(servers) < _MAX_NAMESERVERS:
                servers.append(Nameserver(addr))
        elif words and words[0] in ("search", "domain"):
            search = tuple(words[1:])  # the last search/domain line wins, as in libc
        elif words and words[0] == "options":
            for opt in words[1:]:
                key, _, value = opt.partition(":")
                if key == "timeout" and value.isdigit():
                    timeout_s = float(max(1, min(int(value), 30)))
                elif key == "attempts" and value.isdigit():
                    attempts = max(1, min(int(value), 5))
                elif key == "rotate":
                    rotate = True
    implicit = not servers
    if implicit:
        servers.append(Nameserver("127.0.0.1"))
    return ResolverConfig(
        tuple(servers), timeout_s, attempts, rotate, search=search, implicit_nameserver=implicit
    )


def system_config(path: Path = RESOLV_CONF) -> ResolverConfig:
    """The resolver configuration of this machine (or of this network namespace)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return parse_resolv_conf(text)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _literal(name: str) -> str | None:
    """The address if NAME is an IP literal (also '[2001:db8::1]'), else None."""
    bare = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    bare = bare.split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        return None


def lookup_hosts_file(name: str, path: Path) -> tuple[str, ...] | None:
    """The addresses /etc/hosts gives NAME (None when it is not listed), like libc."""
    wanted = name.rstrip(".").lower()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    found: list[str] = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if len(words) < 2 or not _is_ip(words[0].split("%", 1)[0]):
            continue
        if wanted in (w.rstrip(".").lower() for w in words[1:]):
            addr = str(ipaddress.ip_address(words[0].split("%", 1)[0]))
            if addr not in found:
                found.append(addr)
    if not found and wanted in ("localhost", "localhost.localdomain"):
        return ("127.0.0.1", "::1")
    return tuple(found) if found else None


def final_queries(queries: Iterable[DnsQuery]) -> dict[str, DnsQuery]:
    """The outcome per record type: the last attempt of each (name, type)."""
    last: dict[str, DnsQuery] = {}
    for q in queries:
        last[q.rdtype] = q
    return last


def _ms_since(start: float) -> float:
    return round((time.monotonic() - start) * 1000.0, 1)


async def _ask(
    request: dns.message.Message, server: Nameserver, timeout_s: float
) -> dns.message.Message:
    """One query to one server: UDP, then TCP when the answer was truncated."""
    import dns.asyncquery
    import dns.flags

    async with asyncio.timeout(timeout_s):
        response = await dns.asyncquery.udp(
            request, server.address, timeout=timeout_s, port=server.port, ignore_unexpected=True
        )
        if response.flags & dns.flags.TC:
            response = await dns.asyncquery.tcp(
                request, server.address, timeout=timeout_s, port=server.port
            )
    return response


def _answers(response: dns.message.Message, rdtype: str) -> tuple[str, ...]:
    import dns.rdatatype

    wanted = dns.rdatatype.from_text(rdtype)
    out: list[str] = []
    for rrset in response.answer:
        if rrset.rdtype == wanted:
            out.extend(rdata.to_text() for rdata in rrset)
    return tuple(out)


async def query(
    name: str, rdtype: str, config: ResolverConfig, deadline: float
) -> tuple[DnsQuery, ...]:
    """Ask NAME's RDTYPE of each nameserver in turn until one answers; every attempt timed.

    DEADLINE is a `time.monotonic()` value. NXDOMAIN and NODATA end the search (they are
    answers); SERVFAIL, REFUSED, timeouts and errors move on to the next server, as libc
    does. Never raises for DNS failures.
    """
    import dns.exception
    import dns.message
    import dns.name
    import dns.rcode

    try:
        qname = dns.name.from_text(name)
    except dns.exception.DNSException as exc:
        return (DnsQuery(name, rdtype, STATUS_ERROR, 0.0, detail=f"invalid name: {exc}"),)
    request = dns.message.make_query(qname, rdtype)
    attempts: list[DnsQuery] = []
    servers = list(config.nameservers)
    for round_no in range(config.attempts):
        order = servers[round_no % len(servers) :] + servers[: round_no % len(servers)]
        for server in order if config.rotate else servers:
            remaining = deadline - time.monotonic()
            if remaining <= 0.005:
                if not attempts:
                    attempts.append(
                        DnsQuery(
                            name,
                            rdtype,
                            STATUS_TIMEOUT,
                            0.0,
                            nameserver=server.label,
                            detail="no time left before the first try",
                        )
                    )
                return tuple(attempts)
            per_try = min(config.timeout_s, remaining)
            start = time.monotonic()
            try:
                response = await _ask(request, server, per_try)
            except (TimeoutError, dns.exception.Timeout):
                attempts.append(
                    DnsQuery(
                        name,
                        rdtype,
                        STATUS_TIMEOUT,
                        _ms_since(start),
                        nameserver=server.label,
                        detail=f"no answer within {per_try:.1f} s",
                    )
                )
                continue
            except (OSError, EOFError, dns.exception.DNSException) as exc:
                attempts.append(
                    DnsQuery(
                        name,
                        rdtype,
                        STATUS_ERROR,
                        _ms_since(start),
                        nameserver=server.label,
                        detail=str(exc) or type(exc).__name__,
                    )
                )
                continue
            elapsed = _ms_since(start)
            rcode = response.rcode()
            if rcode == dns.rcode.NXDOMAIN:
                attempts.append(
                    DnsQuery(name, rdtype, STATUS_NXDOMAIN, elapsed, nameserver=server.label)
                )
                return tuple(attempts)
            if rcode == dns.rcode.NOERROR:
                answers = _answers(response, rdtype)
                status = STATUS_OK if answers else STATUS_NODATA
                attempts.append(
                    DnsQuery(name, rdtype, status, elapsed, answers, nameserver=server.label)
                )
                return tuple(attempts)
            status = {dns.rcode.SERVFAIL: STATUS_SERVFAIL, dns.rcode.REFUSED: STATUS_REFUSED}.get(
                rcode, STATUS_ERROR
            )
            attempts.append(
                DnsQuery(
                    name,
                    rdtype,
                    status,
                    elapsed,
                    nameserver=server.label,
                    detail=f"rcode {dns.rcode.to_text(rcode)}",
                )
            )
    return tuple(attempts)


async def resolve_host(
    name: str,
    *,
    timeout: float,
    families: tuple[int, ...] = (socket.AF_INET, socket.AF_INET6),
    config: ResolverConfig | None = None,
) -> ResolveResult:
    """NAME's addresses: literal, /etc/hosts, or A and AAAA concurrently, within TIMEOUT s.

    CONFIG defaults to this machine's /etc/resolv.conf (inside `ip netns exec`, the
    namespace's). The addresses come in the order of FAMILIES.
    """
    start = time.monotonic()
    literal = _literal(name)
    if literal is not None:
        return ResolveResult(name=name, addresses=(literal,), is_literal=True)
    cfg = config if config is not None else system_config()
    servers = tuple(s.label for s in cfg.nameservers)
    if cfg.hosts_file is not None:
        listed = lookup_hosts_file(name, cfg.hosts_file)
        if listed is not None:
            return _from_hosts(
                name,
                listed=listed,
                families=families,
                path=cfg.hosts_file,
                servers=servers,
                start=start,
            )
    deadline = start + max(0.0, timeout)
    rdtypes = [_RDTYPE_BY_FAMILY[f] for f in families if f in _RDTYPE_BY_FAMILY]
    results = await asyncio.gather(*(query(name, t, cfg, deadline) for t in rdtypes))
    queries = tuple(q for attempts in results for q in attempts)
    addresses: list[str] = []
    for attempts in results:
        if attempts and attempts[-1].status == STATUS_OK:
            addresses.extend(a for a in attempts[-1].answers if a not in addresses)
    return ResolveResult(
        name=name,
        addresses=tuple(addresses),
        queries=queries,
        nameservers=servers,
        elapsed_ms=_ms_since(start),
    )


def _from_hosts(
    name: str,
    *,
    listed: tuple[str, ...],
    families: tuple[int, ...],
    path: Path,
    servers: tuple[str, ...],
    start: float,
) -> ResolveResult:
    queries: list[DnsQuery] = []
    addresses: list[str] = []
    for family in families:
        rdtype = _RDTYPE_BY_FAMILY.get(family)
        if rdtype is None:
            continue
        mine = tuple(a for a in listed if (":" in a) == (family == socket.AF_INET6))
        addresses.extend(mine)
        status = STATUS_OK if mine else STATUS_NODATA
        queries.append(
            DnsQuery(name, rdtype, status, 0.0, mine, detail=f"from {path}", hosts_file=str(path))
        )
    return ResolveResult(
        name=name,
        addresses=tuple(addresses),
        queries=tuple(queries),
        nameservers=servers,
        elapsed_ms=_ms_since(start),
    )
