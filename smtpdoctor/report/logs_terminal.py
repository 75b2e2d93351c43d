"""`smtpdoctor logs` for people: verdict first, then where, when, why, and what to do."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.model import Insight, LogGroup, LogReport
from smtpdoctor.logs.summary import Rollup, by_cause_phase, by_destination
from smtpdoctor.phases import PHASE_DESCRIPTIONS
from smtpdoctor.report.logs_json import cause_summaries

BAR_WIDTH = 40


def _when(value: datetime | None) -> str:
    return value.strftime("%m-%d %H:%M:%S") if value is not None else "-"


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def relay_text(relay: str) -> str:
    """`1.2.3.4[1.2.3.4]:25` shortened to `1.2.3.4:25`; names keep their address."""
    host, sep, rest = relay.partition("[")
    if sep and rest.startswith(host + "]"):
        return host + rest[len(host) + 1 :]
    return relay


def coverage_line(report: LogReport) -> str:
    """How much of the input was read."""
    c = report.coverage
    text = (
        f"read: {c.parsed:,} of {c.lines:,} lines parsed, {c.recognised:,} from an MTA, "
        f"{c.unparsed:,} in no known format"
    )
    if c.binary:
        text += f", {c.binary:,} runs of NUL bytes skipped"
    if c.truncated:
        text += f", {c.truncated:,} overlong lines cut"
    return text


def verdict_line(report: LogReport) -> str:
    """One line: how much went wrong and the top causes."""
    t = report.totals
    c = report.coverage
    if c.unreadable:
        why = (
            "no line is in a format smtpdoctor reads"
            if c.parsed == 0
            else "no line was written by Postfix, Exim, Sendmail or OpenSMTPD"
            if c.recognised == 0
            else f"{c.unparsed:,} of {c.lines:,} lines are in no format smtpdoctor reads"
        )
        return f"COULD NOT READ THIS LOG: {why}."
    if not report.groups:
        return (
            f"OK: no timeouts or delivery failures in {t['lines']:,} lines "
            f"({t['deliveries']:,} deliveries)."
        )
    counts: Counter[CauseCode] = Counter()
    for g in report.groups:
        counts[g.cause] += g.count
    top = ", ".join(f"{c} ({n:,})" for c, n in counts.most_common(3))
    return (
        f"PROBLEMS: {report.timeout_count:,} timeouts and "
        f"{report.problem_count - report.timeout_count:,} other failures; "
        f"{t['deferred']:,} deferred, {t['bounced']:,} bounced, {t['delayed']:,} delivered late "
        f"of {t['deliveries']:,} delivered. Top causes: {top}."
    )


def _group_table(groups: tuple[LogGroup, ...], top: int) -> Table:
    table = Table(title="Every group: cause, phase, destination, relay", title_justify="left")
    for col in ("cause", "phase", "destination", "relay", "count", "first seen", "last seen"):
        table.add_column(
            col,
            justify="right" if col == "count" else "left",
            no_wrap=col in ("cause", "count", "first seen", "last seen"),
            overflow="fold",
        )
    for g in groups[:top]:
        dest = g.destination + (" (inbound)" if g.direction == "inbound" else "")
        table.add_row(
            str(g.cause),
            str(g.phase or "-"),
            dest or "-",
            relay_text(g.relay) or "-",
            f"{g.count:,}",
            _when(g.first_seen),
            _when(g.last_seen),
        )
    if len(groups) > top:
        table.caption = f"{len(groups) - top} more groups: use --top or --json"
    return table


def _rollup_table(title: str, first_col: str, rows: list[Rollup], top: int) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first_col)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("timeouts", justify="right", no_wrap=True)
    table.add_column("causes" if first_col == "destination" else "relays")
    table.add_column("first seen", no_wrap=True)
    table.add_column("last seen", no_wrap=True)
    for r in rows[:top]:
        relays = ", ".join(relay_text(x) for x in r.relays)
        detail = ", ".join(r.causes) if first_col == "destination" else relays
        table.add_row(
            r.key or "-",
            f"{r.count:,}",
            f"{r.timeouts:,}",
            detail or "-",
            _when(r.first_seen),
            _when(r.last_seen),
        )
    if len(rows) > top:
        table.caption = f"{len(rows) - top} more: use --top or --json"
    return table


def _histogram(report: LogReport) -> Table:
    hist = report.histogram
    per_day = len(hist) > 48
    buckets: Counter[str] = Counter()
    for hour, n in hist:
        buckets[hour.strftime("%Y-%m-%d" if per_day else "%Y-%m-%d %H:00")] += n
    table = Table(
        title=f"Failures over time (per {'day' if per_day else 'hour'})",
        title_justify="left",
        show_header=False,
        box=None,
    )
    table.add_column("when")
    table.add_column("bar")
    table.add_column("count", justify="right")
    peak = max(buckets.values(), default=1)
    for key in sorted(buckets):
        n = buckets[key]
        width = max(1, round(n / peak * BAR_WIDTH))
        table.add_row(key, Text("█" * width, style="red"), f"{n:,}")
    return table


def insight_line(i: Insight) -> str:
    """One line: what the insight found, with the addresses that prove it."""
    return (
        f"{i.cause}: {i.host} fails on IPv6 ({', '.join(i.failed_addresses)}: "
        f"{i.failures:,} connect failures) while IPv4 ({', '.join(i.working_addresses)}) "
        f"delivered {i.successes:,}"
    )


def _insights(report: LogReport, console: Console) -> None:
    for i in report.insights:
        console.print(Text(insight_line(i), style="bold yellow"), soft_wrap=True)
        for fix in i.fixes:
            console.print(f"    fix: {fix}", highlight=False, soft_wrap=True)
        console.print(f"    confirm live: {i.check}", highlight=False)


def _fixes(report: LogReport, console: Console) -> None:
    console.print(Text("What to do", style="bold"))
    for item in cause_summaries(report):
        console.print(
            Text(f"  {item['cause']} ({item['count']:,}): {item['title']}", style="bold yellow")
        )
        for fix in item["fixes"]:
            console.print(f"    fix: {fix}", highlight=False, soft_wrap=True)
        for cmd in item["check_commands"][:5]:
            console.print(f"    confirm live: {cmd}", highlight=False)


def render(report: LogReport, *, top: int = 20, width: int = 120, color: bool = False) -> str:
    """The full human report as text."""
    buf = io.StringIO()
    console = Console(
        file=buf, width=width, force_terminal=color, no_color=not color, highlight=False
    )
    t = report.totals
    first, last = report.first_seen, report.last_seen
    period = (
        f"{first:%Y-%m-%d %H:%M:%S} to {last:%Y-%m-%d %H:%M:%S}" if first and last else "no dates"
    )
    console.print(
        f"smtpdoctor logs: {t['lines']:,} lines from {len(report.sources) or 1} source(s), "
        f"{', '.join(report.mtas) or 'no MTA'} events, {period}",
        soft_wrap=True,
    )
    bad = bool(report.groups) or report.coverage.unreadable
    console.print(
        Text(verdict_line(report), style="bold red" if bad else "bold green"), soft_wrap=True
    )
    if report.coverage.unreadable:
        console.print(coverage_line(report), soft_wrap=True)
        for line in report.coverage.first_unparsed:
            console.print(f"  unrecognised: {line}", soft_wrap=True, markup=False)
    for w in report.warnings:
        console.print(f"warning: {w}", style="yellow", soft_wrap=True)
    _insights(report, console)
    if report.groups:
        console.print()
        console.print(
            _rollup_table("By cause and phase", "cause / phase", by_cause_phase(report.groups), top)
        )
        console.print()
        console.print(
            _rollup_table("By destination", "destination", by_destination(report.groups), top)
        )
        console.print()
        console.print(_group_table(report.groups, top))
        if report.histogram:
            console.print()
            console.print(_histogram(report))
    _delays(report, console)
    _messages(report, console, top)
    if report.groups:
        console.print()
        _fixes(report, console)
        phases = {g.phase for g in report.groups if g.phase}
        if phases:
            console.print()
            console.print(Text("Phases", style="bold"))
            for p in sorted(phases, key=lambda p: p.order):
                console.print(f"  {p}: {PHASE_DESCRIPTIONS[p]}")
    if not report.coverage.unreadable:
        console.print()
        console.print(coverage_line(report), soft_wrap=True)
    return buf.getvalue()


def _delays(report: LogReport, console: Console) -> None:
    """Where the time went for delayed mail (Postfix delays=a/b/c/d)."""
    d = report.delays
    if d.messages:
        console.print()
        total = d.total or 1.0
        console.print(
            Text(f"Where the time went for delayed mail ({d.messages:,} attempts)", style="bold")
        )
        for label, value in (
            ("waiting before delivery: arrival, deferred queue (a)", d.before_queue),
            ("in the queue manager (b)", d.in_queue),
            ("connection setup: DNS, connect, greeting, TLS (c)", d.connection),
            ("transmission (d)", d.transmission),
        ):
            console.print(f"  {label:<52} avg {_dur(value):>7}  {value / total:6.1%}")
        console.print(f"  longest delay {_dur(d.max_delay)}")


def _messages(report: LogReport, console: Console, top: int) -> None:
    """Messages joined by queue ID, and the most delayed of them."""
    m = report.messages
    if m.tracked:
        console.print()
        console.print(
            Text(
                f"Messages: {m.tracked:,} tracked by queue ID; delivered at first try "
                f"{m.delivered_first_try:,}, after retries {m.delivered_after_retry:,}, "
                f"bounced {m.bounced:,}, still pending {m.pending:,}; most attempts "
                f"{m.max_attempts}",
                style="bold",
            )
        )
        if m.worst:
            table = Table(title="Most delayed messages", title_justify="left")
            for col in ("queue id", "attempts", "delay", "outcome", "causes", "destination"):
                table.add_column(col)
            for tr in m.worst[: min(top, 10)]:
                table.add_row(
                    tr.queue_id,
                    str(tr.attempts),
                    _dur(tr.delay),
                    tr.outcome,
                    ", ".join(tr.causes),
                    tr.destination or "-",
                )
            console.print(table)


def render_rolling(report: LogReport, top: int = 5) -> str:
    """A few lines for --follow: the verdict and the top groups so far."""
    lines = [f"[{datetime.now().strftime('%H:%M:%S')}] {verdict_line(report)}"]
    lines += [f"  {insight_line(i)}" for i in report.insights]
    for g in report.groups[:top]:
        lines.append(
            f"  {g.count:>6,}  {g.cause} {g.phase or '-'}  {g.destination or '-'} "
            f"via {relay_text(g.relay) or '-'}  last {_when(g.last_seen)}"
        )
    return "\n".join(lines) + "\n"
