"""From raw log lines to events, whatever the MTA: one line (parse_line) or a block of
lines (parse_block), which give the same events.

Speed matters (busy relays write millions of lines a day, most of them about nothing
that fails). A line is routed by its program name, found with a few `str.find` calls
and no copy of the line. A Postfix daemon's line goes on only if it holds one of its
daemon's words, and any other line only if it holds a word of an MTA it could be from
(logs/needles.py), tested with `in`. Only the few lines that can give an event are
split and matched by regular expressions: most lines of a busy relay (smtpd
connect/disconnect, cleanup, qmgr `from=`, TLS notes) cost a few finds and one or two
`in` tests, and no line is routed twice.
"""

from __future__ import annotations

import re
from typing import Final

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.events import EventKind, LogEvent, Status, new_event
from smtpdoctor.logs.exim import parse_exim
from smtpdoctor.logs.needles import (
    CLIENT_NEEDLES,
    DOWN_NEEDLES,
    OPENSMTPD_NEEDLES,
    QMGR_NEEDLES,
    SENDMAIL_NEEDLES,
    SERVER_NEEDLES,
    STATUS,
    wanted_elsewhere,
)
from smtpdoctor.logs.opensmtpd import parse_opensmtpd
from smtpdoctor.logs.postfix import parse_delivery, parse_other
from smtpdoctor.logs.sendmail import parse_sendmail
from smtpdoctor.logs.syslog import SyslogLine, header_fields, normalize_header

_EXIM_ID: Final = re.compile(r"(?:\[\d+\] )?[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4} ")
# Postfix daemons that write delivery status lines or client-side failures.
_DELIVERY_DAEMONS: Final = ("smtp", "lmtp", "error", "retry", "discard", "virtual", "local", "pipe")
_SERVER_DAEMONS: Final = ("smtpd", "postscreen", "submission", "smtps")
# What a Postfix daemon's lines may be about: one lookup per line (the daemon's name
# is a new string on every line, so each lookup hashes it).
_SERVER: Final = 1
_DELIVERY: Final = 2
_QMGR: Final = 3
_OTHER: Final = 4
_DAEMON_KINDS: Final[dict[str, int]] = {
    **dict.fromkeys(_SERVER_DAEMONS, _SERVER),
    **dict.fromkeys(_DELIVERY_DAEMONS, _DELIVERY),
    "qmgr": _QMGR,
}
_SERVER_NEEDLE: Final = SERVER_NEEDLES[0]
_DOWN: Final = DOWN_NEEDLES[0]
_REMOVED: Final = QMGR_NEEDLES[0]
_REMOVED_KIND: Final = EventKind.REMOVED
_NO_STATUS: Final = Status.NONE
_MTA_STOPPED: Final = CauseCode.MTA_STOPPED


def parse_block(block: str) -> list[LogEvent]:
    """The events of a block of '\\n'-separated lines, in order: what parse_line gives
    for each line."""
    return parse_lines(block.split("\n"), "\r" in block)


def parse_lines(lines: list[str], crlf: bool = True) -> list[LogEvent]:
    """The events of lines (without their '\\n'; a trailing '\\r' is dropped where
    crlf is true), in order. A line whose parser fails gives no event (a parser bug
    must not lose the whole run)."""
    events: list[LogEvent] = []
    for text in lines:
        try:
            event = _parse(text.rstrip("\r") if crlf else text)
        except Exception:  # one line the parser fails on, not the whole run
            continue
        if event is not None:
            events.append(event)
    return events


def parse_line(line: str) -> LogEvent | None:
    """The event a line describes, or None (not interesting, or not understood).

    Trailing line ends are ignored. Never raises on any input. The line's header is
    split once; the MTA's parser gets the parts.
    """
    return _parse(line.rstrip("\r\n"))


def _parse(line: str, gated: bool = True) -> LogEvent | None:  # noqa: PLR0911  (one return per route)
    # gated=False (tests): every line goes to its parser, wanted or not, to show that
    # the needles only ever skip lines the parsers would have found nothing in.
    wanted = not gated  # or wanted_elsewhere(line), once it has been asked
    if line[10:11] == " " and line[4:5] == "-":  # Exim's main log: "2026-11-27 10:00:00 "
        if not (wanted or wanted_elsewhere(line)):
            return None
        wanted = True
        event = parse_exim(line)
        if event is not None or _EXIM_ID.match(line, 20) or _EXIM_ID.match(line, 27):
            return event
    end, host_end, colon = header_fields(line)
    if end < 0:  # a header rewritten first (RFC 5424, <PRI>, an ISO stamp with a space)
        if not (wanted or wanted_elsewhere(line)):
            return None
        header = normalize_header(line)
        end, host_end, colon = header_fields(header)
        if end < 0:
            return None
        event = _dispatch(header, end, host_end, colon)
        if event is not None and event.raw == header:
            event = event._replace(raw=line)  # the line as written, not as rewritten
        return event
    bracket, daemon = _tag(line, host_end, colon)
    if daemon is not None:  # postfix/smtp, postfix-out/qmgr ...
        return _postfix(line, daemon, end, colon, bracket)
    if not (wanted or wanted_elsewhere(line)):
        return None
    return _program(line, end, host_end, colon, bracket)


