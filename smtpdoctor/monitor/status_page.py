"""The status page at `/`: server-rendered HTML with inline SVG plots, no external assets."""

from __future__ import annotations

import html
import math
import time

from smtpdoctor.monitor.history import TargetSummary
from smtpdoctor.monitor.sample import ProbeSample
from smtpdoctor.phases import Phase

COLORS = {"ok": "#1a7f37", "degraded": "#9a6700", "failed": "#cf222e"}
# one line per phase; colour-blind-safe (Okabe-Ito)
PHASE_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                "#000000", "#999999")  # fmt: skip

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1f2328}
h1{font-size:1.3em}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #d0d7de;padding:.4em .6em;text-align:left;vertical-align:top}
.state{font-weight:600;color:#fff;padding:.1em .5em;border-radius:.3em}
.fix{font-family:ui-monospace,monospace;font-size:.9em;background:#f6f8fa;padding:.1em .3em}
.legend span{margin-right:.8em}.pct{white-space:nowrap}small{color:#656d76}svg{background:#fbfbfb}
"""


def _plot(samples: list[ProbeSample], width: int = 360, height: int = 90) -> str:
    """Per-phase latency over time as SVG polylines (log scale, 1 ms to 10 min)."""
    if len(samples) < 2:
        return "<small>not enough history to plot yet</small>"
    t0, t1 = samples[0].started_at, samples[-1].started_at
    span = max(t1 - t0, 1e-9)
    lo, hi = math.log10(0.001), math.log10(600)
    phases = sorted({p for s in samples for p, _ in s.phases}, key=lambda p: Phase(p).order)
    lines, legend = [], []
    for i, phase in enumerate(phases):
        color = PHASE_COLORS[i % len(PHASE_COLORS)]
        points = []
        for s in samples:
            seconds = dict(s.phases).get(phase)
            if seconds is None:
                continue
            x = (s.started_at - t0) / span * width
            y = height - (math.log10(max(seconds, 0.001)) - lo) / (hi - lo) * height
            points.append(f"{x:.1f},{y:.1f}")
        joined = " ".join(points)
        lines.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{joined}"/>'
        )
        legend.append(f'<span style="color:{color}">&#9632; {html.escape(phase)}</span>')
    grid = "".join(
        f'<line x1="0" x2="{width}" y1="{height - (math.log10(v) - lo) / (hi - lo) * height:.1f}" '
        f'y2="{height - (math.log10(v) - lo) / (hi - lo) * height:.1f}" stroke="#eee"/>'
        for v in (0.01, 1, 60)
    )
    return (
        f'<svg role="img" aria-label="phase latency" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{grid}{"".join(lines)}</svg>'
        f'<div class="legend"><small>{"".join(legend)} (log scale, 1 ms to 10 min)</small></div>'
    )


def _row(summary: TargetSummary, samples: list[ProbeSample]) -> str:
    s = summary.last
    main = s.main_cause
    color = COLORS.get(s.verdict, "#57606a")
    cause = (
        f"<b>{html.escape(main.cause)}</b>"
        + (f" <small>in {html.escape(main.phase)}</small>" if main.phase else "")
        + f"<br>{html.escape(main.summary)}"
        if main
        else html.escape(s.error)
    )
    fix = f'<span class="fix">{html.escape(main.fix)}</span>' if main and main.fix else ""
    pct = "<br>".join(
        f"{html.escape(p)}: {p50 * 1000:.1f} / {p95 * 1000:.1f} ms"
        for p, (p50, p95) in sorted(summary.percentiles.items(), key=lambda kv: Phase(kv[0]).order)
    )
    return (
        f'<tr data-target="{html.escape(summary.target)}" data-state="{html.escape(s.verdict)}">'
        f"<td><b>{html.escape(summary.target)}</b><br><small>{html.escape(s.endpoint)}</small></td>"
        f'<td><span class="state" style="background:{color}">{html.escape(s.verdict)}</span><br>'
        f"<small>uptime {summary.uptime * 100:.1f}% of {summary.samples}</small></td>"
        f'<td>{cause}</td><td>{fix}</td><td class="pct"><small>{pct}</small></td>'
        f"<td>{_plot(samples)}</td></tr>"
    )


def render(rows: list[tuple[TargetSummary, list[ProbeSample]]], now: float | None = None) -> str:
    """The whole page."""
    now = now if now is not None else time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
    body = "".join(_row(summary, samples) for summary, samples in rows) or (
        '<tr><td colspan="6">no probe has finished yet</td></tr>'
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta http-equiv="refresh" content="30">'
        f"<title>smtpdoctor monitor</title><style>{CSS}</style></head><body>"
        f"<h1>smtpdoctor monitor</h1><p><small>{stamp}; last 24 hours; "
        '<a href="/metrics">metrics</a></small></p>'
        "<table><thead><tr><th>target</th><th>state</th><th>cause</th><th>fix</th>"
        "<th>p50 / p95 per phase</th><th>latency per phase</th></tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>"
    )
