"""One entry point from a raw log line to an event, whatever the MTA.

Speed matters (busy relays write millions of lines a day): a line is first routed by
its program name, found with a few `str.find` calls, and only the few daemons that
write about deliveries get their lines split and matched by regular expressions.
Most lines of a busy relay (smtpd connect/disconnect, cleanup, pickup, TLS notes)
cost three finds and one set lookup.
"""

from __future__ import annotations

import re

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

_EXIM_ID = re.compile(r"(?:\[\d+\] )?[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4} ")
# Postfix daemons that write delivery status lines or client-side failures.
_DELIVERY_DAEMONS = frozenset(
    {"smtp", "lmtp", "error", "retry", "discard", "virtual", "local", "pipe", "qmgr"}
)
_SERVER_DAEMONS = frozenset({"smtpd", "postscreen", "submission", "smtps"})
_CLIENT_NEEDLES = (
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
    bracket = line.find("[", host_end + 1, colon)
    if bracket >= 0:
        program, pid = line[host_end + 1 : bracket], line[bracket + 1 : colon - 1]
    else:
        program, pid = line[host_end + 1 : colon], ""
    slash = program.rfind("/")
    if slash >= 0:  # postfix/smtp, postfix-out/qmgr ...
        return _postfix(line, program[slash + 1 :], end, colon, pid)
    if program.startswith(("sendmail", "sm-")):  # sm-mta, sm-msp-queue, sendmail-mta
        if (
            "stat=" in line
            or "timeout waiting for input" in line
            or "Cannot send message for" in line
        ):
            return parse_sendmail(_parts(line, end, host_end, colon, program, pid), line)
        return None
    if program in ("smtpd", "transfer"):  # OpenSMTPD ('transfer': 5.x mta process title)
        if (
            " mta " not in line
            and ", stat=" not in line
            and "Failed to resolve MX" not in line
            and "Error on session" not in line
        ):
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
        if "timeout after " not in line:
            return None
        return parse_other(SyslogLine(line[:end], "", daemon, pid, line[colon + 2 :]), line)
    if daemon not in _DELIVERY_DAEMONS:
        if line.endswith("mail system is down"):  # postqueue, postsuper: the master is stopped
            return LogEvent(
                EventKind.FAILURE, "postfix", line[:end], cause=CauseCode.MTA_STOPPED, raw=line
            )
        return None
    if "status=" in line:
        return parse_delivery(line, colon + 2, line[:end], pid)
    if daemon == "qmgr":
        if line.endswith(": removed"):
            # Positional: half the cost of keywords, on one line in ten of a busy log.
            return LogEvent(
                EventKind.REMOVED, "postfix", line[:end], line[colon + 2 : -9], Status.NONE,
                None, None, "", "", None, None, "", "", line, "",
            )  # fmt: skip
        return None
    for needle in _CLIENT_NEEDLES:
        if needle in line:
            return parse_other(SyslogLine(line[:end], "", daemon, pid, line[colon + 2 :]), line)
    return None
