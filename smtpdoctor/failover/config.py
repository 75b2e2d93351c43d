"""failover.toml: the relays in order of preference, their probe knobs, the breaker, the MTA.

Errors are one line naming the file and line (`FILE:LINE: what is wrong`), raised as
UsageError (exit 2) before anything is changed.

The probe knobs of a relay (`ports`, `tls`, `starttls`, `timeouts`, `user`,
`password_file`, `cafile`, `sender`, `recipient`, `budget`) are read by
`smtpdoctor.probe_knobs`, as `smtpdoctor monitor`'s `[modules.NAME]` tables are (monitor
names the envelope `from` and `to`): a relay may name a module (`module = "NAME"`)
defined in `[modules.NAME]` in this file, and set knobs of its own on top.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.failover.breaker import BreakerConfig
from smtpdoctor.probe_knobs import FAILOVER_WORDING, KnobReader, ProbeKnobs, toml_error
from smtpdoctor.target import parse_target

__all__ = ["FailoverConfig", "ProbeKnobs", "RelayConfig", "load_config"]

MTAS = ("postfix", "exim")
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


class _Locator(KnobReader):
    """Errors located by (table, key, index of an array of tables), as failover names them."""

    def __init__(self, path: Path, text: str) -> None:
        super().__init__(str(path), text, FAILOVER_WORDING)

    def error(
        self, message: str, table: str | None = None, key: str | None = None, index: int = 0
    ) -> UsageError:
        where: tuple[str | int, ...] = tuple(table.split(".")) if table else ()
        if table == "relays":
            where = (*where, index)
        return self.fail((*where, key) if key else where, message)


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
        modules[name] = loc.knobs(raw, ("modules", name))
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
        raise toml_error(str(path), exc, "not valid TOML: ") from None
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
    knobs = loc.knobs(knob_values, ("relays", index), base)
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
