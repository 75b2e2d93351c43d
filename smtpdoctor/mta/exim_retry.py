"""Exim retry rules (the `begin retry` section, from `exim -bP config`) audited for timeouts.

A rule is `PATTERN ERROR [senders=LIST] PARAMS`, the params `F,cutoff,interval`,
`G,cutoff,first,factor` or `H,...` separated by `;` (Exim spec, chapter "Retry
configuration"). Exim retries a temporary failure until the largest cutoff, then bounces
the message; when no rule matches, a temporary error is treated as a permanent one.
Only rules that apply to timeouts (error `*` or `timeout...`) are audited. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.finding import Severity
from smtpdoctor.mta.exim_config import parse_exim_time
from smtpdoctor.mta.findings import ConfigFinding

# Exim's own default rule: what the recommendations point to.
DEFAULT_RULE = "* * F,2h,15m; G,16h,1h,1.5; F,4d,6h"
MIN_CUTOFF_S = 24 * 3600.0  # an outage of a day must not bounce mail
MAX_FIRST_INTERVAL_S = 3600.0  # a short timeout must not hold mail back for hours
_COMMAND = (
    "edit the retry section (Debian: /etc/exim4/conf.d/retry/30_exim4-config), then "
    "`update-exim4.conf && systemctl reload exim4`"
)


@dataclass(frozen=True)
class RetryRule:
    """One line of the retry section."""

    text: str
    pattern: str
    error: str
    cutoff_s: float | None  # the largest cutoff: after that, the message bounces
    first_interval_s: float | None  # the first wait between tries

    @property
    def covers_timeouts(self) -> bool:
        """True when the rule applies to connection and command timeouts."""
        return self.error == "*" or self.error.startswith("timeout")


def retry_section(config: Iterable[str]) -> list[str]:
    """The lines of the `begin retry` section of `exim -bP config` output."""
    out: list[str] = []
    inside = False
    for raw in config:
        line = raw.strip()
        if line.startswith("begin "):
            inside = line.split()[1:2] == ["retry"]
            continue
        if inside and line and not line.startswith("#"):
            out.append(line)
    return out


def parse_rule(line: str) -> RetryRule | None:
    """One retry line; None when it is not one (a macro, a stray word)."""
    words = line.split(None, 2)
    if len(words) < 2:
        return None
    pattern, error = words[0], words[1]
    rest = words[2] if len(words) > 2 else ""
    if rest.startswith("senders="):
        rest = rest.split(None, 1)[1] if " " in rest else ""
    cutoff: float | None = None
    first: float | None = None
    for part in rest.split(";"):
        fields = [f.strip() for f in part.split(",")]
        if len(fields) < 3 or fields[0] not in ("F", "G", "H"):
            continue
        limit, interval = parse_exim_time(fields[1]), parse_exim_time(fields[2])
        if limit is not None:
            cutoff = max(cutoff or 0.0, limit)
        if first is None:
            first = interval
    return RetryRule(line, pattern, error, cutoff, first)


def _words(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def audit_retry(lines: Iterable[str]) -> list[ConfigFinding]:
    """Rules that bounce timeouts too soon or retry them too rarely; no catch-all rule."""
    rules = [r for r in (parse_rule(line) for line in lines) if r is not None]
    out: list[ConfigFinding] = []
    if not any(r.pattern == "*" and r.covers_timeouts for r in rules):
        out.append(
            ConfigFinding(
                "exim",
                "retry rules",
                Severity.ERROR if not rules else Severity.WARNING,
                CauseCode.CONNECT_TIMEOUT,
                "no retry rule for every domain: a timeout to a domain no rule matches is "
                "treated as permanent and the message bounces at once",
                f"{len(rules)} rule(s), none for '* *'" if rules else "no retry rules",
                DEFAULT_RULE,
                "Exim retries a temporary error only when a retry rule matches it",
                f"add `{DEFAULT_RULE}` as the last line of the retry section; {_COMMAND}",
            )
        )
    for rule in rules:
        if not rule.covers_timeouts:
            continue
        if rule.cutoff_s is not None and rule.cutoff_s < MIN_CUTOFF_S:
            out.append(
                ConfigFinding(
                    "exim",
                    f"retry rule {rule.pattern} {rule.error}",
                    Severity.WARNING,
                    CauseCode.CONNECT_TIMEOUT,
                    f"retry rule '{rule.text}' gives up after {_words(rule.cutoff_s)}: a "
                    "destination that times out for longer bounces its mail",
                    rule.text,
                    f"{rule.pattern} {rule.error} F,2h,15m; G,16h,1h,1.5; F,4d,6h",
                    "outages and firewall changes often last longer than a few hours; "
                    "RFC 5321 4.5.4.1 suggests giving up after 4-5 days",
                    _COMMAND,
                )
            )
        if rule.first_interval_s is not None and rule.first_interval_s > MAX_FIRST_INTERVAL_S:
            out.append(
                ConfigFinding(
                    "exim",
                    f"retry rule {rule.pattern} {rule.error}",
                    Severity.WARNING,
                    CauseCode.CONNECT_TIMEOUT,
                    f"retry rule '{rule.text}' waits {_words(rule.first_interval_s)} before "
                    "the first retry: a brief timeout holds mail back that long",
                    rule.text,
                    f"{rule.pattern} {rule.error} F,2h,15m; G,16h,1h,1.5; F,4d,6h",
                    "most timeouts clear within minutes; RFC 5321 4.5.4.1 suggests a first "
                    "retry after at least 30 minutes, not hours",
                    _COMMAND,
                )
            )
    return out
