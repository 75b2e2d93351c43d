"""Splitting syslog-style lines (classic and RFC 3339 timestamps) into their parts."""

from __future__ import annotations

from typing import NamedTuple

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_SET = frozenset(MONTHS)


class SyslogLine(NamedTuple):
    """The parts of `STAMP HOST PROGRAM[PID]: MESSAGE`."""

    stamp: str
    host: str
    program: str
    pid: str
    message: str


def locate_fields(line: str) -> tuple[int, int, int] | None:
    """Where the fields of a syslog line end: (stamp end, host end, tag's ': ').

    Only index arithmetic, no objects: the log scanner calls it on every candidate line.
    """
    if line[:3] in _MONTH_SET:
        end = line.find(" ", 7)
    elif line[:4].isdigit() and line[10:11] == "T":
        end = line.find(" ")
    else:
        return None
    if end < 0:
        return None
    host_end = line.find(" ", end + 1)
    if host_end < 0:
        return None
    colon = line.find(": ", host_end + 1)
    if colon < 0:
        return None
    return end, host_end, colon


def split_syslog(line: str) -> SyslogLine | None:
    """Split a syslog line; None when it does not have that shape.

    Accepts `Nov 27 23:10:01 host prog[1]: msg` (with optional fractional seconds)
    and `2026-11-27T23:10:01.123+00:00 host prog[1]: msg`.
    """
    fields = locate_fields(line)
    if fields is None:
        return None
    end, host_end, colon = fields
    tag = line[host_end + 1 : colon]
    bracket = tag.find("[")
    if bracket >= 0:
        program, pid = tag[:bracket], tag[bracket + 1 : -1]
    else:
        program, pid = tag, ""
    return SyslogLine(line[:end], line[end + 1 : host_end], program, pid, line[colon + 2 :])


def looks_like_log_line(line: str) -> bool:
    """Cheap test: does the line start like any log format we read (month or digit)?"""
    return line[:3] in _MONTH_SET or "0" <= line[:1] <= "9"
