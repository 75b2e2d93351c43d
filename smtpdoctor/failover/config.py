"""failover.toml: the relays in order of preference, their probe knobs, the breaker, the MTA.

Errors are one line naming the file and line (`FILE:LINE: what is wrong`), raised as
UsageError (exit 2) before anything is changed.

The probe knobs of a relay (`ports`, `tls`, `starttls`, `timeouts`, `user`,
`password_file`, `cafile`, `sender`, `recipient`, `budget`) carry the same names as
`smtpdoctor monitor`'s `[modules.NAME]` tables: a relay may name a module
(`module = "NAME"`) defined in `[modules.NAME]` in this file, and set knobs of its own
on top.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.failover.breaker import BreakerConfig
from smtpdoctor.phases import Phase
from smtpdoctor.target import parse_target

__all__ = ["FailoverConfig", "ProbeKnobs", "RelayConfig", "load_config"]

MTAS = ("postfix", "exim")
TLS_MODES = ("auto", "implicit", "plain")
STARTTLS_MODES = ("auto", "require", "never")
KNOBS = (
    "ports",
    "tls",
    "starttls",
    "timeouts",
    "user",
    "password_file",
    "cafile",
    "sender",
    "recipient",
    "budget",
)
_TOP = ("mta", "interval", "state_dir", "breaker", "postfix", "exim", "modules", "relays")
_BREAKER = {
    "failures_to_open": "failures_to_open",
    "successes_to_close": "successes_to_close",
    "backoff": "backoff_s",
    "backoff_max": "backoff_max_s",
    "jitter": "jitter",
    "hold": "hold_s",
    "stall": "stall_s",
}


@dataclass(frozen=True)
class ProbeKnobs:
    """How one relay is probed (monitor's module knobs)."""

    ports: tuple[int, ...] = ()
    tls: str = "auto"
    starttls: str = "auto"
    timeouts: Mapping[Phase, float] = field(default_factory=dict)
    user: str | None = None
    password_file: Path | None = None
    cafile: Path | None = None
    sender: str = ""
    recipient: str | None = None
    budget: float = 30.0


@dataclass(frozen=True)
class RelayConfig:
    """One relay: its name, what to probe, and the MTA route that sends mail to it."""

    name: str
    target: str
    route: str  # Postfix relayhost / Exim route value: [host]:port
    knobs: ProbeKnobs


@dataclass(frozen=True)
class FailoverConfig:
    """The whole failover.toml."""

    path: Path
    mta: str
    interval_s: float
    state_dir: Path
    breaker: BreakerConfig
    relays: tuple[RelayConfig, ...]
    postfix_config_dir: Path = Path("/etc/postfix")
    postfix_log: Path | None = None
    exim_route_file: Path | None = None
    exim_log: Path | None = None
    exim_binary: str = "/usr/sbin/exim4"
    exim_config: Path | None = None
    exim_check_address: str = "smtpdoctor-route-check@example.net"

    def relay(self, name: str) -> RelayConfig:
        """The relay called name (KeyError if none)."""
        for relay in self.relays:
            if relay.name == name:
                return relay
        raise KeyError(name)


class _Locator:
    """Finds the line a key was written on (tomllib does not keep positions)."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line(self, table: str | None = None, key: str | None = None, index: int = 0) -> int:
        """Line of `key` in `table` (the index-th of an array of tables), 1-based."""
        current: str | None = None
        seen = -1
        header_line = 1
        for number, raw in enumerate(self.lines, start=1):
            header = self._HEADER.match(raw)
            if header:
                current = header.group(1)
                if current == table:
                    seen += 1
                    if seen == index:
                        header_line = number
                continue
            in_table = current == table and (table is None or seen == index)
            if in_table and key is not None and re.match(rf"^\s*{re.escape(key)}\s*=", raw):
                return number
        return header_line

    def error(
        self, message: str, table: str | None = None, key: str | None = None, index: int = 0
    ) -> UsageError:
        return UsageError(f"{self.path}:{self.line(table, key, index)}: {message}")


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_Fail = Callable[[str, str], UsageError]


def _ports(key: str, value: Any, base: ProbeKnobs, fail: _Fail) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in value
    ):
        raise fail(key, "a list of port numbers (1-65535)")
    return tuple(value)


def _choice(choices: tuple[str, ...]) -> Callable[[str, Any, ProbeKnobs, _Fail], str]:
    def check(key: str, value: Any, base: ProbeKnobs, fail: _Fail) -> str:
        if value not in choices:
            raise fail(key, f"one of {', '.join(choices)}, not {value!r}")
        return str(value)

    return check


def _timeouts(key: str, value: Any, base: ProbeKnobs, fail: _Fail) -> dict[Phase, float]:
    if not isinstance(value, dict):
        raise fail(key, "a table PHASE = SECONDS")
    limits = dict(base.timeouts)
    for phase_name, seconds in value.items():
        try:
            phase = Phase(phase_name)
        except ValueError:
            raise fail(key, f"unknown phase {phase_name!r}") from None
        if not _num(seconds) or not 0 < seconds <= 86400:
            raise fail(key, f"{phase_name}: seconds between 0 and 86400")
        limits[phase] = float(seconds)
    return limits


def _string(key: str, value: Any, base: ProbeKnobs, fail: _Fail) -> str:
    if not isinstance(value, str):
        raise fail(key, "a string")
    return value


def _file(key: str, value: Any, base: ProbeKnobs, fail: _Fail) -> Path:
    if not isinstance(value, str) or not value:
        raise fail(key, "a file path")
    return Path(value)


def _budget(key: str, value: Any, base: ProbeKnobs, fail: _Fail) -> float:
    if not _num(value) or value <= 0:
        raise fail(key, "seconds, more than 0")
    return float(value)


_KNOB_CHECKS: dict[str, Callable[[str, Any, ProbeKnobs, _Fail], Any]] = {
    "ports": _ports,
    "tls": _choice(TLS_MODES),
    "starttls": _choice(STARTTLS_MODES),
    "timeouts": _timeouts,
    "user": _string,
    "sender": _string,
    "recipient": _string,
    "password_file": _file,
    "cafile": _file,
    "budget": _budget,
}


def _knobs(
    raw: Mapping[str, Any], base: ProbeKnobs, loc: _Locator, table: str, index: int = 0
) -> ProbeKnobs:
    def fail(key: str, message: str) -> UsageError:
        return loc.error(f"{key}: {message}", table, key, index)

    values: dict[str, Any] = {}
    for key, value in raw.items():
        check = _KNOB_CHECKS.get(key)
        if check is None:
            raise fail(key, f"unknown setting (known: {', '.join(KNOBS)})")
        values[key] = check(key, value, base, fail)
    merged = {**base.__dict__, **values}
    knobs = ProbeKnobs(**merged)
    if knobs.password_file is not None and knobs.user is None:
        raise loc.error("password_file needs user", table, "password_file", index)
    return knobs


def _route(target: str, knobs: ProbeKnobs) -> str:
    parsed = parse_target(target)
    if parsed.is_mx:
        raise UsageError("a relay is a host, not an @domain (the MTA would look up its MX)")
    port = parsed.port or (knobs.ports[0] if knobs.ports else 25)
    return f"[{parsed.host}]:{port}"


def _breaker(raw: Any, loc: _Locator) -> BreakerConfig:
    if not isinstance(raw, dict):
        raise loc.error("[breaker] must be a table", "breaker")
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _BREAKER:
            raise loc.error(
                f"unknown breaker setting {key!r} (known: {', '.join(_BREAKER)})", "breaker", key
            )
        if not _num(value):
            raise loc.error(f"{key}: a number", "breaker", key)
        kwargs[_BREAKER[key]] = value
    for int_key in ("failures_to_open", "successes_to_close"):
        if int_key in kwargs and not isinstance(kwargs[int_key], int):
            raise loc.error(f"{int_key}: a whole number", "breaker", int_key)
    try:
        return BreakerConfig(**kwargs)
    except ValueError as exc:
        raise loc.error(str(exc), "breaker") from None


def _section(data: Mapping[str, Any], name: str, loc: _Locator) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise loc.error(f"{name} must be a table", None, name)
    return value


def _path(value: Any, what: str, loc: _Locator, table: str | None, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise loc.error(f"{what} must be a path", table, key)
    return Path(value)


def _top_level(data: Mapping[str, Any], loc: _Locator) -> tuple[str, float, Path]:
    """The known top-level keys; mta, interval and state_dir checked."""
    for key in data:
        if key not in _TOP:
            raise loc.error(f"unknown setting {key!r} (known: {', '.join(_TOP)})", None, key)
    mta = data.get("mta", "postfix")
    if mta not in MTAS:
        raise loc.error(f"mta must be one of {', '.join(MTAS)}, not {mta!r}", None, "mta")
    interval = data.get("interval", 10)
    if not _num(interval) or not 1 <= interval <= 3600:
        raise loc.error("interval must be seconds between 1 and 3600", None, "interval")
    state_dir = _path(
        data.get("state_dir", "/var/lib/smtpdoctor/failover"), "state_dir", loc, None, "state_dir"
    )
    return str(mta), float(interval), state_dir


def _mta_sections(
    data: Mapping[str, Any], loc: _Locator
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """[postfix] and [exim], with no unknown keys."""
    postfix = _section(data, "postfix", loc)
    exim = _section(data, "exim", loc)
    exim_keys = ("route_file", "log", "binary", "config", "check_address")
    for table, known in (("postfix", ("config_dir", "log")), ("exim", exim_keys)):
        for key in _section(data, table, loc):
            if key not in known:
                raise loc.error(f"unknown {table} setting {key!r}", table, key)
    return postfix, exim


def _modules(data: Mapping[str, Any], loc: _Locator) -> dict[str, ProbeKnobs]:
    modules: dict[str, ProbeKnobs] = {}
    for name, raw in _section(data, "modules", loc).items():
        if not isinstance(raw, dict):
            raise loc.error(f"modules.{name} must be a table", "modules")
        modules[name] = _knobs(raw, ProbeKnobs(), loc, f"modules.{name}")
    return modules


def _relays(relays_raw: Any, modules: Mapping[str, ProbeKnobs], loc: _Locator) -> list[RelayConfig]:
    if not isinstance(relays_raw, list) or not relays_raw:
        raise loc.error("no [[relays]]: list at least one relay, in order of preference")
    relays = [_relay(raw, index, modules, loc) for index, raw in enumerate(relays_raw)]
    names = [r.name for r in relays]
    for index, name in enumerate(names):
        if names.index(name) != index:
            raise loc.error(f"relay name {name!r} is used twice", "relays", "name", index)
    return relays


def parse_config(text: str, path: Path) -> FailoverConfig:
    """The config from TOML text; UsageError with FILE:LINE on any mistake."""
    loc = _Locator(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = found.group(1) if found else "1"
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise UsageError(f"{path}:{line}: not valid TOML: {message}") from None
    mta, interval, state_dir = _top_level(data, loc)
    breaker = _breaker(data.get("breaker", {}), loc)
    postfix, exim = _mta_sections(data, loc)
    modules = _modules(data, loc)
    relays = _relays(data.get("relays"), modules, loc)
    exim_route = exim.get("route_file")
    if mta == "exim" and exim_route is None:
        raise loc.error("mta = exim needs [exim] route_file", "exim")
    return FailoverConfig(
        path=path,
        mta=mta,
        interval_s=float(interval),
        state_dir=state_dir,
        breaker=breaker,
        relays=tuple(relays),
        postfix_config_dir=_path(
            postfix.get("config_dir", "/etc/postfix"), "config_dir", loc, "postfix", "config_dir"
        ),
        postfix_log=_path(postfix["log"], "log", loc, "postfix", "log")
        if "log" in postfix
        else None,
        exim_route_file=(
            _path(exim_route, "route_file", loc, "exim", "route_file") if exim_route else None
        ),
        exim_log=_path(exim["log"], "log", loc, "exim", "log") if "log" in exim else None,
        exim_binary=str(
            _path(exim.get("binary", "/usr/sbin/exim4"), "binary", loc, "exim", "binary")
        ),
        exim_config=(
            _path(exim["config"], "config", loc, "exim", "config") if "config" in exim else None
        ),
        exim_check_address=_address(exim, loc),
    )


def _address(exim: Mapping[str, Any], loc: _Locator) -> str:
    value = exim.get("check_address", "smtpdoctor-route-check@example.net")
    if not isinstance(value, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
        raise loc.error("check_address must be an address user@domain", "exim", "check_address")
    return value


def _relay(raw: Any, index: int, modules: Mapping[str, ProbeKnobs], loc: _Locator) -> RelayConfig:
    if not isinstance(raw, dict):
        raise loc.error("each relays entry must be a table", "relays", None, index)
    target = raw.get("target")
    if not isinstance(target, str) or not target:
        raise loc.error(
            "relay without target (host, host:port or [address]:port)", "relays", None, index
        )
    base = ProbeKnobs()
    module = raw.get("module")
    if module is not None:
        if module not in modules:
            raise loc.error(
                f"module {module!r} is not defined in [modules]", "relays", "module", index
            )
        base = modules[module]
    knob_values = {k: v for k, v in raw.items() if k not in ("target", "name", "module")}
    knobs = _knobs(knob_values, base, loc, "relays", index)
    try:
        route = _route(target, knobs)
    except UsageError as exc:
        raise loc.error(f"target {target!r}: {exc}", "relays", "target", index) from None
    name = raw.get("name", target)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.:\[\]-]+", name):
        raise loc.error("name: letters, digits and _.:[]- only", "relays", "name", index)
    return RelayConfig(name=name, target=target, route=route, knobs=knobs)


def load_config(path: Path) -> FailoverConfig:
    """Read and check failover.toml; UsageError (one line, exit 2) on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the config: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}:1: not UTF-8 text") from None
    return parse_config(text, path)