def _tag(line: str, host_end: int, colon: int) -> tuple[int, str | None]:
    """The program tag between host_end and colon: where its '[' is (-1: no pid), and
    the Postfix daemon it names (postfix/smtp, postfix-out/qmgr ...; None: a program
    without a '/', another MTA's)."""
    bracket = line.find("[", host_end + 1, colon)
    stop = bracket if bracket >= 0 else colon
    slash = line.rfind("/", host_end + 1, stop)
    return bracket, (line[slash + 1 : stop] if slash >= 0 else None)


def _pid(line: str, bracket: int, colon: int) -> str:
    return line[bracket + 1 : colon - 1] if bracket >= 0 else ""


def _dispatch(line: str, end: int, host_end: int, colon: int) -> LogEvent | None:
    bracket, daemon = _tag(line, host_end, colon)
    if daemon is not None:
        return _postfix(line, daemon, end, colon, bracket)
    return _program(line, end, host_end, colon, bracket)


def _program(line: str, end: int, host_end: int, colon: int, bracket: int) -> LogEvent | None:  # noqa: PLR0911  (one return per MTA program)
    """A line of a program that is not a Postfix daemon: Sendmail, OpenSMTPD, Exim."""
    pid = _pid(line, bracket, colon)
    program = line[host_end + 1 : bracket if bracket >= 0 else colon]
    if program.startswith(("sendmail", "sm-")):  # sm-mta, sm-msp-queue, sendmail-mta
        if any(needle in line for needle in SENDMAIL_NEEDLES):
            return parse_sendmail(_parts(line, end, host_end, colon, program, pid), line)
        return None
    if program in ("smtpd", "transfer"):  # OpenSMTPD ('transfer': 5.x mta process title)
        if not any(needle in line for needle in OPENSMTPD_NEEDLES):
            return None
        return parse_opensmtpd(_parts(line, end, host_end, colon, program, pid), line)
    if program.startswith("exim"):
        message = line[colon + 2 :]
        if not message:
            return None
        stamp = line[:end]
        stamp = stamp[:19].replace("T", " ") if stamp[:4].isdigit() else ""
        return parse_exim(f"{stamp or '1970-01-01 00:00:00'} {message}")
    return None


def _parts(line: str, end: int, host_end: int, colon: int, program: str, pid: str) -> SyslogLine:
    return SyslogLine(line[:end], line[end + 1 : host_end], program, pid, line[colon + 2 :])


def _postfix(line: str, daemon: str, end: int, colon: int, bracket: int) -> LogEvent | None:  # noqa: PLR0911  (one return per Postfix daemon's line kind)
    kind = _DAEMON_KINDS.get(daemon, _OTHER)
    if kind == _SERVER:
        if _SERVER_NEEDLE not in line:
            return None
        parts = SyslogLine(line[:end], "", daemon, _pid(line, bracket, colon), line[colon + 2 :])
        return parse_other(parts, line)
    if kind == _OTHER:
        if line.endswith(_DOWN):
            return LogEvent(EventKind.FAILURE, "postfix", line[:end], cause=_MTA_STOPPED, raw=line)
        return None
    if STATUS in line:
        return parse_delivery(line, colon + 2, line[:end], _pid(line, bracket, colon))
    if kind == _QMGR:
        if line.endswith(_REMOVED):
            return new_event(
                LogEvent,
                (
                    _REMOVED_KIND, "postfix", line[:end], line[colon + 2 : -9], _NO_STATUS,
                    None, None, "", "", None, None, "", "", line, "",
                ),
            )  # fmt: skip
        return None
    for needle in CLIENT_NEEDLES:
        if needle in line:
            parts = SyslogLine(
                line[:end], "", daemon, _pid(line, bracket, colon), line[colon + 2 :]
            )
            return parse_other(parts, line)
    return None
