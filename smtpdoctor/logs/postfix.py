"""Postfix log lines to events (smtp, lmtp, qmgr, smtpd and friends). Pure: no IO.

Formats follow Postfix 2.x-3.x as written by src/smtp/smtp_proto.c (phase texts),
src/global/dsn_util.c / bounce logging (`status=` lines) and src/smtpd/smtpd.c
(`timeout after STAGE from CLIENT`).
"""

from __future__ import annotations

import re
from typing import Final

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.classify import (
    domain_of,
    os_error_cause,
    phase_from_words,
    reply_cause,
    timeout_cause_for_phase,
)
from smtpdoctor.logs.events import Delays, EventKind, LogEvent, Status, new_event
from smtpdoctor.logs.syslog import SyslogLine
from smtpdoctor.phases import Phase
from smtpdoctor.replies import classify_reply

_EXPIRED: Final = re.compile(r"(?P<qid>[0-9A-Za-z]+): from=<[^>]*>, status=expired")
_HOST: Final = re.compile(r"(?P<host>[^\s\[]+)\[(?P<ip>[^\]]*)\](?::(?P<port>\d+))?")
_IN_REPLY: Final = re.compile(r"\(in reply to (?P<what>.+?) command\)")
_NAME_ERR: Final = re.compile(r"name=(?P<name>[^\s]+) type=\w+: (?P<err>.*)")
_SERVER_TIMEOUT: Final = re.compile(
    r"(?:(?P<qid>[0-9A-Za-z]+): )?timeout after (?P<stage>[A-Z-]+)(?: \([^)]*\))? from "
    r"(?P<client>\S+)"
)
_STATUSES: Final = {s.value: s for s in Status if s.value}


def _relay_of(text: str) -> str:
    m = _HOST.search(text)
    if m is None:
        return ""
    host, ip, port = m.group("host"), m.group("ip"), m.group("port")
    return f"{host}[{ip}]:{port}" if port else f"{host}[{ip}]"


def _peer_name(client: str) -> str:
    host, _, rest = client.partition("[")
    return rest.rstrip("]") if host == "unknown" and rest else host


_IN_REPLY_TAIL: Final = re.compile(r"\s*\(in reply to (?P<what>.+?) command\)\s*$")


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
# <address>, each replaced by a NUL.


def _port_end(text: str, pos: int) -> int:
    """Where the run of ':' and digits (a `:25` after a host[address]) at pos ends."""
    while pos < len(text):
        char = ord(text[pos])
        if not (char == 58 or 48 <= char <= 57):
            break
        pos += 1
    return pos


def _blanked(text: str, opening: str, closing: str, nested: bool) -> str:
    r"""text with each `<opening>...<closing>` whose inside has no whitespace and no
    closing (nor, unless nested, opening) character replaced by a NUL: what
    re.sub(r"\[[^\]\s]*\]") (nested) and re.sub(r"<[^<>\s]*>") do, in a fifth of the
    time (a regex call costs more than the few characters it reads here)."""
    start = text.find(opening)
    if start < 0:
        return text
    parts: list[str] = []
    done = 0
    shut = ord(closing)
    again = -1 if nested else ord(opening)
    while start >= 0:
        end = start + 1
        while end < len(text):
            char = ord(text[end])
            if char == shut or char == again:  # noqa: PLR1714, SIM109  (two int compares, no tuple)
                break
            if (char < 33 or char > 126) and text[end].isspace():  # ASCII: only <= 32
                break
            end += 1
        if end < len(text) and ord(text[end]) == shut:
            parts.append(text[done:start])
            parts.append("\x00")
            done = end + 1
            start = text.find(opening, done)
        else:
            start = text.find(opening, start + 1)
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


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
        end = _port_end(reason, e + 1)
        relay = reason[start:end].rstrip(":")
        if relay[:1] in "([" and start == b:
            relay = ""  # "[192.0.2.1] Our system ..." is not a relay
        tail = reason[end:]
        key = reason[:start] + "\x00" + _blanked(tail, "[", "]", nested=True)
    if "<" in key:
        key = _blanked(key, "<", ">", nested=False)
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
_CLASSIFIED: Final[dict[str, tuple[CauseCode | None, Phase | None, str]]] = {}


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


# The fields of a status line: queue ID, recipient, relay, delay, delays or None, dsn
# or None, status word, reason (the text in parentheses) or None.
StatusFields = tuple[str, str, str, float, "Delays | None", str | None, str, str | None]


