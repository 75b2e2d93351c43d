"""A check stopped by SIGINT/SIGTERM: what was measured so far, as text or JSON."""

from __future__ import annotations

import json
from typing import Any

from smtpdoctor.report.check_json import SCHEMA

INTERRUPTED = "interrupted"


def as_dict(
    target: str, signal_name: str, elapsed_ms: float, measured: list[dict[str, Any]]
) -> dict[str, Any]:
    """The smtpdoctor.check/1 document of an interrupted check (verdict "interrupted")."""
    return {
        "schema": SCHEMA,
        "target": target,
        "verdict": INTERRUPTED,
        "interrupted": True,
        "signal": signal_name,
        "elapsed_ms": elapsed_ms,
        "endpoints_so_far": measured,
        "causes": [],
    }


def render_json(
    target: str, signal_name: str, elapsed_ms: float, measured: list[dict[str, Any]]
) -> str:
    """One JSON document."""
    return json.dumps(as_dict(target, signal_name, elapsed_ms, measured), indent=2) + "\n"


def render_text(
    target: str, signal_name: str, elapsed_ms: float, measured: list[dict[str, Any]]
) -> str:
    """Plain lines: each endpoint's finished phases, then the phase that was cut short."""
    lines = [
        f"smtpdoctor check {target}: interrupted ({signal_name}) after "
        f"{elapsed_ms / 1000:.1f} s: no diagnosis; what was measured so far:"
    ]
    if not measured:
        lines.append("  nothing yet (still resolving the target)")
    for ep in measured:
        parts = [f"{p['phase']} {p['status']} {p['ms']:g} ms" for p in ep["phases"]]
        cut = ep["interrupted_phase"]
        if cut is not None:
            parts.append(f"{cut['phase']} interrupted after {cut['ms']:g} ms")
        lines.append(f"  {ep['endpoint']}: " + (", ".join(parts) or "not started"))
    return "\n".join(lines) + "\n"
