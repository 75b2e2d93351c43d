"""Postfix settings: `postconf` output to a dict, time values to seconds, and the target.

`postconf -x` gives every parameter with $names expanded (the effective value),
`postconf -n` only those set in main.cf (what an admin changed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from smtpdoctor.mta.runner import ToolError, find_tool, run

_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)\s*=\s?(?P<value>.*)$")
_TIME = re.compile(r"^\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw]?)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_postconf(lines: Iterable[str]) -> dict[str, str]:
    """`name = value` lines to a dict; other lines (warnings) ignored."""
    settings: dict[str, str] = {}
    for line in lines:
        m = _LINE.match(line.rstrip("\n"))
        if m:
            settings[m.group("name")] = m.group("value").strip()
    return settings


def parse_time(value: str, default_unit: str = "s") -> float | None:
    """A Postfix time value ('30s', '5m', '1d', '300') in seconds; None if not a time."""
    m = _TIME.match(value)
    if m is None:
        return None
    unit = m.group("unit") or default_unit
    return float(m.group("num")) * _UNITS[unit]


def format_seconds(seconds: float) -> str:
    """Seconds as a Postfix time value in the largest exact unit ('300s' -> '5m')."""
    whole = int(seconds)
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{seconds:g}s"


def parse_size(value: str) -> int | None:
    """A byte count ('10240000'); None if not a number."""
    value = value.strip()
    return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class PostfixTarget:
    """Which Postfix to read: its config directory (None: the default) and tool PATH."""

    config_dir: Path | None = None
    path: str | None = None  # PATH to search for postconf/postqueue; None: the environment
    queue_dir: Path | None = None

    def tool(self, name: str) -> str:
        """Full path of a Postfix tool; ToolError if it is not installed."""
        found = find_tool(name, self.path)
        if found is None:
            raise ToolError(f"{name}: not installed (not found in PATH)")
        return found

    def config_args(self) -> list[str]:
        """`-c DIR` when a non-default config directory is asked for."""
        return ["-c", str(self.config_dir)] if self.config_dir is not None else []

    def installed(self) -> bool:
        """True if postconf is on the PATH."""
        return find_tool("postconf", self.path) is not None


@dataclass(frozen=True)
class PostfixSettings:
    """The effective settings and the ones changed in main.cf."""

    effective: Mapping[str, str]
    changed: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str, fallback: str = "") -> str:
        """The effective value of a parameter."""
        return self.effective.get(name, fallback)


def read_settings(target: PostfixTarget, timeout: float = 20.0) -> PostfixSettings:
    """Effective (-x), changed (-n) and default (-d) settings; ToolError if unreadable."""
    postconf = target.tool("postconf")
    args = target.config_args()
    if target.config_dir is not None and not (target.config_dir / "main.cf").is_file():
        raise ToolError(f"{target.config_dir / 'main.cf'}: no such file")
    effective = parse_postconf(run([postconf, *args, "-x"], timeout).stdout.splitlines())
    changed = parse_postconf(run([postconf, *args, "-n"], timeout).stdout.splitlines())
    defaults = parse_postconf(run([postconf, *args, "-d"], timeout).stdout.splitlines())
    return PostfixSettings(effective, changed, defaults)


def with_queue_dir(target: PostfixTarget, settings: PostfixSettings) -> PostfixTarget:
    """The target with queue_directory filled in from the settings."""
    queue_dir = settings.get("queue_directory")
    if target.queue_dir is not None or not queue_dir:
        return target
    return PostfixTarget(target.config_dir, target.path, Path(queue_dir))
