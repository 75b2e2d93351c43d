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
from smtpdoctor.logs.postfix import may_be_attempt, parse_delivery, parse_other
from smtpdoctor.logs.sendmail import parse_sendmail
from smtpdoctor.logs.syslog import MONTHS, SyslogLine, header_fields, normalize_header

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
    """The events of a block of '\\n'-terminated lines, in order: what parse_line gives
    for each line."""
    events: list[LogEvent] = []
    read_block(block, events)
    return events


def read_block(block: str, events: list[LogEvent]) -> int:
    """Append the events of a block of '\\n'-terminated lines to events, in order (what
    parse_line gives for each line); returns the number of lines.

    The block is read in place: a line is routed with finds between its bounds, and
    only a line that may give an event is copied out of the block (the others, most
    lines of a busy relay, never are). A line whose parser fails gives no event (a
    parser bug must not lose the whole run)."""
    crlf = "\r" in block
    size = len(block)
    lines = 0
    start = 0
    month = block[:3]  # the month most lines of a block of classic syslog start with
    if month not in MONTHS:
        month = ""
    while start < size:
        stop = block.find("\n", start)
        if stop < 0:
            stop = size  # a last line without its '\\n'
        else:
            lines += 1
        end = stop
        if crlf:
            while end > start and block[end - 1] == "\r":
                end -= 1
        try:
            event = _parse_span(block, start, end, month)
        except Exception:  # one line the parser fails on, not the whole run
            event = None
        if event is not None:
            events.append(event)
        start = stop + 1
    return lines


def _parse_span(block: str, start: int, end: int, month: str) -> LogEvent | None:
    """_parse of block[start:end], a Postfix daemon's line routed in place (month: the
    block's usual month name, for header_fields)."""
    if not (end - start > 10 and block[start + 10] == " " and block[start + 4] == "-"):
        stamp_end, host_end, colon = header_fields(block, start, end, month)
        if stamp_end >= 0:
            bracket, slash = _tag(block, host_end, colon)
            if slash >= 0:  # postfix/smtp, postfix-out/qmgr ...
                kind = _kind(block, slash, bracket, colon)
                if not _worth_reading(block, start, end, colon + 2, kind):
                    return None
                line = block[start:end]
                return _postfix(
                    line,
                    kind,
                    slash - start,
                    stamp_end - start,
                    colon - start,
                    bracket - start if bracket >= 0 else -1,
                )
    return _parse(block[start:end])  # Exim's main log, another MTA, another header


def _worth_reading(text: str, start: int, end: int, at: int, kind: int) -> bool:
    """May the line text[start:end] of a Postfix daemon of this kind, whose message
    starts at offset at, give an event? (The words _postfix looks for, looked for in
    place.)"""
    if kind == _SERVER:
        return text.find(_SERVER_NEEDLE, start, end) >= 0
    if kind == _OTHER:
        return end - len(_DOWN) >= start and text.find(_DOWN, end - len(_DOWN), end) >= 0
    if text.find(STATUS, start, end) >= 0:
        return True
    if kind == _QMGR:
        return end - len(_REMOVED) >= start and text.find(_REMOVED, end - len(_REMOVED), end) >= 0
    # smtp, lmtp...: ten words; first a quicker no for the TLS notes and the like.
    if not may_be_attempt(text, at, end):
        return False
    return any(text.find(needle, start, end) >= 0 for needle in CLIENT_NEEDLES)


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
    bracket, slash = _tag(line, host_end, colon)
    if slash >= 0:  # postfix/smtp, postfix-out/qmgr ...
        kind = _kind(line, slash, bracket, colon)
        return _postfix(line, kind, slash, end, colon, bracket)
    if not (wanted or wanted_elsewhere(line)):
        return None
    return _program(line, end, host_end, colon, bracket)


def _tag(line: str, host_end: int, colon: int) -> tuple[int, int]:
    """Where the program tag between host_end and colon has its '[' (-1: no pid), and
    the '/' before the name of the Postfix daemon it names (postfix/smtp,
    postfix-out/qmgr ...; -1: a program without a '/', another MTA's)."""
    bracket = line.find("[", host_end + 1, colon)
    return bracket, line.rfind("/", host_end + 1, bracket if bracket >= 0 else colon)


def _daemon(line: str, slash: int, bracket: int, colon: int) -> str:
    return line[slash + 1 : bracket if bracket >= 0 else colon]


def _kind(line: str, slash: int, bracket: int, colon: int) -> int:
    """What the lines of the Postfix daemon named after slash may be about (_SERVER...)."""
    start = slash + 1
    size = (bracket if bracket >= 0 else colon) - start
    # The four daemons that write nearly every line of a relay's log, told by a
    # bounded find in place: taking the name out to look it up costs twice as much.
    if size == 5 and line.find("smtpd", start, start + 5) == start:
        return _SERVER
    if size == 4:
        if line.find("smtp", start, start + 4) == start:
            return _DELIVERY
        if line.find("qmgr", start, start + 4) == start:
            return _QMGR
    elif size == 7 and line.find("cleanup", start, start + 7) == start:
        return _OTHER
    return _DAEMON_KINDS.get(_daemon(line, slash, bracket, colon), _OTHER)


def _pid(line: str, bracket: int, colon: int) -> str:
    return line[bracket + 1 : colon - 1] if bracket >= 0 else ""


def _dispatch(line: str, end: int, host_end: int, colon: int) -> LogEvent | None:
    bracket, slash = _tag(line, host_end, colon)
    if slash >= 0:
        kind = _kind(line, slash, bracket, colon)
        return _postfix(line, kind, slash, end, colon, bracket)
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


def _postfix(  # noqa: PLR0911  (one return per Postfix daemon's line kind)
    line: str, kind: int, slash: int, end: int, colon: int, bracket: int
) -> LogEvent | None:
    if kind == _SERVER:
        if _SERVER_NEEDLE not in line:
            return None
        return parse_other(_postfix_parts(line, slash, end, colon, bracket), line)
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
            return parse_other(_postfix_parts(line, slash, end, colon, bracket), line)
    return None


def _postfix_parts(line: str, slash: int, end: int, colon: int, bracket: int) -> SyslogLine:
    daemon = _daemon(line, slash, bracket, colon)
    return SyslogLine(line[:end], "", daemon, _pid(line, bracket, colon), line[colon + 2 :])
