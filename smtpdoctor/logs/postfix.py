"""Postfix log lines to events (smtp, lmtp, qmgr, smtpd and friends). Pure: no IO.

Formats follow Postfix 2.x-3.x as written by src/smtp/smtp_proto.c (phase texts),
src/global/dsn_util.c / bounce logging (`status=` lines) and src/smtpd/smtpd.c
(`timeout after STAGE from CLIENT`).
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
from smtpdoctor.logs.events import Delays, EventKind, LogEvent, Status
from smtpdoctor.logs.syslog import SyslogLine
from smtpdoctor.phases import Phase

_DELIVERY = re.compile(
    r"(?P<qid>[0-9A-Za-z]+): to=<(?P<to>[^>]*)>,(?: orig_to=<[^>]*>,)?"
    r" relay=(?P<relay>[^,]*),(?: conn_use=\d+,)? delay=(?P<delay>[\d.]+),"
    r"(?: delays=(?P<a>[\d.]+)/(?P<b>[\d.]+)/(?P<c>[\d.]+)/(?P<d>[\d.]+),)?"
    r"(?: dsn=(?P<dsn>[\d.]+),)? status=(?P<status>\w+)(?: \((?P<reason>.*)\))?"
)
_EXPIRED = re.compile(r"(?P<qid>[0-9A-Za-z]+): from=<[^>]*>, status=expired")
_HOST = re.compile(r"(?P<host>[^\s\[]+)\[(?P<ip>[^\]]*)\](?::(?P<port>\d+))?")
_IN_REPLY = re.compile(r"\(in reply to (?P<what>.+?) command\)")
_NAME_ERR = re.compile(r"name=(?P<name>[^\s]+) type=\w+: (?P<err>.*)")
_SERVER_TIMEOUT = re.compile(
    r"(?:(?P<qid>[0-9A-Za-z]+): )?timeout after (?P<stage>[A-Z-]+)(?: \([^)]*\))? from "
    r"(?P<client>\S+)"
)
_STATUSES = {s.value: s for s in Status if s.value}


def _relay_of(text: str) -> str:
    m = _HOST.search(text)
    if m is None:
        return ""
    host, ip, port = m.group("host"), m.group("ip"), m.group("port")
    return f"{host}[{ip}]:{port}" if port else f"{host}[{ip}]"


def _peer_name(client: str) -> str:
    host, _, rest = client.partition("[")
    return rest.rstrip("]") if host == "unknown" and rest else host


def classify_reason(reason: str) -> tuple[CauseCode | None, Phase | None, str]:
    """The cause, phase and relay for the text in parentheses after `status=`."""
    if reason.startswith("delivery temporarily suspended: "):
        reason = reason[32:]
    if reason.startswith("connect to "):
        rest = reason[11:]
        colon = rest.rfind(": ")
        err = rest[colon + 2 :] if colon >= 0 else rest
        return os_error_cause(err), Phase.CONNECT, _relay_of(rest)
    if reason.startswith("conversation with ") and " timed out while " in reason:
        where = reason.split(" timed out while ", 1)[1]
        phase = phase_from_words(where)
        return timeout_cause_for_phase(phase), phase, _relay_of(reason)
    if reason.startswith("lost connection with "):
        where = reason.split(" while ", 1)[1] if " while " in reason else ""
        return CauseCode.CONNECTION_DROPPED, phase_from_words(where), _relay_of(reason)
    # Before the " said: " rule: these carry the server's reply, but what failed is
    # known from the words before it.
    if "SASL authentication failed" in reason:
        return CauseCode.AUTH_FAILED, Phase.AUTH, _relay_of(reason)
    # Postfix's dns library: "Domain %s does not accept mail (nullMX)"; older wording
    # had "null MX".
    if "nullMX" in reason or "null MX" in reason:
        return CauseCode.MX_NULL, Phase.RESOLVE, ""
    if " said: " in reason:
        m = _IN_REPLY.search(reason)
        phase = phase_from_words(m.group("what")) if m else None
        said = reason.split(" said: ", 1)[1]
        return reply_cause(said, phase), phase, _relay_of(reason)
    if "refused to talk to me" in reason:
        return CauseCode.SERVER_BUSY, Phase.GREETING, _relay_of(reason)
    if "Name service error" in reason or "Host or domain name not found" in reason:
        m = _NAME_ERR.search(reason)
        name = m.group("name") if m else ""
        err = m.group("err") if m else reason
        if "try again" in err:
            return CauseCode.DNS_TIMEOUT, Phase.RESOLVE, name
        if "no data record" in err:
            return CauseCode.DNS_NO_ADDRESS, Phase.RESOLVE, name
        return CauseCode.DNS_NXDOMAIN, Phase.RESOLVE, name
    if "Host not found, try again" in reason or "temporary failure in name resolution" in (
        reason.lower()
    ):
        return CauseCode.DNS_TIMEOUT, Phase.RESOLVE, ""
    if "Host not found" in reason:
        return CauseCode.DNS_NXDOMAIN, Phase.RESOLVE, ""
    if "certificate not verified" in reason or "certificate not trusted" in reason:
        # smtp_tls_security_level = verify/secure: "Server certificate not verified"
        return CauseCode.TLS_CERT_INVALID, Phase.STARTTLS, _relay_of(reason)
    if "Cannot start TLS" in reason or "TLS handshake" in reason:
        return CauseCode.TLS_FAILED, Phase.STARTTLS, _relay_of(reason)
    if "TLS is required, but" in reason:
        return CauseCode.STARTTLS_MISSING, Phase.EHLO, _relay_of(reason)
    if "timed out" in reason:
        return CauseCode.COMMAND_TIMEOUT, None, _relay_of(reason)
    return None, None, _relay_of(reason)


def parse_delivery(parts: SyslogLine, raw: str) -> LogEvent | None:
    """A `QUEUEID: to=<...>, relay=..., status=...` line (or qmgr's `status=expired`)."""
    m = _DELIVERY.match(parts.message)
    if m is None:
        e = _EXPIRED.match(parts.message)
        if e is None:
            return None
        # qmgr: "QUEUEID: from=<...>, status=expired, returned to sender"
        return LogEvent(
            EventKind.DELIVERY,
            "postfix",
            parts.stamp,
            queue_id=e.group("qid"),
            status=Status.EXPIRED,
            detail="expired",
            raw=raw,
            pid=parts.pid,
        )
    status = _STATUSES.get(m.group("status"), Status.NONE)
    reason = m.group("reason") or ""
    relay_field = m.group("relay")
    cause: CauseCode | None = None
    phase: Phase | None = None
    relay = relay_field if relay_field not in ("none", "") else ""
    if status is not Status.SENT:
        cause, phase, reason_relay = classify_reason(reason)
        if reason_relay and not relay:
            relay = reason_relay
        if cause is None and status is Status.BOUNCED:
            cause = CauseCode.REJECTED
    delays = None
    if m.group("a") is not None:
        delays = Delays(
            float(m.group("a")), float(m.group("b")), float(m.group("c")), float(m.group("d"))
        )
    return LogEvent(
        kind=EventKind.DELIVERY,
        mta="postfix",
        stamp=parts.stamp,
        queue_id=m.group("qid"),
        status=status,
        cause=cause,
        phase=phase,
        destination=domain_of(m.group("to")),
        relay=relay,
        delay=float(m.group("delay")),
        delays=delays,
        dsn=m.group("dsn") or "",
        detail=reason,
        raw=raw,
        pid=parts.pid,
    )


def parse_other(parts: SyslogLine, raw: str) -> LogEvent | None:
    """Postfix lines that are not `status=` lines but matter for timeouts."""
    msg = parts.message
    if "timeout after " in msg:
        m = _SERVER_TIMEOUT.search(msg)
        if m is None:
            return None
        stage = m.group("stage")
        phase = Phase.BODY if stage in ("DATA", "BDAT") else phase_from_words(stage)
        client = m.group("client")
        return LogEvent(
            EventKind.SERVER_TIMEOUT,
            "postfix",
            parts.stamp,
            queue_id=m.group("qid") or "",
            cause=timeout_cause_for_phase(phase),
            phase=phase,
            destination=_peer_name(client),
            relay=client,
            detail=msg,
            raw=raw,
            pid=parts.pid,
        )
    if msg.startswith(("connect to ", "conversation with ", "lost connection with ")):
        # An attempt that failed while the delivery went on to the next MX host.
        cause, phase, relay = classify_reason(msg)
        if cause is None:
            return None
        return LogEvent(
            EventKind.FAILURE,
            "postfix",
            parts.stamp,
            cause=cause,
            phase=phase,
            relay=relay,
            detail=msg,
            raw=raw,
            pid=parts.pid,
        )
    if "SSL_connect error to " in msg or "TLS handshake" in msg:
        low = msg.lower()
        timed_out = "timeout" in low or "timed out" in low
        return LogEvent(
            EventKind.FAILURE,
            "postfix",
            parts.stamp,
            cause=CauseCode.TLS_HANDSHAKE_TIMEOUT if timed_out else CauseCode.TLS_FAILED,
            phase=Phase.STARTTLS,
            relay=_relay_of(msg),
            detail=msg,
            raw=raw,
            pid=parts.pid,
        )
    return None
