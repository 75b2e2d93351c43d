"""The probe knobs monitor's `[modules.NAME]` and failover's relays share, read from TOML.

Pure: a parsed TOML table in, a checked `ProbeKnobs` out, and every refusal located as
`FILE:LINE: message` (tomllib gives values, not positions: `Locator` finds the lines).
Each daemon keeps its own top-level settings (intervals, targets or relays, the breaker)
in its own config module; `smtpdoctor.probe_options` turns knobs into check's options.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.phases import Phase
from smtpdoctor.target import parse_mailbox

__all__ = [
    "FAILOVER_WORDING",
    "MONITOR_WORDING",
    "ConfigError",
    "KnobReader",
    "Locator",
    "ProbeKnobs",
    "Wording",
    "duration",
]

TLS_MODES = ("auto", "implicit", "plain")
STARTTLS_MODES = ("auto", "require", "never")

KeyPath = tuple[str | int, ...]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


class ConfigError(UsageError):
    """A configuration problem, located: 'FILE:LINE: message'."""


@dataclass(frozen=True)
class ProbeKnobs:
    """How to probe a target: the knobs of `smtpdoctor check`'s flags."""

    ports: tuple[int, ...] = ()
    tls: str = "auto"
    starttls: str = "auto"
    # phase name (or "command": every command phase) -> seconds
    timeouts: Mapping[str, float] = field(default_factory=dict)
    budget_s: float | None = None  # None: the daemon's default
    user: str | None = None
    password_file: Path | None = None
    send: bool = False
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    cafile: Path | None = None
    helo: str | None = None
    # check's follow-up probes (the MSS-clamped retry that tells an MTU blackhole from a
    # stall, the other TLS mode, the 465/587 comparison behind port25_blocked); off, a
    # stalled phase fails faster but those causes can no longer be named
    follow_ups: bool = True


class Locator:
    """Where each key of a TOML document is: the line of a key path like
    ("relays", 1, "timeouts") or ("modules", "submission", "ports")."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")

    def __init__(self, text: str):
        self.where: dict[KeyPath, int] = {}
        counts: dict[str, int] = {}
        table: KeyPath = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                name = header.group(2).replace('"', "").replace("'", "")
                parts: KeyPath = tuple(p.strip() for p in name.split("."))
                if header.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    parts = (*parts, index)
                table = parts
                self.where.setdefault(table, number)
                continue
            key = self._KEY.match(line)
            if key:
                path = (*table, *(k.strip("\"'") for k in key.group(1).split(".")))
                self.where.setdefault(path, number)

    def line(self, *path: str | int) -> int:
        """The line of the key, else of its closest enclosing table, else 1."""
        while path:
            if path in self.where:
                return self.where[path]
            if (*path, 0) in self.where:  # an array of tables: where its first one starts
                return self.where[(*path, 0)]
            path = path[:-1]
        return 1


def toml_error(source: str, exc: Exception, prefix: str = "") -> ConfigError:
    """tomllib's complaint as FILE:LINE: reason."""
    found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
    line = found.group(1) if found else "1"
    reason = re.sub(r"\s*\(at line.*", "", str(exc))
    return ConfigError(f"{source}:{line}: {prefix}{reason}")


