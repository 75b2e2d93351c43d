"""Exim main log lines to events. Pure: no IO.

Format: Exim specification chapter "Log files" (`<=`, `=>`, `->`, `**`, `==`,
`Completed`), message ids old (`1r5XYZ-000ABC-DE`, 6-6-2) and new (4.97+, 6-11-4),
optional `[pid]` and time zone from `log_selector`. The `defer (errno)` and
`SMTP timeout after ...` texts come from src/transports/smtp.c.
"""

from __future__ import annotations

import re

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.classify import (
    ERRNO_CAUSES,
    domain_of,
    os_error_cause,
    phase_from_words,
    reply_cause,
    timeout_cause_for_phase,
)
from smtpdoctor.logs.events import EventKind, LogEvent, Status
from smtpdoctor.phases import Phase

_HEAD = re.compile(
    r"(?P<stamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [+-]\d{4})?)"
    r"(?: \[(?P<pid>\d+)\])? (?P<mid>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}) "
    r"(?P<rest>.*)"
)
_DEFER = re.compile(r"defer \((?P<errno>-?\d+)\)(?P<more>.*)")
_HOSTIP = re.compile(r"H=(?P<host>\S+) \[(?P<ip>[^\]]+)\](?::(?P<port>\d+))?")
_AFTER = re.compile(
    r"(?:timeout|closed connection|error from remote mail server|lmtp error|prdr error"
    r"|smtp error)"
    r" (?:after|in response to) (?P<what>.*?)(?::|$)"
)
_AFTER_RESPONSE = re.compile(r"in response to (?P<what>.*?)(?::|$)")
_FLAGS = ("==", "**", "=>", "->", "*>")

ERRNO_RETRY_NOT_REACHED = -53
# -53 and -54: "retry time not reached" (the latter, for every host, is what Exim 4.96
# writes for a host in its retry wait: seen in tests/logs/test_exim_retry_real.py).
RETRY_ERRNOS = frozenset({-53, -54})
RETRY_NOT_REACHED = "retry time not reached"  # the detail of such lines (no cause of their own)


def _relay(text: str) -> str:
    m = _HOSTIP.search(text)
    if m is None:
        return ""
    port = m.group("port")
    return f"{m.group('host')}[{m.group('ip')}]" + (f":{port}" if port else "")


def classify_exim(text: str) -> tuple[CauseCode | None, Phase | None]:  # noqa: PLR0911, PLR0912  (ordered wording cascade: first match wins)
    """Cause and phase for the error part of an Exim `==` or `**` line."""
    low = text.lower()
    if (
        "retry timeout exceeded" in low
        or "after a long failure period" in low
        or "have been failing for a long time" in low
    ):
        return CauseCode.RETRY_EXPIRED, None
    m = _DEFER.search(text)
    errno = int(m.group("errno")) if m else None
    is_tls = "tls session" in low or "tls error" in low or "gnutls" in low or "ssl_" in low
    if is_tls and ("timed out" in low or "timeout" in low):
        return CauseCode.TLS_HANDSHAKE_TIMEOUT, Phase.STARTTLS
    if "a tls session is required, but the server did not offer" in low:
        return CauseCode.STARTTLS_MISSING, Phase.EHLO
    if (
        is_tls
        and "certificate" in low
        and (
            "verification failed" in low
            or "revoked" in low
            or "invalid" in low
            or "out-of-date" in low
            or "status" in low
            or "expired" in low
        )
    ):
        return CauseCode.TLS_CERT_INVALID, Phase.STARTTLS
    if "malformed smtp reply" in low:
        a = _AFTER_RESPONSE.search(low)
        return CauseCode.PROTOCOL_VIOLATION, _exim_phase(a.group("what")) if a else None
    if "smtp timeout after" in low or ("timed out" in low and " after " in low):
        a = _AFTER.search(low)
        what = a.group("what") if a else ""
        phase = _exim_phase(what)
        return timeout_cause_for_phase(phase), phase
    if (
        "error from remote mail server after" in low
        or "lmtp error after" in low
        or "prdr error after" in low
        or " said: " in low
    ):
        a = _AFTER.search(low)
        phase = _exim_phase(a.group("what")) if a else None
        return reply_cause(text[a.end() :] if a else text, phase), phase
    if "closed connection" in low:
        a = _AFTER.search(low)
        phase = _exim_phase(a.group("what")) if a else None
        return CauseCode.CONNECTION_DROPPED, phase
    if is_tls:
        return CauseCode.TLS_FAILED, Phase.STARTTLS
    if "mailbox is full" in low or "quota exceeded" in low:
        return CauseCode.MAILBOX_FULL, None
    if "indicated no smtp service" in low:  # the dnslookup router meeting a null MX
        return CauseCode.MX_NULL, Phase.RESOLVE
    if "missing mx, or all mxs point to missing a records" in low or (
        "all relevant mx records point to non-existent hosts" in low
    ):
        return CauseCode.DNS_NO_ADDRESS, Phase.RESOLVE
    if "unrouteable address" in low or "unrouteable domain" in low:
        return CauseCode.DNS_NXDOMAIN, Phase.RESOLVE
    if ("host lookup" in low and "did not complete" in low) or (
        "dns lookup" in low and "timed" in low
    ):
        return CauseCode.DNS_TIMEOUT, Phase.RESOLVE
    cause = os_error_cause(text)
    if cause is not None:
        return cause, Phase.CONNECT
    if errno is not None and errno in ERRNO_CAUSES:
        return ERRNO_CAUSES[errno], Phase.CONNECT
    return None, None