def parse_delivery(line: str, at: int, stamp: str, pid: str) -> LogEvent | None:
    """The `QUEUEID: to=<...>, relay=..., status=...` line whose message starts at
    offset `at` of line (or qmgr's `status=expired`); stamp and pid from its header.

    Read in place (no copy of the message): this runs once per status line."""
    fields = status_fields(line, at)
    if fields is None:
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
    qid, to, relay_field, delay, delays, dsn, status_word, reason = fields
    status = _STATUSES.get(status_word, Status.NONE)
    relay = relay_field if relay_field != "none" else ""
    if status is Status.SENT:
        return new_event(
            LogEvent,
            (
                EventKind.DELIVERY, "postfix", stamp, qid, status, None, None, domain_of(to),
                relay, delay, delays, dsn or "", reason or "", line, pid,
            ),
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
    return new_event(
        LogEvent,
        (
            EventKind.DELIVERY, "postfix", stamp, qid, status, cause, phase, domain_of(to),
            relay, delay, delays, dsn or "", reason, line, pid,
        ),
    )  # fmt: skip


def status_fields(line: str, at: int) -> StatusFields | None:
    """The fields of the status line whose message starts at offset at:

        QUEUEID: to=<RCPT>, [orig_to=<RCPT>,] relay=RELAY, [conn_use=N,] delay=D,
        [delays=A/B/C/D,] [dsn=X.Y.Z,] status=WORD[ (REASON)]

    None when the text is not that. Read with str.find (C) in place: a regular
    expression over the same grammar cost three times as much, on every status line."""
    colon = line.find(": to=", at)
    qid = line[at:colon]
    if colon <= at or not (qid.isascii() and qid.isalnum()):
        return None
    pos, to = _address(line, colon + 5)
    if pos > 0 and _maybe_at(line, " orig_to=", pos) and _at(line, " orig_to=", pos):
        pos = _address(line, pos + 9)[0]
    pos, relay = _field(line, pos, " relay=")
    pos, conn_use = _field(line, pos, " conn_use=", optional=True)
    pos, delay_text = _field(line, pos, " delay=")
    pos, delays_text = _field(line, pos, " delays=", optional=True)
    pos, dsn = _field(line, pos, " dsn=", optional=True)
    if pos < 0 or not _at(line, " status=", pos):
        return None
    delay = _NUMBERS.get(delay_text or "") or _number(delay_text or "")
    delays = None if delays_text is None else _DELAYS.get(delays_text) or _delays(delays_text)
    if (
        delay is None
        or (delays is None and delays_text is not None)
        or (conn_use is not None and not conn_use.isdecimal())
        or (dsn is not None and dsn not in _DSNS and not _dotted(dsn))
    ):
        return None
    pos += 8
    end = _word_end(line, pos)
    if end == pos:
        return None
    reason: str | None = None
    if end + 1 < len(line) and line[end] == " " and line[end + 1] == "(":
        stop = line.find("\n", end)  # a reason is one line (as `.` in a regex)
        close = line.rfind(")", end + 2, stop if stop >= 0 else len(line))
        if close >= 0:
            reason = line[end + 2 : close]
    return qid, to, relay or "", delay, delays, dsn, line[pos:end], reason


def _field(line: str, pos: int, name: str, optional: bool = False) -> tuple[int, str | None]:
    """`NAME=VALUE,` at pos: (the offset after the comma, VALUE); (pos, None) when an
    optional field is not there, (-1, None) when a field cannot be read."""
    if pos < 0 or (optional and not _maybe_at(line, name, pos)) or not _at(line, name, pos):
        return (pos, None) if optional and pos >= 0 else (-1, None)
    start = pos + len(name)
    comma = line.find(",", start)
    if comma < 0:
        return -1, None
    return comma + 1, line[start:comma]


def _maybe_at(line: str, text: str, pos: int) -> bool:
    """Could text start at offset pos? Its second character is there (compiled, a
    character compare is a quarter of _at: most optional fields are absent)."""
    return pos + 1 < len(line) and ord(line[pos + 1]) == ord(text[1])


def _at(line: str, text: str, pos: int) -> bool:
    """Does text start at offset pos of line? (line.startswith(text, pos) parses its
    arguments from a format string on every call: five times the cost.)"""
    return line.find(text, pos, pos + len(text)) == pos


def _dotted(text: str) -> bool:
    """Digits and dots only, at least one character (a dsn= code)."""
    if not text or not (text.replace(".", "").isdecimal() or not text.strip(".")):
        return False
    if len(_DSNS) < 4096:
        _DSNS.add(text)  # the few dsn= codes come back on every line
    return True


# dsn= codes and delay= texts already read (a log repeats a few): one lookup each.
_DSNS: Final[set[str]] = set()
_NUMBERS: Final[dict[str, float]] = {}


def _address(line: str, pos: int) -> tuple[int, str]:
    """`<ADDRESS>,` or `ADDRESS,` at pos: (the offset after the comma, ADDRESS), or
    (-1, '') when it is not there."""
    if pos < len(line) and line[pos] == "<":
        pos += 1
    gt = line.find(">", pos)
    comma = line.find(",", pos)
    if comma < 0:
        return -1, ""
    end = gt if 0 <= gt < comma else comma
    after = end + 1 if end == gt else end
    if not (after < len(line) and line[after] == ","):
        return -1, ""
    return after + 1, line[pos:end]


def _number(text: str) -> float | None:
    """Digits with at most one dot ('12', '0.57', '.5') as a float; None for others."""
    number: float | None
    if text and not text.strip(_ASCII_NUMBER) and text.count(".") <= 1 and text != ".":
        number = float(text)  # the usual case: ASCII digits, at most one dot
    else:
        number = _unicode_number(text)
        if number is None:
            return None
    if len(_NUMBERS) >= 65536:
        _NUMBERS.clear()
    _NUMBERS[text] = number
    return number


_ASCII_NUMBER: Final = "0123456789."


def _unicode_number(text: str) -> float | None:
    """_number for any decimal digits (Arabic-Indic ones too, as a regex's \\d)."""
    whole, _, fraction = text.partition(".")
    if not (whole or fraction) or not (whole.isdecimal() or not whole):
        return None
    if fraction and not fraction.isdecimal():
        return None
    return float(text)


def _word_end(line: str, pos: int) -> int:
    """Where the run of word characters (letters, digits, '_') starting at pos ends."""
    space = line.find(" ", pos)
    word = line[pos:space] if space >= 0 else line[pos:]
    if word.isalnum():
        return pos + len(word)
    end = pos
    while end < len(line) and (line[end].isalnum() or line[end] == "_"):
        end += 1
    return end


_DELAYS: Final[dict[str, Delays]] = {}


def _delays(text: str) -> Delays | None:
    """`delays=a/b/c/d` not yet in _DELAYS (the same few texts come back on a log full
    of retries: the caller looks there first), cached; None when the text is not four
    numbers."""
    got = _ascii_delays(text)
    if got is None:
        parts = [_NUMBERS.get(part) or _number(part) for part in text.split("/")]
        if len(parts) != 4:
            return None
        a, b, c, d = parts
        if a is None or b is None or c is None or d is None:
            return None
        got = new_event(Delays, (a, b, c, d))
    if len(_DELAYS) >= 65536:
        _DELAYS.clear()
    _DELAYS[text] = got
    return got


def _ascii_delays(text: str) -> Delays | None:  # noqa: PLR0912  (one pass, a branch per character class)
    """Four ASCII decimals of at most 15 digits between '/'s ('0.35/0.18/0.9/12'), read
    in one pass over the characters; None for anything else (left to _number).

    Each value is its digits as an integer over a power of ten, an exact quotient
    rounded once: the same float as float() of the text (both are below 2**53). A
    split and four float() calls cost nearly twice as much, on every status line."""
    a = b = c = 0.0  # the parts read so far (compiled: unboxed, where a list boxes)
    part = 0
    number = 0
    scale = 1
    digits = 0
    dot = False
    size = len(text)
    i = 0
    while True:
        char = ord(text[i]) if i < size else 47  # the end closes the last part like '/'
        if 48 <= char <= 57:
            if digits == 15:
                return None  # past what a float holds exactly (and no unbounded int)
            number = number * 10 + (char - 48)
            digits += 1
            if dot:
                scale *= 10
        elif char == 46 and not dot:
            dot = True
        elif char == 47 and digits:
            value = number / scale
            if part == 0:
                a = value
            elif part == 1:
                b = value
            elif part == 2:
                c = value
            elif i >= size:
                return new_event(Delays, (a, b, c, value))
            else:
                return None  # a fifth part
            part += 1
            if i >= size:
                return None  # fewer than four
            number = 0
            scale = 1
            digits = 0
            dot = False
        else:
            return None
        i += 1


# The messages of smtp/lmtp lines about one attempt (the status line follows).
_ATTEMPT_STARTS: Final = (
    "connect to ",
    "conversation with ",
    "lost connection with ",
    "host ",
    "SASL authentication failed",
    "SSL_connect error",
    "certificate verification failed",
    "Server certificate not",
)


_ATTEMPT_INITIALS: Final = "".join(sorted({start[0] for start in _ATTEMPT_STARTS}))


def _split_qid(msg: str) -> tuple[str, str]:
    """`QUEUEID: text` to (QUEUEID, text); ('', msg) when msg has no queue ID."""
    colon = msg.find(": ", 0, 24)
    if colon > 4 and msg[:colon].isalnum():
        return msg[:colon], msg[colon + 2 :]
    return "", msg


def may_be_attempt(text: str, at: int, end: int) -> bool:
    """Could parse_other find anything in the message text[at:end]? Its own tests,
    made in place and a little wider (no queue ID check): a quick no for a line of
    smtp or lmtp about nothing that failed (TLS notes and the like)."""
    if text.find("timeout after ", at, end) >= 0 or text.find("TLS handshake", at, end) >= 0:
        return True
    colon = text.find(": ", at, min(at + 24, end))  # after a queue ID, as _split_qid
    if colon > at + 4 and _starts_attempt(text, colon + 2, end):
        return True
    return _starts_attempt(text, at, end)


def _starts_attempt(text: str, pos: int, end: int) -> bool:
    # The first letters of _ATTEMPT_STARTS first: one cheap test for most messages.
    if pos >= end or text[pos] not in _ATTEMPT_INITIALS:
        return False
    return text.startswith(_ATTEMPT_STARTS, pos, end)


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
