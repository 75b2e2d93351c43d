"""OpenSMTPD log lines to events. Pure: no IO.

Formats from OpenSMTPD's mta_session.c / mta.c: `SESSION mta error reason=TEXT` (6.0:
`SESSION mta event=error reason=TEXT`; some logs lose the session id) and
`SESSION mta delivery evpid=... from=<..> to=<..> rcpt=<..> source="..."
relay="..." delay=... result="Ok|TempFail|PermFail|Loop" stat="..."` (6.0:
`mta event=delivery`).
"""

from __future__ import annotations

import re

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.classify import domain_of, os_error_cause, reply_cause
from smtpdoctor.logs.events import EventKind, LogEvent, Status
from smtpdoctor.logs.syslog import SyslogLine
from smtpdoctor.phases import Phase

_PAIR = re.compile(r'(\w+)=(?:"([^"]*)"|(\S*))')
_RESULTS = {"Ok": Status.SENT, "TempFail": Status.DEFERRED, "PermFail": Status.BOUNCED}
_DUR = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_ERROR_MARKS = (" mta error reason=", " mta event=error reason=")


def _duration(text: str) -> float | None:
    total = sum(int(n) * _UNITS[u] for n, u in _DUR.findall(text))
    return float(total) if text else None


def _classify(text: str) -> tuple[CauseCode | None, Phase | None]:  # noqa: PLR0911  (ordered wording cascade: first match wins)
    low = text.lower()
    if "connection timeout" in low or "connect timeout" in low:
        return CauseCode.CONNECT_TIMEOUT, Phase.CONNECT
    if "tls" in low and "timeout" in low:
        return CauseCode.TLS_HANDSHAKE_TIMEOUT, Phase.STARTTLS
    if "timeout" in low:
        phase = Phase.GREETING if "banner" in low or "greeting" in low else None
        return (CauseCode.GREETING_TIMEOUT if phase else CauseCode.COMMAND_TIMEOUT), phase
    # mta.c: DNS_ENONAME is "Domain does not exist"; DNS_ENOTFOUND (the name exists,
    # without MX records) is "No MX found for domain"; DNS_NULLMX is "Domain does not
    # accept mail".
    if "domain not found" in low or "domain does not exist" in low or "nxdomain" in low:
        return CauseCode.DNS_NXDOMAIN, Phase.RESOLVE
    if "no mx found" in low:
        return CauseCode.DNS_NO_ADDRESS, Phase.RESOLVE
    if "does not accept mail" in low:
        return CauseCode.MX_NULL, Phase.RESOLVE
    if "temporary failure in mx lookup" in low or "dns error" in low:
        return CauseCode.DNS_TIMEOUT, Phase.RESOLVE
    if "connection closed" in low or ("io error" in low and "reset" in low):
        return CauseCode.CONNECTION_DROPPED, None
    cause = os_error_cause(text)
    if cause is not None:
        return cause, Phase.CONNECT
    return reply_cause(text, None), None


def _error(msg: str) -> tuple[str, str] | None:
    """(session id, reason) of an `mta error` line; the id is '' when the log lost it."""
    padded = " " + msg
    for mark in _ERROR_MARKS:
        at = padded.find(mark)
        if at >= 0:
            return padded[1:at], padded[at + len(mark) :]
    return None


def parse_opensmtpd(parts: SyslogLine, raw: str) -> LogEvent | None:
    """One `smtpd[pid]:` line about outbound delivery (`mta ...`)."""
    msg = parts.message
    error = _error(msg)
    if error is not None:
        session, reason = error
        cause, phase = _classify(reason)
        if cause is None:
            return None
        return LogEvent(
            EventKind.FAILURE,
            "opensmtpd",
            parts.stamp,
            queue_id=session,
            cause=cause,
            phase=phase,
            detail=reason,
            raw=raw,
            pid=session,  # the delivery line repeats the session id
        )
    if " mta delivery " not in msg and " mta event=delivery " not in msg:  # 6.x, 6.0
        return None
    fields = {k: (q or b) for k, q, b in _PAIR.findall(msg)}
    status = _RESULTS.get(fields.get("result", ""), Status.BOUNCED)
    cause, phase = (None, None) if status is Status.SENT else _classify(fields.get("stat", ""))
    if status is Status.BOUNCED and cause is None:
        cause = CauseCode.REJECTED
    relay = fields.get("relay", "")
    if " (" in relay:  # "203.0.113.5 (mx.example.com)" -> "mx.example.com[203.0.113.5]"
        ip, host = relay.split(" (", 1)
        relay = f"{host.rstrip(')')}[{ip}]"
    return LogEvent(
        EventKind.DELIVERY,
        "opensmtpd",
        parts.stamp,
        queue_id=fields.get("evpid", "")[:8],
        status=status,
        cause=cause,
        phase=phase,
        destination=domain_of(fields.get("to", "")),
        relay=relay,
        delay=_duration(fields.get("delay", "")),
        detail=fields.get("stat", ""),
        raw=raw,
        pid=msg.split(" ", 1)[0],
    )
