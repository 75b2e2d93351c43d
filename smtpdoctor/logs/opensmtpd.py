"""OpenSMTPD log lines to events. Pure: no IO.

Formats from OpenSMTPD's mta_session.c / mta.c:

- 6.x: `SESSION mta error reason=TEXT` (6.0: `SESSION mta event=error reason=TEXT`;
  some logs lose the session id) and `SESSION mta delivery evpid=... from=<..> to=<..>
  rcpt=<..> source="..." relay="..." delay=... result="Ok|TempFail|PermFail|Loop"
  stat="..."` (6.0: `mta event=delivery`).
- 5.x: `relay: TempFail for EVPID: session=SESSION, from=<..>, to=<..>, rcpt=<..>,
  source=..., relay=..., delay=..., stat=...` (before 5.4 without `session=`,
  `rcpt=` and `source=`; some portable builds log the mta process under its title,
  `transfer`, instead of `smtpd`).
- 2012 (before 5.1): `EVPID: to=<..>, delay=..., relay=FQDN [ADDR],
  stat=Sent|RemoteError|LocalError (TEXT)`, the reply code cut off TEXT.
- Both 5.x and 6.x: `smtp-out: Failed to resolve MX for [relay:NAME,...]: REASON`
  (the status lines that follow carry session 0) and `smtp-out: Error on session
  SESSION[ after N messages sent]: REASON` (followed by the status lines of the
  session's envelopes, when it had any).
"""

from __future__ import annotations

import re

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.classify import domain_of, os_error_cause, reply_cause
from smtpdoctor.logs.events import EventKind, LogEvent, Status
from smtpdoctor.logs.syslog import SyslogLine
from smtpdoctor.phases import Phase

_PAIR = re.compile(r'(\w+)=(?:"([^"]*)"|(\S*))')
# `key=value, key=value`: a value runs on over ", " not followed by another key (the
# stat= text has commas of its own).
_LISTED = re.compile(r"(\w+)=((?:[^,]|, (?!\w+=))*)")
_OLD_RELAY = re.compile(r"relay: (\w+) for ([0-9a-f]{16}): ")
_OLD_STATUS = re.compile(r"([0-9a-f]{16}): to=")
_OLD_STAT = re.compile(r"(Sent|RemoteError|LocalError) \((.*)\)$")
_RESULTS = {"Ok": Status.SENT, "TempFail": Status.DEFERRED, "PermFail": Status.BOUNCED}
_DUR = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_ERROR_MARKS = (" mta error reason=", " mta event=error reason=")
_MX_FAILED = "smtp-out: Failed to resolve MX for [relay:"
_SESSION_ERROR = "smtp-out: Error on session "
# The session id of the status lines written for a relay whose MX lookup failed.
NO_SESSION = "0000000000000000"
# The LocalError texts of the 2012 mta (status code 6xx: the envelope bounced).
_OLD_PERMANENT = ("Invalid domain name", "Domain does not exist", "No MX address found")


def _duration(text: str) -> float | None:
    if text.isdecimal():  # the 2012 format: seconds
        return float(text)
    total = sum(int(n) * _UNITS[u] for n, u in _DUR.findall(text))
    return float(total) if text else None


