"""The monitor's TOML configuration: parsed and checked, errors as FILE:LINE: message.

interval = "60s"            # how often each target is probed
concurrency = 32            # probes running at once
listen = "127.0.0.1:9925"   # the HTTP listener (loopback unless told otherwise)

[[targets]]
target = "relay.example.net:587"   # check's TARGET syntax
name = "relay"                     # optional: the label value
module = "submission"              # optional: a [modules.NAME], default "default"

[modules.submission]        # the same knobs as check's flags
ports = [587]
tls = "auto"                # auto | implicit | plain
starttls = "require"        # auto | require | never
timeouts = { connect = 5, rcpt = 20 }
budget = "45s"              # the probe's whole budget (default: interval * 0.8, <= 150 s)
user = "monitor"
password_file = "/etc/smtpdoctor/relay.pass"
send = false
from = "monitor@example.net"
to = ["sink@example.net"]
cafile = "/etc/ssl/certs/ca-certificates.crt"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.monitor.module import ProbeModule
from smtpdoctor.probe_knobs import MONITOR_WORDING, ConfigError, KnobReader, duration, toml_error
from smtpdoctor.target import parse_target

DEFAULT_LISTEN = "127.0.0.1:9925"
DEFAULT_INTERVAL_S = 60.0
DEFAULT_CONCURRENCY = 32
MAX_BUDGET_S = 150.0  # check's quick-profile budget


@dataclass(frozen=True)
class TargetSpec:
    """One scheduled target."""

    target: str
    name: str
    module: str = "default"


@dataclass(frozen=True)
class HookConfig:
    """Where state changes go."""

    command: tuple[str, ...] = ()  # argv; the event arrives as JSON on stdin
    webhook: str = ""  # URL receiving the event as a JSON POST
    min_interval_s: float = 300.0  # at most one notification per target in this time
    timeout_s: float = 10.0


@dataclass(frozen=True)
class MonitorConfig:
    """Everything `smtpdoctor monitor` runs with."""

    targets: tuple[TargetSpec, ...]
    modules: dict[str, ProbeModule] = field(default_factory=lambda: {"default": ProbeModule()})
    interval_s: float = DEFAULT_INTERVAL_S
    concurrency: int = DEFAULT_CONCURRENCY
    listen: str = DEFAULT_LISTEN
    history: Path | None = None  # None: the default state directory
    retention_days: float = 14.0
    hooks: HookConfig = field(default_factory=HookConfig)
    # the mail log to follow for smtpdoctor_log_events_total: a file, "journal" or "off";
    # None: /var/log/mail.log or /var/log/maillog, as doctor reads
    mail_log: Path | None = None
    queue: bool = True  # export the local MTA's queue
    web_config: Path | None = None  # exporter-toolkit web-config file: TLS, basic auth
    source: str = ""  # the file it came from

    def budget_for(self, spec: TargetSpec) -> float:
        """The time one probe of the target may take: never past its next turn."""
        module = self.modules.get(spec.module, ProbeModule())
        default = min(self.interval_s * 0.8, MAX_BUDGET_S)
        return min(module.budget_s or default, self.interval_s)


TOP_KEYS = ("interval", "concurrency", "listen", "history", "retention", "targets", "modules",
            "hooks", "mail_log", "queue", "web_config")  # fmt: skip
MODULE_KEYS = MONITOR_WORDING.known


class _Reader(KnobReader):
    def __init__(self, source: str, text: str):
        super().__init__(source, text, MONITOR_WORDING)

    def check_keys(
        self, table: dict[str, Any], known: set[str], path: tuple[str | int, ...]
    ) -> None:
        for key in table:
            if key not in known:
                where = ".".join(str(p) for p in path) or "top level"
                raise self.fail(
                    (*path, key),
                    f"unknown key {key!r} in {where} (known: {', '.join(sorted(known))})",
                )

    def duration(self, value: Any, path: tuple[str | int, ...], lo: float, hi: float) -> float:
        seconds = duration(value)
        if seconds is None:
            raise self.fail(
                path, f"{path[-1]}: expected seconds or a duration like '30s', got {value!r}"
            )
        if not lo <= seconds <= hi:
            raise self.fail(path, f"{path[-1]}: {seconds:g} s is outside {lo:g}..{hi:g} s")
        return seconds

    def string(self, value: Any, path: tuple[str | int, ...], choices: tuple[str, ...] = ()) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"{path[-1]}: expected a non-empty string")
        if choices and value not in choices:
            raise self.fail(path, f"{path[-1]}: {value!r} is not one of {', '.join(choices)}")
        return value

    def integer(self, value: Any, path: tuple[str | int, ...], lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(path, f"{path[-1]}: expected a whole number in {lo}..{hi}")
        return value

    def module(self, name: str, table: Any) -> ProbeModule:
        path: tuple[str | int, ...] = ("modules", name)
        if not isinstance(table, dict):
            raise self.fail(path, f"modules.{name}: expected a table")
        return self.knobs(table, path)

    def target(self, index: int, table: Any, modules: dict[str, ProbeModule]) -> TargetSpec:
        path: tuple[str | int, ...] = ("targets", index)
        if not isinstance(table, dict):
            raise self.fail(path, "targets: expected [[targets]] tables")
        self.check_keys(table, {"target", "name", "module"}, path)
        if "target" not in table:
            raise self.fail(path, '[[targets]] needs target = "HOST[:PORT]"')
        text = self.string(table["target"], (*path, "target"))
        try:
            parse_target(text)
        except UsageError as exc:
            raise self.fail((*path, "target"), str(exc)) from None
        module = self.string(table.get("module", "default"), (*path, "module"))
        if module not in modules:
            raise self.fail((*path, "module"), f"module {module!r} is not defined in [modules]")
        return TargetSpec(text, self.string(table.get("name", text), (*path, "name")), module)

    def hooks(self, table: Any) -> HookConfig:
        path: tuple[str | int, ...] = ("hooks",)
        if not isinstance(table, dict):
            raise self.fail(path, "hooks: expected a table")
        self.check_keys(table, {"command", "webhook", "min_interval", "timeout"}, path)
        command = table.get("command", [])
        if isinstance(command, str):
            raise self.fail((*path, "command"), "command: expected a list (argv), not a string")
        if not isinstance(command, list) or not all(isinstance(c, str) for c in command):
            raise self.fail((*path, "command"), "command: expected a list of strings")
        webhook = table.get("webhook", "")
        if webhook and not re.match(r"^https?://", str(webhook)):
            raise self.fail((*path, "webhook"), "webhook: expected an http:// or https:// URL")
        return HookConfig(
            command=tuple(command),
            webhook=str(webhook),
            min_interval_s=self.duration(
                table.get("min_interval", 300), (*path, "min_interval"), 0, 86400
            ),
            timeout_s=self.duration(table.get("timeout", 10), (*path, "timeout"), 0.1, 300),
        )


def parse_config(text: str, source: str = "<config>") -> MonitorConfig:
    """A checked MonitorConfig from TOML text; ConfigError (FILE:LINE: why) otherwise."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise toml_error(source, exc) from None
    r = _Reader(source, text)
    r.check_keys(data, set(TOP_KEYS), ())
    modules_table = data.get("modules", {})
    if not isinstance(modules_table, dict):
        raise r.fail(("modules",), "modules: expected [modules.NAME] tables")
    modules = {"default": ProbeModule()}
    modules.update({name: r.module(name, t) for name, t in modules_table.items()})
    raw_targets = data.get("targets", [])
    if not isinstance(raw_targets, list):
        raise r.fail(("targets",), "targets: expected [[targets]] tables")
    targets = tuple(r.target(i, t, modules) for i, t in enumerate(raw_targets))
    names = [t.name for t in targets]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise r.fail(("targets", i, "name"), f"two targets are named {name!r}")
    listen = r.string(data.get("listen", DEFAULT_LISTEN), ("listen",))
    parse_listen(listen, lambda msg: r.fail(("listen",), msg))
    queue = data.get("queue", True)
    if not isinstance(queue, bool):
        raise r.fail(("queue",), "queue: expected true or false")
    return MonitorConfig(
        targets=targets,
        modules=modules,
        interval_s=r.duration(data.get("interval", DEFAULT_INTERVAL_S), ("interval",), 1, 86400),
        concurrency=r.integer(
            data.get("concurrency", DEFAULT_CONCURRENCY), ("concurrency",), 1, 4096
        ),
        listen=listen,
        history=Path(r.string(data["history"], ("history",))) if "history" in data else None,
        retention_days=r.duration(data.get("retention", "14d"), ("retention",), 3600, 3650 * 86400)
        / 86400,
        hooks=r.hooks(data.get("hooks", {})),
        mail_log=Path(r.string(data["mail_log"], ("mail_log",))) if "mail_log" in data else None,
        queue=queue,
        web_config=(
            Path(r.string(data["web_config"], ("web_config",))) if "web_config" in data else None
        ),
        source=source,
    )


def parse_listen(text: str, fail: Any = UsageError) -> tuple[str, int]:
    """(host, port) from HOST:PORT or [IPv6]:PORT."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise fail(f"listen: expected HOST:PORT, got {text!r}")
    return host, int(port)


def load_config(path: Path) -> MonitorConfig:
    """Read and parse a config file; ConfigError with the file name on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"{path}: cannot read: {reason}") from None
    return parse_config(text, str(path))
