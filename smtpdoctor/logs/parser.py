"""One entry point from a raw log line to an event, whatever the MTA.

Speed matters (busy relays write millions of lines a day): a line is first routed by
its program name, found with a few `str.find` calls, and only the few daemons that
write about deliveries get their lines split and matched by regular expressions.
Most lines of a busy relay (smtpd connect/disconnect, cleanup, pickup, TLS notes)
cost three finds and one set lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from smtpdoctor.logs.events import EventKind, LogEvent
from smtpdoctor.logs.exim import parse_exim
from smtpdoctor.logs.opensmtpd import parse_opensmtpd
from smtpdoctor.logs.postfix import parse_delivery, parse_other
from smtpdoctor.logs.sendmail import parse_sendmail
from smtpdoctor.logs.syslog import (
    MONTHS,
    SyslogLine,
    locate_fields,
    normalize_header,
    split_syslog,
)

_MONTH_SET = frozenset(MONTHS)
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
_SENDMAIL_NEEDLES = ("stat=", "timeout waiting for input")


def parse_line(line: str) -> LogEvent | None:
    """The event a line describes, or None (not interesting, or not understood).

    Trailing line ends are ignored. Never raises on any input.
    """
    if line[10:11] == " " and line[4:5] == "-":
        event = parse_exim(line.rstrip("\r\n"))
        if event is not None or _EXIM_ID.match(line, 20) or _EXIM_ID.match(line, 27):
            return event
    fields = locate_fields(line)
    if fields is None:
        line = normalize_header(line)
        fields = locate_fields(line)
        if fields is None:
            return None
    _, host_end, tag_end = fields
    bracket = line.find("[", host_end + 1, tag_end)
    program = line[host_end + 1 : bracket if bracket >= 0 else tag_end]
    slash = program.rfind("/")
    if slash >= 0:  # postfix/smtp, postfix-out/qmgr ...
        return _postfix(line, program[slash + 1 :])
    if program.startswith(("sendmail", "sm-")):  # sm-mta, sm-msp-queue, sendmail-mta
        if "stat=" in line or "timeout waiting for input" in line:
            return _with(parse_sendmail, line)
        return None
    if program == "smtpd":  # OpenSMTPD
        return _with(parse_opensmtpd, line) if " mta " in line else None
    if program.startswith("exim"):
        parts = split_syslog(line.rstrip("\r\n"))
        if parts is None or parts.message[:1] == "":
            return None
        stamp = parts.stamp[:19].replace("T", " ") if parts.stamp[:4].isdigit() else ""
        return parse_exim(f"{stamp or '1970-01-01 00:00:00'} {parts.message}")
    return None


def _postfix(line: str, daemon: str) -> LogEvent | None:
    if daemon in _SERVER_DAEMONS:
        return _with(parse_other, line) if "timeout after " in line else None
    if daemon not in _DELIVERY_DAEMONS:
        return None
    if "status=" in line:
        return _with(parse_delivery, line)
    if daemon == "qmgr":
        text = line.rstrip("\r\n")
        if text.endswith(": removed"):
            parts = split_syslog(text)
            if parts is None:
                return None
            return LogEvent(
                EventKind.REMOVED, "postfix", parts.stamp, queue_id=parts.message[:-9], raw=text
            )
        return None
    for needle in _CLIENT_NEEDLES:
        if needle in line:
            return _with(parse_other, line)
    return None


def _with(parser: Callable[[SyslogLine, str], LogEvent | None], line: str) -> LogEvent | None:
    text = line.rstrip("\r\n")
    parts = split_syslog(text)
    return None if parts is None else parser(parts, text)