def duration(value: Any) -> float | None:
    """Seconds from a number or a duration like '30s', '10m'; None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return float(m.group(1)) * _UNITS[m.group(2)]
    return None


@dataclass(frozen=True)
class Wording:
    """How a daemon words the refusals its tests and users already know."""

    unknown: Callable[[str, KeyPath, tuple[str, ...]], str]
    choice: Callable[[str, Any, tuple[str, ...]], str]
    timeout: Callable[[str, Any, float | None], str]  # phase, value, seconds (None: unreadable)
    timeout_ok: Callable[[float], bool]  # the seconds a phase's limit may be
    known: tuple[str, ...]  # the knobs accepted, in the order the unknown-key message lists


def _where(path: KeyPath) -> str:
    return ".".join(str(p) for p in path) or "top level"


MONITOR_KNOBS = ("ports", "tls", "starttls", "timeouts", "budget", "user", "password_file",
                 "send", "from", "to", "cafile", "helo", "follow_ups")  # fmt: skip
# failover never sends a message nor runs follow-up probes; sender/recipient for from/to
FAILOVER_KNOBS = ("ports", "tls", "starttls", "timeouts", "user", "password_file", "cafile",
                  "sender", "recipient", "budget")  # fmt: skip

MONITOR_WORDING = Wording(
    unknown=lambda key, path, known: (
        f"unknown key {key!r} in {_where(path)} (known: {', '.join(sorted(known))})"
    ),
    choice=lambda key, value, choices: f"{key}: {value!r} is not one of {', '.join(choices)}",
    timeout=lambda phase, value, seconds: (
        f"timeouts: expected seconds or a duration like '30s', got {value!r}"
        if seconds is None
        else f"timeouts: {seconds:g} s is outside 0.001..3600 s"
    ),
    timeout_ok=lambda seconds: 0.001 <= seconds <= 3600,
    known=MONITOR_KNOBS,
)

FAILOVER_WORDING = Wording(
    unknown=lambda key, path, known: f"{key}: unknown setting (known: {', '.join(known)})",
    choice=lambda key, value, choices: f"{key}: one of {', '.join(choices)}, not {value!r}",
    timeout=lambda phase, value, seconds: f"timeouts: {phase}: seconds between 0 and 86400",
    timeout_ok=lambda seconds: 0 < seconds <= 86400,
    known=FAILOVER_KNOBS,
)

# failover's names for the envelope knobs (one address each), beside monitor's from/to
_ALIASES = {"sender": "from", "recipient": "to"}


class KnobReader:
    """Checks the knobs of one TOML document; refusals are ConfigError FILE:LINE: why."""

    def __init__(self, source: str, text: str, wording: Wording):
        self.source = source
        self.locator = Locator(text)
        self.wording = wording

    def fail(self, path: KeyPath, message: str) -> ConfigError:
        """A ConfigError located at path (or its closest enclosing table)."""
        return ConfigError(f"{self.source}:{self.locator.line(*path)}: {message}")

    def knobs(
        self, table: Mapping[str, Any], path: KeyPath, base: ProbeKnobs | None = None
    ) -> ProbeKnobs:
        """The knobs of table (at path) on top of base."""
        base = base or ProbeKnobs()
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in self.wording.known:
                raise self.fail((*path, key), self.wording.unknown(key, path, self.wording.known))
            name = _ALIASES.get(key, key)
            values.update(self._READERS[name](self, value, (*path, key), base))
        knobs = replace(base, **values)
        if knobs.user is not None and knobs.password_file is None:
            raise self.fail((*path, "user"), "user needs password_file (never a password here)")
        if knobs.password_file is not None and knobs.user is None:
            raise self.fail((*path, "password_file"), "password_file needs user")
        return knobs

    def _ports(self, value: Any, path: KeyPath, base: ProbeKnobs) -> dict[str, Any]:
        if not isinstance(value, list) or not all(
            isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in value
        ):
            raise self.fail(path, "ports: a list of port numbers (1-65535)")
        return {"ports": tuple(value)}

    def _choice(self, value: Any, path: KeyPath, choices: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in choices:
            raise self.fail(path, self.wording.choice(str(path[-1]), value, choices))
        return value

    def _tls(self, value: Any, path: KeyPath, base: ProbeKnobs) -> dict[str, Any]:
        return {"tls": self._choice(value, path, TLS_MODES)}

    def _starttls(self, value: Any, path: KeyPath, base: ProbeKnobs) -> dict[str, Any]:
        return {"starttls": self._choice(value, path, STARTTLS_MODES)}

    def _timeouts(self, value: Any, path: KeyPath, base: ProbeKnobs) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "timeouts: a table PHASE = SECONDS")
        limits = dict(base.timeouts)
        for phase, given in value.items():
            if phase != "command" and phase not in {p.value for p in Phase}:
                raise self.fail(path, f"timeouts: unknown phase {phase!r}")
            seconds = duration(given)
            if seconds is None or not self.wording.timeout_ok(seconds):
                raise self.fail(path, self.wording.timeout(phase, given, seconds))
            limits[phase] = seconds
        return {"timeouts": limits}

    def _budget(self, value: Any, path: KeyPath, base: ProbeKnobs) -> dict[str, Any]:
        seconds = duration(value)
        if seconds is None or not 0.1 <= seconds <= 3600:
            raise self.fail(
                path, f"budget: expected seconds in 0.1..3600 or a duration, got {value!r}"
            )
        return {"budget_s": seconds}

    def _text(self, value: Any, path: KeyPath) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"{path[-1]}: expected a non-empty string")
        return value

    def _user(self, value: Any, path: KeyPath, base: ProbeKnobs) -> dict[str, Any]:
        return {"user": self._text(value, path)}

    def _helo(self, value: Any, path: KeyPath, base: ProbeKnobs) -> dict[str, Any]:
        return {"helo": self._text(value, path)}

    def _file(self, value: Any, path: KeyPath, base: ProbeKnobs) -> dict[str, Any]:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"{path[-1]}: a file path")
        return {str(path[-1]): Path(value)}

    def _flag(self, value: Any, path: KeyPath, base: ProbeKnobs) -> dict[str, Any]:
        if not isinstance(value, bool):
            raise self.fail(path, f"{path[-1]}: expected true or false")
        return {str(path[-1]): value}

    def _sender(self, value: Any, path: KeyPath, base: ProbeKnobs) -> dict[str, Any]:
        if not isinstance(value, str):
            raise self.fail(path, f"{path[-1]}: expected an address")
        try:
            return {"sender": parse_mailbox(value, "from")}
        except UsageError as exc:
            raise self.fail(path, str(exc)) from None

    def _recipients(self, value: Any, path: KeyPath, base: ProbeKnobs) -> dict[str, Any]:
        addresses = [value] if isinstance(value, str) else value
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise self.fail(path, f"{path[-1]}: expected an address or a list of addresses")
        try:
            return {"recipients": tuple(parse_mailbox(a, "to") for a in addresses)}
        except UsageError as exc:
            raise self.fail(path, str(exc)) from None

    _READERS: ClassVar[
        Mapping[str, Callable[[KnobReader, Any, KeyPath, ProbeKnobs], dict[str, Any]]]
    ] = {
        "ports": _ports,
        "tls": _tls,
        "starttls": _starttls,
        "timeouts": _timeouts,
        "budget": _budget,
        "user": _user,
        "password_file": _file,
        "cafile": _file,
        "send": _flag,
        "follow_ups": _flag,
        "from": _sender,
        "to": _recipients,
        "helo": _helo,
    }