def _classify(text: str, status_line: bool = False) -> tuple[CauseCode | None, Phase | None]:  # noqa: PLR0911  (ordered wording cascade: first match wins)
    low = text.lower()
    if "connection timeout" in low or "connect timeout" in low:
        return CauseCode.CONNECT_TIMEOUT, Phase.CONNECT
    if "tls" in low and "timeout" in low:
        return CauseCode.TLS_HANDSHAKE_TIMEOUT, Phase.STARTTLS
    if "timeout" in low:
        phase = Phase.GREETING if "banner" in low or "greeting" in low else None
        return (CauseCode.GREETING_TIMEOUT if phase else CauseCode.COMMAND_TIMEOUT), phase
    # mta.c: DNS_ENONAME is "Domain does not exist"; DNS_ENOTFOUND (the name exists,
    # without MX records) is "No MX found for domain" (2012: "No MX address found for
    # domain"); DNS_NULLMX is "Domain does not accept mail"; DNS_RETRY is "Temporary
    # failure in MX lookup" (2012: "MX lookup failed temporarily").
    if "domain not found" in low or "domain does not exist" in low or "nxdomain" in low:
        return CauseCode.DNS_NXDOMAIN, Phase.RESOLVE
    if "no mx found" in low or "no mx address found" in low:
        return CauseCode.DNS_NO_ADDRESS, Phase.RESOLVE
    if "does not accept mail" in low:
        return CauseCode.MX_NULL, Phase.RESOLVE
    if "temporary failure in mx lookup" in low or "mx lookup failed" in low or "dns error" in low:
        return CauseCode.DNS_TIMEOUT, Phase.RESOLVE
    if "connection closed" in low or ("io error" in low and "reset" in low):
        return CauseCode.CONNECTION_DROPPED, None
    cause = os_error_cause(text)
    if cause is not None:
        return cause, Phase.CONNECT
    # A status line's stat is a bare reply only when it answered MAIL, RCPT, DATA or
    # the end of data (mta_session.c; greeting, EHLO and AUTH failures are written as
    # "BANNER rejected: ..." and the like): the classifier may read it as a reply
    # inside the transaction (a bare "451 try again later" is greylisting). The phase
    # itself stays unknown.
    hint = Phase.RCPT if status_line and text[:3].isdecimal() else None
    return reply_cause(text, hint), None


def _error(msg: str) -> tuple[str, str] | None:
    """(session id, reason) of an `mta error` line; the id is '' when the log lost it."""
    padded = " " + msg
    for mark in _ERROR_MARKS:
        at = padded.find(mark)
        if at >= 0:
            return padded[1:at], padded[at + len(mark) :]
    return None


def parse_opensmtpd(parts: SyslogLine, raw: str) -> LogEvent | None:
    """One `smtpd[pid]:` (or 5.x `transfer[pid]:`) line about outbound delivery."""
    msg = parts.message
    error = _error(msg)
    if error is not None:
        session, reason = error
        return _failure(parts, raw, session, session, reason)
    if " mta delivery " in msg or " mta event=delivery " in msg:  # 6.x, 6.0
        return _delivery_6(parts, raw)
    if msg.startswith("smtp-out: "):
        return _smtp_out(parts, raw)
    if msg.startswith("relay: "):
        return _delivery_5(parts, raw)
    if _OLD_STATUS.match(msg):
        return _delivery_2012(parts, raw)
    return None


def _failure(
    parts: SyslogLine,
    raw: str,
    session: str,
    queue_id: str,
    reason: str,
    relay: str = "",
    destination: str = "",
) -> LogEvent | None:
    """A failed attempt whose status lines (if any) follow with the same session id:
    the aggregator holds it under that id and drops it when a status line repeats it."""
    cause, phase = _classify(reason)
    if cause is None:
        return None
    return LogEvent(
        EventKind.FAILURE,
        "opensmtpd",
        parts.stamp,
        queue_id=queue_id,
        cause=cause,
        phase=phase,
        destination=destination,
        relay=relay,
        detail=reason,
        raw=raw,
        pid=session,
    )


def _smtp_out(parts: SyslogLine, raw: str) -> LogEvent | None:
    msg = parts.message
    if msg.startswith(_MX_FAILED):
        close = msg.find("]: ", len(_MX_FAILED))
        if close < 0:
            return None
        spec = msg[len(_MX_FAILED) : close]  # "example.com,smtp" or "example.com,port=25,..."
        name = spec.split(",", 1)[0]  # the domain the status lines name as relay=
        return _failure(parts, raw, NO_SESSION, "", msg[close + 3 :], name, name.lower())
    if msg.startswith(_SESSION_ERROR):
        at = len(_SESSION_ERROR)
        session = msg[at : at + 16]
        colon = msg.find(": ", at + 16)
        if colon < 0 or "downgrading to plain" in msg:  # opportunistic TLS: it goes on
            return None
        return _failure(parts, raw, session, session, msg[colon + 2 :])
    return None


