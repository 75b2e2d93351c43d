"""Sendmail log lines to events. Pure: no IO.

Formats from sendmail's deliver.c / usersmtp.c (`to=..., relay=..., stat=...` and
`timeout waiting for input from HOST during PHASE`, where PHASE is SmtpPhase such
as "client greeting", "client MAIL", "client DATA status"), and savemail.c's line for
the bounce of a message whose queue lifetime ran out (`QID: BOUNCEQID: sender notify:
Cannot send message for 5 days`; "sender notify", "return to sender", "postmaster
notify" or "DSN" by the kind of notice).
"""

from __future__ import annotations

import re

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.classify import (
    domain_of,
    os_error_cause,
    phase_from_words,
    reply_cause,
    timeout_cause_for_phase,
)
from smtpdoctor.logs.events import EventKind, LogEvent, Status
from smtpdoctor.logs.syslog import SyslogLine
from smtpdoctor.phases import Phase
from smtpdoctor.replies import classify_reply

_FIELDS = re.compile(r"(\w+)=((?:[^,]|, (?!\w+=))*)")
_TIMEOUT = re.compile(r"timeout waiting for input from (?P<host>\S+) during (?P<phase>.+)")
_EXPIRED = ": Cannot send message for "  # dropenvelope()'s text, after the notice kind
_WITH = re.compile(r"with (?P<host>\S+?)\.?$")


def _delay_seconds(text: str) -> float | None:
    # sendmail writes [days+]HH:MM:SS
    days = 0
    if "+" in text:
        d, text = text.split("+", 1)
        days = int(d) if d.isdecimal() else 0
    parts = text.split(":")
    if len(parts) != 3 or not all(p.isdecimal() for p in parts):
        return None
    # A float, as declared (the compiled Aggregator stores it as one: same JSON either way).
    return float(days * 86400 + int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2]))


def parse_sendmail(parts: SyslogLine, raw: str) -> LogEvent | None:
    """One sendmail line: a delivery (`stat=`) or a `timeout waiting for input` line."""
    msg = parts.message
    colon = msg.find(": ")
    qid = msg[:colon] if colon > 0 else ""
    body = msg[colon + 2 :] if colon > 0 else msg
    if body.startswith("timeout waiting for input from "):
        m = _TIMEOUT.match(body)
        if m is None:
            return None
        where = m.group("phase")
        phase = phase_from_words(where.replace("client ", "").replace("server ", ""))
        if where.endswith("DATA status"):
            phase = Phase.EOD
        if where.startswith("server"):
            # "during server cmd read": our sendmail waited for a client (inbound).
            host = m.group("host").rstrip(".")
            return LogEvent(
                EventKind.SERVER_TIMEOUT,
                "sendmail",
                parts.stamp,
                queue_id=qid if qid != "NOQUEUE" else "",
                cause=timeout_cause_for_phase(phase),
                phase=phase,
                destination=host,
                relay=host,
                detail=body,
                raw=raw,
                pid=parts.pid,
            )
        return LogEvent(
            EventKind.FAILURE,
            "sendmail",
            parts.stamp,
            queue_id=qid,
            cause=timeout_cause_for_phase(phase),
            phase=phase,
            relay=m.group("host").rstrip("."),
            detail=body,
            raw=raw,
            pid=parts.pid,
        )
    expired = -1 if body.startswith("to=") else body.find(_EXPIRED)
    if expired >= 0:
        # Like Postfix's qmgr `status=expired`: the message is returned, no retry left.
        return LogEvent(
            EventKind.DELIVERY,
            "sendmail",
            parts.stamp,
            queue_id=qid,
            status=Status.EXPIRED,
            cause=CauseCode.RETRY_EXPIRED,
            detail=body[expired + 2 :],
            raw=raw,
            pid=parts.pid,
        )
    if ", stat=" not in body or not body.startswith("to="):
        return None
    fields = dict(_FIELDS.findall(body))
    stat = fields.get("stat", "")
    to = fields.get("to", "").split(",")[0]
    relay = fields.get("relay", "").replace(". [", "[").replace(" [", "[")
    if stat.startswith("Sent"):
        status, cause, phase = Status.SENT, None, None
    elif stat.startswith("Deferred"):
        status = Status.DEFERRED
        cause, phase = _classify(stat)
    else:
        status = Status.BOUNCED
        cause, phase = _classify(stat)
        cause = cause or CauseCode.REJECTED
    if not relay:
        w = _WITH.search(stat)
        relay = w.group("host") if w else ""
    return LogEvent(
        EventKind.DELIVERY,
        "sendmail",
        parts.stamp,
        queue_id=qid,
        status=status,
        cause=cause,
        phase=phase,
        destination=domain_of(to),
        relay=relay,
        delay=_delay_seconds(fields.get("delay", "")),
        dsn=fields.get("dsn", ""),
        detail=stat,
        raw=raw,
        pid=parts.pid,
    )


def _classify(stat: str) -> tuple[CauseCode | None, Phase | None]:  # noqa: PLR0911  (ordered wording cascade: first match wins)
    low = stat.lower()
    if "cannot send message for" in low or "message timed out" in low:
        return CauseCode.RETRY_EXPIRED, None
    if "name server timeout" in low or "host name lookup failure" in low:
        return CauseCode.DNS_TIMEOUT, Phase.RESOLVE
    if "host unknown" in low or ("name server: " in low and "host not found" in low):
        return CauseCode.DNS_NXDOMAIN, Phase.RESOLVE
    if "timeout waiting for input" in low:
        phase = phase_from_words(low.split(" during ", 1)[-1].replace("client ", ""))
        return timeout_cause_for_phase(phase), phase
    cause = os_error_cause(stat)
    if cause is not None:
        return cause, Phase.CONNECT
    if "deferred: 4" in low or "deferred: 5" in low:
        return reply_cause(stat.split(": ", 1)[1], None), None
    # Sendmail's own words for a remote reply ("User unknown", "Service unavailable"):
    # the reply classifier reads them; only a specific answer counts.
    cause = classify_reply(450 if low.startswith("deferred") else 550, "", stat, None)
    if cause in (CauseCode.REJECTED, CauseCode.REMOTE_ERROR, CauseCode.SERVER_BUSY):
        return None, None
    return cause, None
