"""One entry point from a raw log line to an event, whatever the MTA.

Speed matters (busy relays write millions of lines a day): a line is first routed by
its program name, found with a few `str.find` calls, and only the few daemons that
write about deliveries get their lines split and matched by regular expressions.
Most lines of a busy relay (smtpd connect/disconnect, cleanup, pickup, TLS notes)
cost three finds and one set lookup.
"""

from __future__ import annotations

import re
from typing import Final

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.events import EventKind, LogEvent, Status
from smtpdoctor.logs.exim import parse_exim
from smtpdoctor.logs.opensmtpd import parse_opensmtpd
from smtpdoctor.logs.postfix import parse_delivery, parse_other
from smtpdoctor.logs.sendmail import parse_sendmail
from smtpdoctor.logs.syslog import (
    SyslogLine,
    locate_fields,
    normalize_header,
)

_EXIM_ID: Final = re.compile(r"(?:\[\d+\] )?[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4} ")
# Postfix daemons that write delivery status lines or client-side failures.
_DELIVERY_DAEMONS: Final = frozenset(
    {"smtp", "lmtp", "error", "retry", "discard", "virtual", "local", "pipe", "qmgr"}
)
_SERVER_DAEMONS: Final = frozenset({"smtpd", "postscreen", "submission", "smtps"})
# The words without which a line of a Postfix daemon gives no event (status= lines
# aside): the Postfix parser below and the block scanner (logs/scan.py) share them.
CLIENT_NEEDLES: Final = (
    "connect to ",
    "conversation with ",
    "lost connection with ",
    "SSL_connect error",
    "TLS handshake",
    " said: ",
    "refused to talk to me",
    "SASL authentication failed",
    "certificate verification failed",
    "Server certificate not",
)
SERVER_NEEDLES: Final = ("timeout after ",)
QMGR_NEEDLES: Final = (": removed",)
DOWN_NEEDLES: Final = ("mail system is down",)  # postqueue, postsuper: the master is stopped
# Other MTAs' lines are handed on only when they hold one of these (logs/scan.py too).
SENDMAIL_NEEDLES: Final = ("stat=", "timeout waiting for input", "Cannot send message for")
OPENSMTPD_NEEDLES: Final = (" mta ", ", stat=", "Failed to resolve MX", "Error on session")


def postfix_needles(daemon: str) -> tuple[str, ...]:
    """What a line of this Postfix daemon must hold, besides `status=`, to give an
    event (the scanner skips the others)."""
    if daemon in _SERVER_DAEMONS:
        return SERVER_NEEDLES
    if daemon not in _DELIVERY_DAEMONS:
        return DOWN_NEEDLES
    return QMGR_NEEDLES if daemon == "qmgr" else CLIENT_NEEDLES


def postfix_daemon(line: str) -> str | None:
    """The Postfix daemon ('smtp', 'qmgr', ...) whose parser parse_line hands line to,
    or None when it goes elsewhere: another MTA's line, an Exim main-log line, or a
    header that is rewritten first (RFC 5424, <PRI>). Only index arithmetic and one
    short slice: the block scanner asks it of most lines of a log."""
    if line[10:11] == " " and line[4:5] == "-":
        return None
    fields = locate_fields(line)
    if fields is None:
        return None
    return _tag(line, fields[1], fields[2])[1]


def _tag(line: str, host_end: int, colon: int) -> tuple[int, str | None]:
    """The program tag between host_end and colon: where its '[' is (-1: no pid), and
    the Postfix daemon it names (postfix/smtp, postfix-out/qmgr ...; None: a program
    without a '/', another MTA's)."""
    bracket = line.find("[", host_end + 1, colon)
    stop = bracket if bracket >= 0 else colon
    slash = line.rfind("/", host_end + 1, stop)
    return bracket, (line[slash + 1 : stop] if slash >= 0 else None)


def parse_line(line: str) -> LogEvent | None:
    """The event a line describes, or None (not interesting, or not understood).

    Trailing line ends are ignored. Never raises on any input. The line's header is
    split once; the MTA's parser gets the parts.
    """
    line = line.rstrip("\r\n")
    if line[10:11] == " " and line[4:5] == "-":
        event = parse_exim(line)
        if event is not None or _EXIM_ID.match(line, 20) or _EXIM_ID.match(line, 27):
            return event
    fields = locate_fields(line)
    if fields is None:
        header = normalize_header(line)
        fields = locate_fields(header)
        if fields is None:
            return None
        event = _dispatch(header, fields)
        if event is not None and event.raw == header:
            event = event._replace(raw=line)  # the line as written, not as rewritten
        return event
    return _dispatch(line, fields)


def _dispatch(line: str, fields: tuple[int, int, int]) -> LogEvent | None:  # noqa: PLR0911  (one return per MTA program)
    end, host_end, colon = fields
    bracket, daemon = _tag(line, host_end, colon)
    pid = line[bracket + 1 : colon - 1] if bracket >= 0 else ""
    if daemon is not None:  # postfix/smtp, postfix-out/qmgr ...
        return _postfix(line, daemon, end, colon, pid)
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


def _postfix(line: str, daemon: str, end: int, colon: int, pid: str) -> LogEvent | None:  # noqa: PLR0911  (one return per Postfix daemon's line kind)
    if daemon in _SERVER_DAEMONS:
        if SERVER_NEEDLES[0] not in line:
            return None
        return parse_other(SyslogLine(line[:end], "", daemon, pid, line[colon + 2 :]), line)
    if daemon not in _DELIVERY_DAEMONS:
        if line.endswith(DOWN_NEEDLES[0]):
            return LogEvent(
                EventKind.FAILURE, "postfix", line[:end], cause=CauseCode.MTA_STOPPED, raw=line
            )
        return None
    if "status=" in line:
        return parse_delivery(line, colon + 2, line[:end], pid)
    if daemon == "qmgr":
        if line.endswith(QMGR_NEEDLES[0]):
            # Positional: half the cost of keywords, on one line in ten of a busy log.
            return LogEvent(
                EventKind.REMOVED, "postfix", line[:end], line[colon + 2 : -9], Status.NONE,
                None, None, "", "", None, None, "", "", line, "",
            )  # fmt: skip
        return None
    for needle in CLIENT_NEEDLES:
        if needle in line:
            return parse_other(SyslogLine(line[:end], "", daemon, pid, line[colon + 2 :]), line)
    return None
