"""Splitting syslog-style lines (classic and RFC 3339 timestamps) into their parts."""

from __future__ import annotations

from typing import Final, NamedTuple

MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_SET: Final = frozenset(MONTHS)


class SyslogLine(NamedTuple):
    """The parts of `STAMP HOST PROGRAM[PID]: MESSAGE`."""

    stamp: str
    host: str
    program: str
    pid: str
    message: str


def locate_fields(line: str) -> tuple[int, int, int] | None:
    """Where the fields of a syslog line end: (stamp end, host end, tag's ': '); None
    when the line has no syslog header."""
    fields = header_fields(line)
    return fields if fields[0] >= 0 else None


def header_fields(
    text: str, start: int = 0, stop: int = -1, usual_month: str = ""
) -> tuple[int, int, int]:
    """locate_fields of the line text[start:stop] (stop -1: the end of text), as offsets
    in text, with (-1, -1, -1) for no header. Compiled, a tuple that may be None is a
    new object per call and this one is not, and a line read in place in its block is
    never copied: the parser asks this of every line.

    usual_month, a month name (MONTHS) that most lines start with, is looked for first:
    three characters compared in place (compiled, a little cheaper than a bounded
    find), where taking the line's first three characters out to look them up costs
    several times as much. Only index arithmetic, no objects.
    """
    if stop < 0:
        stop = len(text)
    usual = (
        len(usual_month) == 3
        and stop - start > 3
        and ord(text[start]) == ord(usual_month[0])
        and ord(text[start + 1]) == ord(usual_month[1])
        and ord(text[start + 2]) == ord(usual_month[2])
    )
    if usual or text[start : start + 3] in _MONTH_SET:
        end = text.find(" ", start + 7, stop)
    elif stop - start > 10 and text[start + 10] == "T" and text[start : start + 4].isdigit():
        end = text.find(" ", start, stop)
    else:
        return -1, -1, -1
    if end < 0:
        return -1, -1, -1
    host_end = text.find(" ", end + 1, stop)
    if host_end < 0:
        return -1, -1, -1
    colon = text.find(": ", host_end + 1, stop)
    if colon < 0:
        return -1, -1, -1
    # `host mail.info postfix/smtp[1]:` (a facility.level field, syslog-ng and some
    # rsyslog templates): the program is the last word before the colon.
    space = text.rfind(" ", host_end + 1, colon)
    if space >= 0:
        host_end = space
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


def normalize_header(line: str) -> str:
    """Rewrite the rarer header shapes as `STAMP HOST PROGRAM[PID]: MESSAGE`.

    Handles a leading `<PRI>` (RFC 3164 as sent on the wire), RFC 5424
    (`<PRI>1 STAMP HOST APP PROCID MSGID SD MSG`) and ISO stamps written with a space
    (`2026-11-27 23:10:01 host prog[1]: msg`). Other lines come back unchanged.
    """
    if line[:1] == "<":
        close = line.find(">", 1, 6)
        if close > 0 and line[1:close].isdigit():
            rest = line[close + 1 :]
            if rest[:2] == "1 ":
                return _rfc5424(rest[2:]) or line
            return rest
        return line
    if line[4:5] == "-" and line[10:11] == " " and line[:4].isdigit():
        return line[:10] + "T" + line[11:]
    return line


def _rfc5424(rest: str) -> str | None:
    parts = rest.split(" ", 5)
    if len(parts) < 6:
        return None
    stamp, host, app, procid, _msgid, tail = parts
    if tail.startswith("-"):
        msg = tail[2:]
    elif tail.startswith("["):
        end = tail.find("] ")
        while end >= 0 and tail[end + 2 : end + 3] == "[":
            end = tail.find("] ", end + 2)
        msg = tail[end + 2 :] if end >= 0 else ""
    else:
        return None
    msg = msg.removeprefix("\ufeff")  # RFC 5424 BOM before a UTF-8 message
    tag = app if procid == "-" else f"{app}[{procid}]"
    return f"{stamp} {host} {tag}: {msg}"


def looks_like_log_line(line: str) -> bool:
    """Cheap test: does the line start like any log format we read (month or digit)?"""
    return line[:3] in _MONTH_SET or "0" <= line[:1] <= "9"
