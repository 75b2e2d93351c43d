"""`smtpdoctor logs --json`: one document of schema `smtpdoctor.logs/1` (docs/logs.md)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timezone, tzinfo
from typing import Any, Final

from smtpdoctor.catalogue import CauseCode, describe
from smtpdoctor.logs.checks import check_command
from smtpdoctor.logs.coverage import Coverage
from smtpdoctor.logs.events import TIMEOUT_CAUSES
from smtpdoctor.logs.model import SCHEMA, Insight, LogGroup, LogReport, MessageTrace
from smtpdoctor.logs.summary import Rollup, by_cause_phase, by_destination
from smtpdoctor.report import json_text

UNREADABLE = "could not read this log"


# An hour's local time and offset -> the text before its minutes and after its seconds
# in isoformat(): datetime.isoformat() costs about 10,000 instructions, and a report of
# 5,000 groups writes two times for each.
_HOURS: dict[tuple[int, int, int, int, tzinfo], tuple[str, str]] = {}
_TWO_DIGITS: Final = tuple(f"{n:02d}" for n in range(60))


def _ts(value: datetime | None) -> str | None:
    """value.isoformat(), or None."""
    if value is None:
        return None
    zone = value.tzinfo
    if value.microsecond or type(zone) is not timezone:
        return value.isoformat()  # a fixed offset: one local hour, one text
    # Groups share the datetimes of the stamps they were read from, and a datetime
    # keeps its hash: a time already written is one lookup. Per zone, because equal
    # instants in two offsets are equal datetimes with two texts.
    texts = _TEXTS.get(zone)
    if texts is None:
        texts = _TEXTS[zone] = {}
    text = texts.get(value)
    if text is None:
        text = _hour_text(value, zone)
        if len(texts) >= 65536:
            texts.clear()
        texts[value] = text
    return text


_TEXTS: dict[tzinfo, dict[datetime, str]] = {}


def _hour_text(value: datetime, zone: tzinfo) -> str:
    key = (value.year, value.month, value.day, value.hour, zone)
    parts = _HOURS.get(key)
    if parts is None:
        text = value.isoformat()
        if len(_HOURS) >= 65536:
            _HOURS.clear()
        _HOURS[key] = text[:14], text[19:]
        return text
    minute, second = _TWO_DIGITS[value.minute], _TWO_DIGITS[value.second]
    return "".join((parts[0], minute, ":", second, parts[1]))


GROUP_KEYS: Final = (
    "cause", "title", "timeout", "phase", "destination", "relay", "direction", "mta",
    "count", "first_seen", "last_seen", "check", "sample",
)  # fmt: skip
_CHECK: Final = GROUP_KEYS.index("check")
_FIRST: Final = GROUP_KEYS.index("first_seen")
_LAST: Final = GROUP_KEYS.index("last_seen")
_SAMPLE: Final = GROUP_KEYS.index("sample")


def group_values(g: LogGroup) -> tuple[object, ...]:
    """One group's JSON values, in the order of GROUP_KEYS."""
    cause = g.cause
    return (
        str(cause),
        _title(cause),
        cause in TIMEOUT_CAUSES,
        str(g.phase) if g.phase else None,
        g.destination,
        g.relay,
        g.direction,
        g.mta,
        g.count,
        _ts(g.first_seen),
        _ts(g.last_seen),
        check_command(cause, g.direction, g.destination, g.relay),
        g.sample,
    )


def group_dict(g: LogGroup) -> dict[str, Any]:
    """One group as JSON-ready data."""
    return dict(zip(GROUP_KEYS, group_values(g), strict=True))


_TITLES: dict[CauseCode, str] = {}


def _title(cause: CauseCode) -> str:
    title = _TITLES.get(cause)
    if title is None:
        title = _TITLES[cause] = describe(cause).title
    return title


def insight_dict(i: Insight) -> dict[str, Any]:
    """One insight (a finding over several groups) as JSON-ready data."""
    return {
        "cause": str(i.cause),
        "title": describe(i.cause).title,
        "host": i.host,
        "destination": i.destination,
        "failures": i.failures,
        "successes": i.successes,
        "failed_addresses": list(i.failed_addresses),
        "working_addresses": list(i.working_addresses),
        "first_seen": _ts(i.first_seen),
        "last_seen": _ts(i.last_seen),
        "fixes": list(i.fixes),
        "check": i.check,
    }


def cause_summaries(
    report: LogReport, commands: list[str | None] | None = None
) -> list[dict[str, Any]]:
    """Per cause: count, fixes from the catalogue and the check commands to confirm it
    (commands: each group's check_command, when the caller has them already)."""
    counts: Counter[CauseCode] = Counter()
    checks: dict[CauseCode, dict[str, None]] = {}
    if commands is None:
        commands = [g.check_command for g in report.groups]
    for g, command in zip(report.groups, commands, strict=True):
        counts[g.cause] += g.count
        if command:
            checks.setdefault(g.cause, {})[command] = None
    out = []
    for code, n in counts.most_common():
        info = describe(code)
        out.append(
            {
                "cause": str(code),
                "title": info.title,
                "count": n,
                "fixes": list(info.fixes),
                "check_commands": list(checks.get(code, {}))[:10],
            }
        )
    return out


def _rollup(r: Rollup) -> dict[str, Any]:
    return {
        "key": r.key,
        "count": r.count,
        "timeouts": r.timeouts,
        "causes": [str(c) for c in r.causes],
        "phases": [str(p) for p in r.phases],
        "relays": list(r.relays),
        "first_seen": _ts(r.first_seen),
        "last_seen": _ts(r.last_seen),
    }


