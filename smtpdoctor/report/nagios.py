"""Nagios/Icinga plugin output: one status line with perfdata, and the plugin exit code.

    SMTP CRITICAL - greeting_timeout: connected, but no greeting in 30 s|connect=0.0004s;...

Thresholds are per phase (``-w rcpt=5 -c rcpt=20``; ``total`` is the whole probe). The
state is the worst of the verdict (failed: CRITICAL, degraded: WARNING) and the thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.monitor.sample import ProbeSample
from smtpdoctor.phases import Phase


class PluginState(IntEnum):
    """Nagios plugin exit codes (Monitoring Plugins Development Guidelines)."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


PHASE_NAMES = (*(p.value for p in Phase), "total")


def parse_thresholds(items: Iterable[str], flag: str) -> dict[str, float]:
    """``PHASE=SECONDS`` items (repeatable or comma-separated) as a dict; UsageError if bad."""
    out: dict[str, float] = {}
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            name, sep, value = part.partition("=")
            name = name.strip().lower()
            if not sep or name not in PHASE_NAMES:
                raise UsageError(
                    f"{flag} wants PHASE=SECONDS with PHASE one of {', '.join(PHASE_NAMES)};"
                    f" got {part!r}"
                )
            try:
                seconds = float(value)
            except ValueError:
                raise UsageError(f"{flag} {name}: {value!r} is not a number of seconds") from None
            if not 0 < seconds <= 86400:
                raise UsageError(f"{flag} {name}: seconds must be between 0 and 86400")
            out[name] = seconds
    return out


@dataclass(frozen=True)
class PluginResult:
    """What the plugin prints and returns."""

    state: PluginState
    line: str


def _fmt(seconds: float) -> str:
    return f"{seconds:.6f}".rstrip("0").rstrip(".") or "0"


def render(
    sample: ProbeSample, warning: dict[str, float], critical: dict[str, float]
) -> PluginResult:
    """The plugin line and state for a probe."""
    timings = dict(sample.phases)
    timings["total"] = sample.duration_s
    state = PluginState.OK
    if sample.verdict == "failed":
        state = PluginState.CRITICAL
    elif sample.verdict == "degraded":
        state = PluginState.WARNING
    over: list[str] = []
    for name, seconds in timings.items():
        if name in critical and seconds > critical[name]:
            state = PluginState.CRITICAL
            over.append(f"{name} {seconds:.3f} s > {_fmt(critical[name])} s")
        elif name in warning and seconds > warning[name]:
            state = max(state, PluginState.WARNING)
            over.append(f"{name} {seconds:.3f} s > {_fmt(warning[name])} s")
    main = sample.main_cause
    if sample.error:
        text = sample.error
    elif main is not None and sample.verdict != "ok":
        where = f" in {main.phase}" if main.phase else ""
        text = f"{main.cause}{where}: {main.summary}"
    else:
        text = f"{sample.endpoint or sample.spec}: mail accepted in {sample.duration_s:.3f} s"
    if over:
        text = f"{'; '.join(over)}; {text}"
    perf = []
    for name, seconds in timings.items():
        label = "time" if name == "total" else name
        w = _fmt(warning[name]) if name in warning else ""
        c = _fmt(critical[name]) if name in critical else ""
        perf.append(f"{label}={_fmt(seconds)}s;{w};{c};0;")
    # The status line is one line: a summary with a newline would end the plugin output.
    text = " ".join(text.split()).replace("|", "/")
    return PluginResult(state, f"SMTP {state.name} - {text}|{' '.join(perf)}")


def unknown(reason: str) -> PluginResult:
    """The plugin's answer when the check could not run (bad arguments included)."""
    return PluginResult(PluginState.UNKNOWN, f"SMTP UNKNOWN - {' '.join(reason.split())}")
