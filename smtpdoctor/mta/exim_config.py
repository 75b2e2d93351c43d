"""Exim settings: `exim -bP` output parsed and the smtp transports audited. Pure parsing.

`exim -bP transport NAME` prints `option = value` lines and booleans as `opt` /
`no_opt` (Exim spec, chapter "Command line options", -bP). Times use Exim's
notation: 5m, 1h30m, 2d.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.finding import Severity
from smtpdoctor.mta.findings import ConfigFinding

_TIME_PART = re.compile(r"(\d+)([wdhms])")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}

# (option, Exim's default in seconds, floor, cause, why)
EXIM_TIMEOUTS: tuple[tuple[str, float, float, CauseCode, str], ...] = (
    (
        "connect_timeout",
        300,
        10,
        CauseCode.CONNECT_TIMEOUT,
        "a lost SYN is retransmitted after 1 s and 3 s: a shorter wait fails on slow paths",
    ),
    (
        "command_timeout",
        300,
        300,
        CauseCode.COMMAND_TIMEOUT,
        "RFC 5321 4.5.3.2: greeting, MAIL and RCPT replies may take 5 minutes",
    ),
    (
        "data_timeout",
        300,
        180,
        CauseCode.DATA_TIMEOUT,
        "RFC 5321 4.5.3.2.5: each data block may take 3 minutes",
    ),
    (
        "final_timeout",
        600,
        600,
        CauseCode.DATA_TIMEOUT,
        "RFC 5321 4.5.3.2.6: the reply to the final '.' may take 10 minutes",
    ),
)


def parse_bp(lines: Iterable[str]) -> dict[str, str]:
    """`exim -bP` lines to a dict; `no_x` booleans become x = false, bare `x` x = true."""
    out: dict[str, str] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith(("#", "Exim")):
            continue
        if "=" in line:
            name, _, value = line.partition("=")
            out[name.strip()] = value.strip()
        elif line.startswith("no_"):
            out[line[3:]] = "false"
        else:
            out[line] = "true"
    return out


def parse_exim_time(value: str) -> float | None:
    """'5m', '1h30m', '30s' in seconds; None if not a time."""
    parts = _TIME_PART.findall(value.strip())
    if not parts or "".join(n + u for n, u in parts) != value.strip():
        return None
    return float(sum(int(n) * _UNITS[u] for n, u in parts))


def audit_transport(name: str, options: dict[str, str]) -> list[ConfigFinding]:
    """An smtp transport's timeouts and fallback hosts."""
    out: list[ConfigFinding] = []
    for option, default, floor, cause, why in EXIM_TIMEOUTS:
        raw = options.get(option)
        seconds = parse_exim_time(raw) if raw else None
        if seconds is None or seconds >= floor:
            continue
        recommended = f"{int(default // 60)}m"
        out.append(
            ConfigFinding(
                area="exim",
                subject=f"transport {name}: {option}",
                severity=Severity.WARNING,
                cause=cause,
                summary=f"{option} = {raw} in transport {name} is below {int(floor)}s",
                current=raw or "",
                recommended=recommended,
                reason=why,
                command=f"set `{option} = {recommended}` in the {name} transport "
                "(Debian: /etc/exim4/conf.d/transport/30_exim4-config_remote_smtp*), then "
                "`update-exim4.conf && systemctl reload exim4`",
            )
        )
    return out


def audit_fallback(name: str, options: dict[str, str], smarthost: bool) -> list[ConfigFinding]:
    """No fallback_hosts while all mail goes to one smarthost."""
    if not smarthost or options.get("fallback_hosts", "").strip():
        return []
    return [
        ConfigFinding(
            area="exim",
            subject=f"transport {name}: fallback_hosts",
            severity=Severity.WARNING,
            cause=CauseCode.CONNECT_TIMEOUT,
            summary="mail goes through a smarthost with no fallback_hosts",
            current="",
            recommended="backup-relay.example.net",
            reason="when the smarthost or the path to it fails, all mail waits in the queue",
            command=f"add `fallback_hosts = backup-relay.example.net` to the {name} transport",
        )
    ]
