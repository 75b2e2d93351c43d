"""One entry point from a raw log line to an event, whatever the MTA.

Speed matters (busy relays write millions of lines a day): each line first meets
cheap substring tests, and only lines that can matter are split and matched by a
regular expression.
"""

from __future__ import annotations

from smtpdoctor.logs.events import LogEvent
from smtpdoctor.logs.exim import parse_exim
from smtpdoctor.logs.opensmtpd import parse_opensmtpd
from smtpdoctor.logs.postfix import parse_delivery, parse_other
from smtpdoctor.logs.sendmail import parse_sendmail
from smtpdoctor.logs.syslog import split_syslog

# Substrings of every non-delivery line any parser below cares about.
_POSTFIX_NEEDLES = (
    ": removed",
    "timeout after ",
    ": connect to ",
    ": conversation with ",
    ": lost connection with ",
    "SSL_connect error",
    "TLS handshake",
)


def parse_line(line: str) -> LogEvent | None:
    """The event a line describes, or None (not interesting, or not understood).

    Never raises on any input.
    """
    if "status=" in line:
        parts = split_syslog(line)
        if parts is None or "postfix" not in parts.program:
            return None
        return parse_delivery(parts, line)
    if line[10:11] == " " and line[4:5] == "-":
        return parse_exim(line)
    for needle in _POSTFIX_NEEDLES:
        if needle in line:
            parts = split_syslog(line)
            if parts is None:
                return None
            if "postfix" in parts.program:
                return parse_other(parts, line)
            if parts.program == "sendmail":
                return parse_sendmail(parts, line)
            return None
    if "stat=" in line or "timeout waiting for input" in line:
        parts = split_syslog(line)
        if parts is None:
            return None
        if parts.program in ("sendmail", "sm-mta"):
            return parse_sendmail(parts, line)
        if parts.program == "smtpd" and " mta " in line:
            return parse_opensmtpd(parts, line)
        return None
    if " mta " in line:
        parts = split_syslog(line)
        if parts is not None and parts.program == "smtpd":
            return parse_opensmtpd(parts, line)
        return None
    if " exim" in line and (" == " in line or " => " in line or " ** " in line):
        parts = split_syslog(line)
        if parts is not None and parts.program.startswith("exim"):
            return parse_exim(f"{_exim_stamp(parts.stamp)} {parts.message}")
    return None


def _exim_stamp(stamp: str) -> str:
    # Exim via syslog: reuse the syslog stamp only when it is RFC 3339 shaped.
    return stamp[:19].replace("T", " ") if stamp[:4].isdigit() else "1970-01-01 00:00:00"