def _relay_of(relay: str) -> str:
    """`203.0.113.5 (mx.example.com)` -> `mx.example.com[203.0.113.5]`;
    `mx.example.com [IPv6:2001:db8::5]` -> `mx.example.com[2001:db8::5]`."""
    if " (" in relay:
        ip, host = relay.split(" (", 1)
        return f"{host.rstrip(')')}[{ip}]"
    if " [" in relay:
        host, address = relay.split(" [", 1)
        return f"{host}[{address.removeprefix('IPv6:')}"
    return relay


def _status_event(
    parts: SyslogLine,
    raw: str,
    status: Status,
    stat: str,
    to: str,
    relay: str,
    delay: str,
    evpid: str,
    session: str,
    reply: str = "",
) -> LogEvent:
    """reply: the stat text as a reply, when the line cut its code off."""
    cause, phase = (None, None) if status is Status.SENT else _classify(reply or stat, True)
    if status is Status.BOUNCED and cause is None:
        cause = CauseCode.REJECTED
    return LogEvent(
        EventKind.DELIVERY,
        "opensmtpd",
        parts.stamp,
        queue_id=evpid[:8],
        status=status,
        cause=cause,
        phase=phase,
        destination=domain_of(to),
        relay=_relay_of(relay),
        delay=_duration(delay),
        detail=stat,
        raw=raw,
        pid=session,
    )


def _delivery_6(parts: SyslogLine, raw: str) -> LogEvent:
    msg = parts.message
    fields = {k: (q or b) for k, q, b in _PAIR.findall(msg)}
    status = _RESULTS.get(fields.get("result", ""), Status.BOUNCED)
    return _status_event(
        parts,
        raw,
        status,
        fields.get("stat", ""),
        fields.get("to", ""),
        fields.get("relay", ""),
        fields.get("delay", ""),
        fields.get("evpid", ""),
        msg.split(" ", 1)[0],
    )


def _delivery_5(parts: SyslogLine, raw: str) -> LogEvent | None:
    m = _OLD_RELAY.match(parts.message)
    if m is None:
        return None
    fields = dict(_LISTED.findall(parts.message, m.end()))
    if "stat" not in fields:
        return None
    status = _RESULTS.get(m.group(1), Status.BOUNCED)  # "Loop" bounces
    return _status_event(
        parts,
        raw,
        status,
        fields["stat"],
        fields.get("to", ""),
        fields.get("relay", ""),
        fields.get("delay", ""),
        m.group(2),
        # 5.3 leaves session= out for session 0 (the envelopes of a failed MX lookup)
        fields.get("session", NO_SESSION),
    )


def _delivery_2012(parts: SyslogLine, raw: str) -> LogEvent | None:
    msg = parts.message
    fields = dict(_LISTED.findall(msg, 18))
    m = _OLD_STAT.match(fields.get("stat", ""))
    if m is None:
        return None
    word, text = m.groups()
    if word == "Sent":
        status = Status.SENT
    elif word == "LocalError":
        # 6xx codes (bounce) for the DNS answers that cannot change, 1xx (retry) else
        status = Status.BOUNCED if text.startswith(_OLD_PERMANENT) else Status.DEFERRED
    else:
        # mta_session.c dropped the reply code ("550 5.5.1 ..." -> "5.5.1 ..."); the
        # enhanced code still tells a bounce from a deferral, and gives the code back.
        status = Status.BOUNCED if text.startswith("5.") else Status.DEFERRED
    reply = f"{text[0]}50 {text}" if text[:2] in ("4.", "5.") else ""
    return _status_event(
        parts,
        raw,
        status,
        text,
        fields.get("to", ""),
        fields.get("relay", ""),
        fields.get("delay", ""),
        msg[:16],
        "",
        reply,
    )
