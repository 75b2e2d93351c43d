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
from smtpdoctor.replies import classify_reply

_DELIVERY = re.compile(
    r"(?P<qid>[0-9A-Za-z]+): to=<?(?P<to>[^>,]*)>?,(?: orig_to=<?[^>,]*>?,)?"
    r" relay=(?P<relay>[^,]*),(?: conn_use=\d+,)? delay=(?P<delay>[\d.]+),"
    r"(?: delays=(?P<delays>[\d.]+/[\d.]+/[\d.]+/[\d.]+),)?"
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


_IN_REPLY_TAIL = re.compile(r"\s*\(in reply to (?P<what>.+?) command\)\s*$")


def _dns_cause(reason: str) -> tuple[CauseCode | None, Phase | None, str]:
    m = _NAME_ERR.search(reason)
    name = m.group("name") if m else ""
    err = (m.group("err") if m else reason).lower()
    if "try again" in err or "temporary failure" in err:
        return CauseCode.DNS_TIMEOUT, Phase.RESOLVE, name
    if "no data record" in err or "no address" in err:
        return CauseCode.DNS_NO_ADDRESS, Phase.RESOLVE, name
    if "malformed" in err or "server failure" in err or "refused" in err:
        # "Malformed or unexpected name server reply" (dsn 4.4.3): the resolver
        # answered, but nothing usable: SERVFAIL, a lame or broken name server.
        return CauseCode.DNS_SERVFAIL, Phase.RESOLVE, name
    return CauseCode.DNS_NXDOMAIN, Phase.RESOLVE, name


def _connect_cause(rest: str) -> tuple[CauseCode | None, Phase | None]:
    """`connect to H[IP]:25: ERROR` and the pre-2.3 `connect to H[IP]: ERROR (port 25)`."""
    low = rest.lower()
    if "read timeout" in low:  # Postfix 2.x: no greeting within smtp_helo_timeout
        return CauseCode.GREETING_TIMEOUT, Phase.GREETING
    if "without sending the initial smtp greeting" in low:
        return CauseCode.CONNECTION_DROPPED, Phase.GREETING
    colon = rest.rfind("]: ")
    colon = rest.rfind(": ") if colon < 0 else colon + 1
    err = rest[colon + 2 :] if colon >= 0 else rest
    cause = os_error_cause(err)
    return cause, Phase.CONNECT if cause is not None else None


# What varies between reasons that mean the same: host[address]:port, [address] and
# <address>. Patterns that start with a literal: the regex engine skips to it fast.
_BRACKETS = re.compile(r"\[[^\]\s]*\]")
_ANGLES = re.compile(r"<[^<>\s]*>")
_PORT = re.compile(r"[:0-9]*")


def _split_host(reason: str) -> tuple[str, str]:
    """(the reason with its first host[address]:port and other variable parts replaced
    by NUL, that first relay as `host[address]:port`)."""
    b = reason.find("[")
    if b < 0:
        key, relay = reason, ""
    else:
        e = reason.find("]", b)
        if e < 0:
            return reason, ""
        start = reason.rfind(" ", 0, b) + 1
        end = _PORT.match(reason, e + 1).end()  # type: ignore[union-attr]  # always matches
        relay = reason[start:end].rstrip(":")
        if relay[:1] in "([" and start == b:
            relay = ""  # "[192.0.2.1] Our system ..." is not a relay
        tail = reason[end:]
        key = reason[:start] + "\x00" + (_BRACKETS.sub("\x00", tail) if "[" in tail else tail)
    if "<" in key:
        key = _ANGLES.sub("\x00", key)
    return key, relay


def classify_reason(reason: str) -> tuple[CauseCode | None, Phase | None, str]:
    """The cause, phase and relay for the text in parentheses after `status=` (also
    the message of a smtp line without one, and the reason `mailq` shows).

    A log of a server in trouble repeats a few reasons with different hosts and
    recipients: the classification is cached on the reason with those taken out."""
    key, host = _split_host(reason)
    got = _CLASSIFIED.get(key)
    if got is None:
        if len(_CLASSIFIED) >= 16384:
            _CLASSIFIED.clear()
        got = _CLASSIFIED[key] = _classify(key)
    cause, phase, relay = got
    return cause, phase, relay or host


# Classifications by the reason with its variable parts taken out (a plain dict: the
# lookup is on the hot path, and an lru_cache call costs more than the dict's get).
_CLASSIFIED: dict[str, tuple[CauseCode | None, Phase | None, str]] = {}


def _classify(reason: str) -> tuple[CauseCode | None, Phase | None, str]:  # noqa: PLR0911, PLR0912  (ordered wording cascade: first match wins)
    if reason.startswith("delivery temporarily suspended: "):
        reason = reason[32:]
    if reason.startswith("connect to "):
        rest = reason[11:]
        cause, phase = _connect_cause(rest)
        return cause, phase, _relay_of(rest)
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
        said = reason.split(" said: ", 1)[1]
        m = _IN_REPLY_TAIL.search(said)
        phase = phase_from_words(m.group("what")) if m else None
        if m is not None:
            said = said[: m.start()]
        return reply_cause(said, phase), phase, _relay_of(reason)
    if "refused to talk to me" in reason:
        said = reason.split("refused to talk to me: ", 1)[-1]
        cause = reply_cause(said, Phase.GREETING) or CauseCode.SERVER_BUSY
        return cause, Phase.GREETING, _relay_of(reason)
    if "Name service error" in reason or "Host or domain name not found" in reason:
        return _dns_cause(reason)
    if "Host not found, try again" in reason or "temporary failure in name resolution" in (
        reason.lower()
    ):
        return CauseCode.DNS_TIMEOUT, Phase.RESOLVE, ""
    if "Host not found" in reason:
        return CauseCode.DNS_NXDOMAIN, Phase.RESOLVE, ""
    if (
        "certificate not verified" in reason
        or "certificate not trusted" in reason
        or reason.startswith("certificate verification failed")
        or "Server certificate not" in reason
    ):
        # smtp_tls_security_level = verify/secure: "Server certificate not verified",
        # and the per-attempt "certificate verification failed for H[IP]:25: ...".
        return CauseCode.TLS_CERT_INVALID, Phase.STARTTLS, _relay_of(reason)
    if reason.startswith("SSL_connect error") or "TLS handshake" in reason:
        low = reason.lower()
        timed_out = "timeout" in low or "timed out" in low
        cause = CauseCode.TLS_HANDSHAKE_TIMEOUT if timed_out else CauseCode.TLS_FAILED
        return cause, Phase.STARTTLS, _relay_of(reason)
    if "Cannot start TLS" in reason:
        return CauseCode.TLS_FAILED, Phase.STARTTLS, _relay_of(reason)
    if "TLS is required, but" in reason:
        return CauseCode.STARTTLS_MISSING, Phase.EHLO, _relay_of(reason)
    if "message delivery timed out" in reason.lower() or reason == "expired":
        return CauseCode.RETRY_EXPIRED, None, ""
    if "timed out" in reason:
        return CauseCode.COMMAND_TIMEOUT, None, _relay_of(reason)
    cause = os_error_cause(reason)
    if cause is not None:
        return cause, Phase.CONNECT, _relay_of(reason)
    return None, None, _relay_of(reason)


def _unquoted_cause(reason: str, dsn: str, status: Status) -> CauseCode | None:
    bounced = status is Status.BOUNCED
    cause = classify_reply(550 if bounced else 450, dsn, reason, None)
    if cause in (CauseCode.REJECTED, CauseCode.REMOTE_ERROR, CauseCode.SERVER_BUSY):
        return None  # nothing specific in the words: the status decides
    return cause


def parse_delivery(line: str, at: int, stamp: str, pid: str) -> LogEvent | None:
    """The `QUEUEID: to=<...>, relay=..., status=...` line whose message starts at
    offset `at` of line (or qmgr's `status=expired`); stamp and pid from its header.

    Matched in place (no copy of the message): this runs once per status line."""
    m = _DELIVERY.match(line, at)
    if m is None:
        e = _EXPIRED.match(line, at)
        if e is None:
            return None
        # qmgr: "QUEUEID: from=<...>, status=expired, returned to sender"
        return LogEvent(
            EventKind.DELIVERY,
            "postfix",
            stamp,
            queue_id=e.group("qid"),
            status=Status.EXPIRED,
            cause=CauseCode.RETRY_EXPIRED,
            detail="expired",
            raw=line,
            pid=pid,
        )
    qid, to, relay_field, delay, delays_text, dsn, status_word, reason = m.groups()
    status = _STATUSES.get(status_word, Status.NONE)
    relay = relay_field if relay_field != "none" else ""
    delays = None if delays_text is None else (_DELAYS.get(delays_text) or _delays(delays_text))
    if status is Status.SENT:
        return LogEvent(
            EventKind.DELIVERY, "postfix", stamp, qid, status, None, None, domain_of(to),
            relay, float(delay), delays, dsn or "", reason or "", line, pid,
        )  # fmt: skip
    reason = reason or ""
    cause, phase, reason_relay = classify_reason(reason)
    if reason_relay and not relay:
        relay = reason_relay
    if cause is None and reason:
        # A reason with no reply code ("user unknown" from local or pipe): the
        # reply classifier reads its words with the dsn= code as the enhanced code.
        cause = _unquoted_cause(reason, dsn or "", status)
    if cause is None and status is Status.BOUNCED:
        cause = CauseCode.REJECTED
    return LogEvent(
        EventKind.DELIVERY, "postfix", stamp, qid, status, cause, phase, domain_of(to),
        relay, float(delay), delays, dsn or "", reason, line, pid,
    )  # fmt: skip


_DELAYS: dict[str, Delays] = {}


def _delays(text: str) -> Delays:
    """`delays=a/b/c/d` (the same few texts come back on a log full of retries)."""
    got = _DELAYS.get(text)
    if got is None:
        a, b, c, d = text.split("/")
        if len(_DELAYS) >= 65536:
            _DELAYS.clear()
        got = _DELAYS[text] = Delays(float(a), float(b), float(c), float(d))
    return got


# The messages of smtp/lmtp lines about one attempt (the status line follows).
_ATTEMPT_STARTS = (
    "connect to ",
    "conversation with ",
    "lost connection with ",
    "host ",
    "SASL authentication failed",
    "SSL_connect error",
    "certificate verification failed",
    "Server certificate not",
)


def _split_qid(msg: str) -> tuple[str, str]:
    """`QUEUEID: text` to (QUEUEID, text); ('', msg) when msg has no queue ID."""
    colon = msg.find(": ", 0, 24)
    if colon > 4 and msg[:colon].isalnum():
        return msg[:colon], msg[colon + 2 :]
    return "", msg


def parse_other(parts: SyslogLine, raw: str) -> LogEvent | None:
    """Postfix lines that are not `status=` lines but matter for timeouts."""
    qid, msg = _split_qid(parts.message)
    if "timeout after " in msg:
        m = _SERVER_TIMEOUT.search(parts.message)
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
    if msg.startswith(_ATTEMPT_STARTS) or "TLS handshake" in msg:
        # An attempt that failed while the delivery went on (next MX host, or the
        # status line that follows).
        if msg.startswith("host ") and " said: " not in msg and "refused to talk" not in msg:
            return None
        cause, phase, relay = classify_reason(msg)
        if cause is None:
            return None
        return LogEvent(
            EventKind.FAILURE,
            "postfix",
            parts.stamp,
            queue_id=qid,
            cause=cause,
            phase=phase,
            relay=relay,
            detail=msg,
            raw=raw,
            pid=parts.pid,
        )
    return None
