"""Pure parts of the TCP traceroute: the error-queue parser, last_answering_hop, renderers."""

from __future__ import annotations

import json
import socket
import struct

from smtpdoctor.net.trace import (
    IP_RECVERR,
    IPV6_RECVERR,
    SO_EE_ORIGIN_ICMP,
    SO_EE_ORIGIN_ICMP6,
    Hop,
    HopKind,
    TraceResult,
    last_answering_hop,
    parse_error_queue,
)
from smtpdoctor.report import trace_json, trace_terminal


def ee(origin: int, icmp_type: int, code: int) -> bytes:
    return struct.pack("=IBBBBII", 113, origin, icmp_type, code, 0, 0, 0)


def test_parse_ipv4_time_exceeded() -> None:
    offender = struct.pack("=HH", socket.AF_INET, 0) + socket.inet_aton("198.51.100.1") + bytes(8)
    anc = [(socket.IPPROTO_IP, IP_RECVERR, ee(SO_EE_ORIGIN_ICMP, 11, 0) + offender)]
    assert parse_error_queue(anc) == (SO_EE_ORIGIN_ICMP, 11, 0, "198.51.100.1")


def test_parse_ipv6_unreachable() -> None:
    addr = socket.inet_pton(socket.AF_INET6, "2001:db8:2::2")
    offender = struct.pack("=HHI", socket.AF_INET6, 0, 0) + addr + bytes(4)
    anc = [(socket.IPPROTO_IPV6, IPV6_RECVERR, ee(SO_EE_ORIGIN_ICMP6, 1, 1) + offender)]
    assert parse_error_queue(anc) == (SO_EE_ORIGIN_ICMP6, 1, 1, "2001:db8:2::2")


def test_parse_ignores_other_and_short_messages() -> None:
    assert parse_error_queue([]) is None
    assert parse_error_queue([(socket.IPPROTO_IP, IP_RECVERR, b"\x00" * 8)]) is None
    assert parse_error_queue([(socket.SOL_SOCKET, 1, ee(2, 11, 0) + bytes(16))]) is None
    unknown_family = ee(SO_EE_ORIGIN_ICMP, 11, 0) + struct.pack("=H", 99) + bytes(14)
    assert parse_error_queue([(socket.IPPROTO_IP, IP_RECVERR, unknown_family)]) is None


HOPS = (
    Hop(1, HopKind.TIME_EXCEEDED, "198.51.100.1", 0.4),
    Hop(2, HopKind.TIME_EXCEEDED, "198.51.100.18", 0.5),
    Hop(3, HopKind.SILENT),
    Hop(4, HopKind.SILENT),
)
DROPPED = TraceResult("s1.lab.test", "203.0.113.10", 25, HOPS, False, "silent", 30, 1.0, 1003.0)


def test_last_answering_hop() -> None:
    assert last_answering_hop(DROPPED) == HOPS[1]
    nothing = TraceResult("x", "203.0.113.10", 25, (Hop(1, HopKind.SILENT),), False, "silent",
                          30, 1.0, 1000.0)  # fmt: skip
    assert last_answering_hop(nothing) is None


def test_renderers() -> None:
    doc = json.loads(trace_json.render(DROPPED))
    assert doc["schema"] == "smtpdoctor.trace/1"
    last = {"ttl": 2, "kind": "time_exceeded", "address": "198.51.100.18", "rtt_ms": 0.5}
    assert doc["last_answering_hop"] == {**last, "detail": ""}
    assert doc["hops"][2] == {"ttl": 3, "kind": "silent", "address": None, "rtt_ms": None,
                              "detail": ""}  # fmt: skip
    text = trace_terminal.render(DROPPED)
    assert "TCP trace to s1.lab.test 203.0.113.10:25 (IPv4)" in text
    assert "Last answering hop: 198.51.100.18 (hop 2)" in text
    assert "  3  *" in text
