"""IPv4 versus IPv6 per relay host, and the `ipv6_broken` rule over those tallies.

The tracker counts, per relay host name, deliveries and connect failures by address
family (bounded: at most MAX_HOSTS hosts and MAX_ADDRESSES addresses each). The rule
is pure: a host whose IPv6 addresses fail at connect while its IPv4 addresses take
mail in the same period has a broken IPv6 path, not a dead server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from smtpdoctor.catalogue import CauseCode, describe
from smtpdoctor.logs.model import Insight

MAX_HOSTS: Final = 4096
MAX_ADDRESSES: Final = 8
MAX_DELIVERY_HOSTS: Final = 2 * MAX_HOSTS  # hosts whose deliveries wait for an IPv6 failure
# IPv4 successes and IPv6 failures count as "the same period" when their time
# ranges overlap or lie at most this far apart.
PERIOD_SLACK: Final = timedelta(hours=1)
# Connect failures that mean the path is broken (a refusal means the host answered).
PATH_FAILURES: Final = frozenset(
    {CauseCode.CONNECT_TIMEOUT, CauseCode.NETWORK_UNREACHABLE, CauseCode.HOST_UNREACHABLE}
)


def split_relay(relay: str) -> tuple[str, str, str]:
    """`host[ip]:port` to (host, ip, port); empty strings for missing parts."""
    bracket = relay.find("[")
    if bracket < 0:
        return relay, "", ""
    close = relay.find("]", bracket)
    if close < 0:
        return relay[:bracket], "", ""
    return relay[:bracket], relay[bracket + 1 : close], relay[close + 2 :]


@dataclass(frozen=True)
class HostFamilies:
    """What the log says about one relay host, per address family."""

    host: str
    port: str
    destination: str
    mta: str
    ipv4_ok: int
    ipv6_ok: int
    ipv6_failed: int
    ipv4_addresses: tuple[str, ...]
    ipv6_addresses: tuple[str, ...]  # the ones that failed
    ipv4_first: datetime | None
    ipv4_last: datetime | None
    ipv6_first: datetime | None  # first and last IPv6 failure
    ipv6_last: datetime | None


class _Tally:
    __slots__ = (
        "destination", "mta", "port", "v4_addrs", "v4_first", "v4_last", "v4_ok",
        "v6_addrs", "v6_failed", "v6_first", "v6_last", "v6_ok",
    )  # fmt: skip

    def __init__(self) -> None:
        self.port = ""
        self.destination = ""
        self.mta = ""
        self.v4_ok = self.v6_ok = self.v6_failed = 0
        self.v4_addrs: dict[str, None] = {}
        self.v6_addrs: dict[str, None] = {}
        self.v4_first: datetime | None = None
        self.v4_last: datetime | None = None
        self.v6_first: datetime | None = None
        self.v6_last: datetime | None = None


def _named(host: str, ip: str) -> bool:
    """A relay with a real host name (not 'unknown', not an address literal)."""
    return bool(host) and bool(ip) and host not in ("unknown", ip)


# relay -> (host, or '' when it is not named; address; is IPv6): deliveries name the
# same few relays again and again.
_RELAYS: Final[dict[str, tuple[str, str, bool]]] = {}


def _relay_parts(relay: str) -> tuple[str, str, bool]:
    host, ip, _ = split_relay(relay)
    parts = (host if _named(host, ip) else "", ip, ":" in ip)
    if len(_RELAYS) >= 65536:
        _RELAYS.clear()
    _RELAYS[relay] = parts
    return parts


class FamilyTracker:
    """Bounded per-host counters, fed by the aggregator."""

    def __init__(self) -> None:
        self._hosts: dict[str, _Tally] = {}
        # Deliveries not yet folded into a tally, per relay host name (an address
        # literal or "unknown" is not a host): [IPv4 count, IPv6 count, first and last
        # IPv4 time, the stamps those were read from, the first IPv4 addresses].
        self._delivered: dict[str, list[Any]] = {}

    def _tally(self, host: str) -> _Tally | None:
        t = self._hosts.get(host)
        if t is None and len(self._hosts) < MAX_HOSTS:
            t = self._hosts[host] = _Tally()
        return t

    def delivered(self, relay: str, when: datetime | None, stamp: str = "") -> None:
        """A message went out through relay (`host[ip]:port`) at when (read from
        stamp: kept beside the first and last time, for a byte range's worker)."""
        parts = _RELAYS.get(relay)
        if parts is None:
            parts = _relay_parts(relay)
        host, ip, v6 = parts
        if not host:
            return
        entry = self._delivered.get(host)
        if entry is None:
            if len(self._delivered) >= MAX_DELIVERY_HOSTS:
                return
            entry = self._delivered[host] = [0, 0, None, None, "", "", []]
        if v6:
            entry[1] += 1
            return
        entry[0] += 1
        addresses = entry[6]
        if len(addresses) < MAX_ADDRESSES and ip not in addresses:
            addresses.append(ip)
        if when is not None:
            if entry[2] is None or when < entry[2]:
                entry[2] = when
                entry[4] = stamp
            if entry[3] is None or when > entry[3]:
                entry[3] = when
                entry[5] = stamp

    def delivered_items(self) -> list[tuple[str, list[Any]]]:
        """Deliveries per relay host not yet folded, in order of first delivery: IPv4
        and IPv6 counts, first and last IPv4 time, the stamps these were read from,
        the first IPv4 addresses."""
        return list(self._delivered.items())

    def merge_delivered(self, items: list[tuple[str, list[Any]]]) -> None:
        """Add another tracker's delivered_items() (the deliveries that came after
        this tracker's; times as datetimes): new hosts are admitted in order while
        there is room, as if each delivery had come through delivered()."""
        table = self._delivered
        for host, (v4, v6, first, last, _, _, addresses) in items:
            entry = table.get(host)
            if entry is None:
                if len(table) >= MAX_DELIVERY_HOSTS:
                    continue
                table[host] = [v4, v6, first, last, "", "", list(addresses)]
                continue
            entry[0] += v4
            entry[1] += v6
            if first is not None and (entry[2] is None or first < entry[2]):
                entry[2] = first
            if last is not None and (entry[3] is None or last > entry[3]):
                entry[3] = last
            mine = entry[6]
            for ip in addresses:
                if len(mine) >= MAX_ADDRESSES:
                    break
                if ip not in mine:
                    mine.append(ip)

    def _fold_deliveries(self) -> None:
        # Only hosts with an IPv6 failure are reported, so only their deliveries are
        # tallied (on most logs: none at all). The others wait (bounded) in case their
        # IPv6 fails later: --follow asks again.
        failing = [host for host, t in self._hosts.items() if t.v6_failed]
        for host in failing:
            entry = self._delivered.pop(host, None)
            t = self._hosts[host]
            if entry is None:
                continue
            v4, v6, first, last, _, _, addresses = entry
            t.v6_ok += v6
            if not v4:
                continue
            t.v4_ok += v4
            for ip in addresses:
                if len(t.v4_addrs) < MAX_ADDRESSES:
                    t.v4_addrs[ip] = None
            if first is not None and (t.v4_first is None or first < t.v4_first):
                t.v4_first = first
            if last is not None and (t.v4_last is None or last > t.v4_last):
                t.v4_last = last

    def failed(
        self, relay: str, cause: CauseCode, when: datetime | None, destination: str, mta: str
    ) -> None:
        """A connect to relay failed with cause (only IPv6 path failures are kept)."""
        if cause not in PATH_FAILURES:
            return
        host, ip, port = split_relay(relay)
        if ":" not in ip or not _named(host, ip):
            return
        t = self._tally(host)
        if t is None:
            return
        t.v6_failed += 1
        t.port = t.port or port
        t.destination = t.destination or destination
        t.mta = t.mta or mta
        if len(t.v6_addrs) < MAX_ADDRESSES:
            t.v6_addrs[ip] = None
        if when is not None:
            if t.v6_first is None or when < t.v6_first:
                t.v6_first = when
            if t.v6_last is None or when > t.v6_last:
                t.v6_last = when

    def snapshot(self) -> tuple[HostFamilies, ...]:
        """The hosts with any IPv6 failure, as frozen records."""
        self._fold_deliveries()
        return tuple(
            HostFamilies(
                host,
                t.port,
                t.destination,
                t.mta,
                t.v4_ok,
                t.v6_ok,
                t.v6_failed,
                tuple(t.v4_addrs),
                tuple(t.v6_addrs),
                t.v4_first,
                t.v4_last,
                t.v6_first,
                t.v6_last,
            )
            for host, t in self._hosts.items()
            if t.v6_failed
        )


def _same_period(h: HostFamilies) -> bool:
    if None in (h.ipv4_first, h.ipv4_last, h.ipv6_first, h.ipv6_last):
        return True  # no dates to compare: the same log is the period
    assert h.ipv4_first and h.ipv4_last and h.ipv6_first and h.ipv6_last
    return h.ipv4_first <= h.ipv6_last + PERIOD_SLACK and h.ipv6_first <= h.ipv4_last + PERIOD_SLACK


def _fixes(h: HostFamilies) -> tuple[str, ...]:
    first_v6 = h.ipv6_addresses[0]
    lines = [
        f"check the IPv6 path: ip -6 route get {first_v6}; smtpdoctor trace [{first_v6}]:25",
    ]
    if h.mta == "exim":
        lines.append(
            f"meanwhile make Exim use IPv4 for this host: dns_ipv4_lookup = {h.host} "
            "(main section), or disable_ipv6 = true"
        )
    else:
        lines.append(
            "meanwhile make Postfix prefer IPv4 (it still falls back to IPv6): "
            "postconf -e 'smtp_address_preference = ipv4' && postfix reload"
        )
        lines.append(
            "or stop using IPv6 for mail: postconf -e 'inet_protocols = ipv4' && postfix stop "
            "&& postfix start"
        )
    return (*lines, *describe(CauseCode.IPV6_BROKEN).fixes[:1])


def ipv6_broken(hosts: tuple[HostFamilies, ...]) -> tuple[Insight, ...]:
    """`ipv6_broken` for every host whose IPv6 addresses fail at connect while its IPv4
    addresses deliver in the same period (and IPv6 never delivered), most failures first."""
    found = []
    for h in hosts:
        if h.ipv6_failed and h.ipv4_ok and not h.ipv6_ok and _same_period(h):
            port = h.port or "25"
            found.append(
                Insight(
                    cause=CauseCode.IPV6_BROKEN,
                    host=h.host,
                    destination=h.destination,
                    failures=h.ipv6_failed,
                    successes=h.ipv4_ok,
                    failed_addresses=h.ipv6_addresses,
                    working_addresses=h.ipv4_addresses,
                    first_seen=h.ipv6_first,
                    last_seen=h.ipv6_last,
                    fixes=_fixes(h),
                    check=f"smtpdoctor check {h.host}:{port}",
                )
            )
    found.sort(key=lambda i: (-i.failures, i.host))
    return tuple(found)