def _trace(t: MessageTrace) -> dict[str, Any]:
    return {
        "queue_id": t.queue_id,
        "attempts": t.attempts,
        "delay_s": t.delay,
        "outcome": t.outcome,
        "causes": [str(c) for c in t.causes],
        "destination": t.destination,
        "first_seen": _ts(t.first_seen),
        "last_seen": _ts(t.last_seen),
    }


def verdict(report: LogReport) -> str:
    """'could not read this log' when the input is not a log smtpdoctor reads (most
    lines in no known format, or no MTA line at all), else 'problems' or 'ok'."""
    if report.coverage.unreadable:
        return UNREADABLE
    return "problems" if report.groups else "ok"


def coverage_dict(c: Coverage) -> dict[str, Any]:
    """How much of the input was read, and the first lines that were not."""
    return {
        "lines": c.lines,
        "parsed": c.parsed,
        "recognised": c.recognised,
        "unparsed": c.unparsed,
        "binary_skipped": c.binary,
        "truncated": c.truncated,
        "first_unparsed": list(c.first_unparsed),
    }


def report_dict(report: LogReport) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    groups = [group_dict(g) for g in report.groups]
    return _document(report, groups, [g["check"] for g in groups])


def _document(
    report: LogReport, groups: list[dict[str, Any]], commands: list[str | None]
) -> dict[str, Any]:
    m = report.messages
    d = report.delays
    return {
        "schema": SCHEMA,
        "generated_at": datetime.now(UTC).isoformat(),
        "verdict": verdict(report),
        "sources": list(report.sources),
        "mtas": list(report.mtas),
        "since": _ts(report.since),
        "period": {"first_seen": _ts(report.first_seen), "last_seen": _ts(report.last_seen)},
        "totals": dict(report.totals),
        "coverage": coverage_dict(report.coverage),
        "timeouts": report.timeout_count,
        "problems": report.problem_count,
        "insights": [insight_dict(i) for i in report.insights],
        "causes": cause_summaries(report, commands),
        "groups": groups,
        "by_destination": [_rollup(r) for r in by_destination(report.groups)],
        "by_cause_phase": [_rollup(r) for r in by_cause_phase(report.groups)],
        "histogram": [{"hour": _ts(h), "count": n} for h, n in report.histogram],
        "delays": {
            "samples": d.messages,
            "avg_before_queue_s": d.before_queue,
            "avg_in_queue_s": d.in_queue,
            "avg_connection_s": d.connection,
            "avg_transmission_s": d.transmission,
            "max_delay_s": d.max_delay,
        },
        "messages": {
            "tracked": m.tracked,
            "delivered_first_try": m.delivered_first_try,
            "delivered_after_retry": m.delivered_after_retry,
            "bounced": m.bounced,
            "pending": m.pending,
            "evicted": m.evicted,
            "max_attempts": m.max_attempts,
            "worst": [_trace(t) for t in m.worst],
        },
        "warnings": list(report.warnings),
    }


def render(report: LogReport, *, indent: int | None = 2) -> str:
    """The JSON document (one line when ``indent`` is None, for --follow streams)."""
    if indent is None:
        return json.dumps(report_dict(report), ensure_ascii=False)
    if indent == _INDENT:
        # The groups (thousands on a large log, most of the text) are written straight
        # from their values, no dict per group; the rest of the document as usual.
        rows = [group_values(g) for g in report.groups]
        groups = _groups_text(rows)
        if groups is not None:
            commands: list[str | None] = [row[_CHECK] for row in rows]  # type: ignore[misc]
            document = _document(report, [], commands)
            text = json_text.dumps_with(document, {"groups": groups}, indent)
            if text is not None:
                return text
    return json_text.dumps(report_dict(report), indent)


_INDENT: Final = 2
# What comes before each group value in the document: key and indent at depth 3.
_GROUP_PREFIXES: Final = tuple(
    ("\n" if i == 0 else ",\n") + " " * 3 * _INDENT + json.dumps(key) + ": "
    for i, key in enumerate(GROUP_KEYS)
)
_GROUP_OPEN: Final = "\n" + " " * 2 * _INDENT + "{"
_GROUP_CLOSE: Final = "\n" + " " * 2 * _INDENT + "}"


def _groups_text(rows: list[tuple[object, ...]]) -> str | None:
    """The groups' list as json.dumps(indent=2) writes it at depth 1, from their
    values; None when a value is not a plain str, int, bool or None."""
    if not rows:
        return "[]"
    out: list[str] = []
    # Quoting costs as much as the rest together: the words groups share (causes,
    # titles, destinations, commands) are quoted once; times need no escaping.
    quoted: dict[str, str] = {}
    separator = "["
    for row in rows:
        if len(row) != len(_GROUP_PREFIXES):
            return None
        out.append(separator)
        out.append(_GROUP_OPEN)
        for i, value in enumerate(row):
            text: str | None
            if type(value) is not str or i == _SAMPLE:
                text = json_text.scalar_text(value)
                if text is None:
                    return None
            elif i in (_FIRST, _LAST):
                text = '"' + value + '"'  # isoformat(): digits, "-", ":", "T", "+", "."
            else:
                text = quoted.get(value)
                if text is None:
                    text = quoted[value] = json_text.scalar_text(value) or ""
            out.append(_GROUP_PREFIXES[i])
            out.append(text)
        out.append(_GROUP_CLOSE)
        separator = ","
    out.append("\n" + " " * _INDENT + "]")
    return "".join(out)