def _exim_phase(what: str) -> Phase | None:
    what = what.split(":<", 1)[0].removeprefix("pipelined ")
    if what.startswith("initial connection"):
        return Phase.GREETING
    if what.startswith(("end of data", "pipelined end of data")):
        return Phase.EOD
    if what.startswith(("sending data block", "data block")):
        return Phase.BODY
    return phase_from_words(what)


def parse_exim(line: str) -> LogEvent | None:  # noqa: PLR0911  (one return per Exim line kind)
    """One Exim main log line, or None when it is not about a delivery."""
    m = _HEAD.match(line)
    if m is None:
        return None
    rest = m.group("rest")
    stamp, mid, pid = m.group("stamp"), m.group("mid"), m.group("pid") or ""
    flag = rest[:2]
    if rest == "Completed" or rest.startswith("Completed "):
        return LogEvent(EventKind.REMOVED, "exim", stamp, queue_id=mid, raw=line)
    if flag not in _FLAGS:
        if "authenticator failed H=" in rest or "authenticator cancelled" in rest:
            unavailable = " 503 " in rest and "not advertised" in rest
            return LogEvent(
                EventKind.FAILURE,
                "exim",
                stamp,
                queue_id=mid,
                cause=CauseCode.AUTH_UNAVAILABLE if unavailable else CauseCode.AUTH_FAILED,
                phase=Phase.AUTH,
                relay=_relay(rest),
                detail=rest,
                raw=line,
                pid=pid,
            )
        if "H=" in rest and ("timed out" in rest or "refused" in rest or "unreachable" in rest):
            # Exim logs each failed host on its own line before the `==` line.
            cause, phase = classify_exim(rest)
            if cause is None:
                return None
            return LogEvent(
                EventKind.FAILURE,
                "exim",
                stamp,
                queue_id=mid,
                cause=cause,
                phase=phase,
                relay=_relay(rest),
                detail=rest,
                raw=line,
                pid=pid,
            )
        return None
    body = rest[3:]
    rcpt = body.split(" ", 1)[0].rstrip(":")
    if flag in ("=>", "->", "*>"):
        return LogEvent(
            EventKind.DELIVERY,
            "exim",
            stamp,
            queue_id=mid,
            status=Status.SENT,
            destination=domain_of(rcpt),
            relay=_relay(body),
            raw=line,
            pid=pid,
        )
    status = Status.DEFERRED if flag == "==" else Status.BOUNCED
    cause, phase = classify_exim(body)
    if cause is None and status is Status.BOUNCED:
        cause = CauseCode.REJECTED
    d = _DEFER.search(body)
    retry_wait = d is not None and (
        int(d.group("errno")) in RETRY_ERRNOS or RETRY_NOT_REACHED in body
    )
    return LogEvent(
        EventKind.DELIVERY,
        "exim",
        stamp,
        queue_id=mid,
        status=status,
        cause=None if retry_wait else cause,
        phase=None if retry_wait else phase,
        destination=domain_of(rcpt),
        relay=_relay(body),
        detail=RETRY_NOT_REACHED if retry_wait else body,
        raw=line,
        pid=pid,
    )
