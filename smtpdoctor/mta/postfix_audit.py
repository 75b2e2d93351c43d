"""Postfix settings against their defaults, RFC 5321 minimums and known traps. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.finding import Severity
from smtpdoctor.mta.findings import ConfigFinding
from smtpdoctor.mta.postconf import PostfixSettings, format_seconds, parse_time


@dataclass(frozen=True)
class TimeoutRule:
    """A timeout parameter: its default, the floor below which it causes failures, why."""

    name: str
    default_s: float
    floor_s: float
    cause: CauseCode
    why: str


# RFC 5321 section 4.5.3.2 minimums: greeting/MAIL/RCPT 5 min, DATA initiation 2 min,
# data block 3 min, end of data 10 min, server 5 min. Connect and TLS have no RFC
# figure: their floors are what slow but healthy paths need.
TIMEOUT_RULES: tuple[TimeoutRule, ...] = (
    TimeoutRule(
        "smtp_connect_timeout",
        30,
        10,
        CauseCode.CONNECT_TIMEOUT,
        "a lost SYN is retransmitted after 1 s and 3 s: a shorter wait fails on any "
        "slow or lossy path",
    ),
    TimeoutRule(
        "smtp_helo_timeout",
        300,
        300,
        CauseCode.GREETING_TIMEOUT,
        "RFC 5321 4.5.3.2.1: wait 5 minutes for the 220 greeting",
    ),
    TimeoutRule(
        "smtp_mail_timeout",
        300,
        300,
        CauseCode.COMMAND_TIMEOUT,
        "RFC 5321 4.5.3.2.2: MAIL replies may take 5 minutes",
    ),
    TimeoutRule(
        "smtp_rcpt_timeout",
        300,
        300,
        CauseCode.COMMAND_TIMEOUT,
        "RFC 5321 4.5.3.2.3: RCPT replies may take 5 minutes",
    ),
    TimeoutRule(
        "smtp_data_init_timeout",
        120,
        120,
        CauseCode.DATA_TIMEOUT,
        "RFC 5321 4.5.3.2.4: the 354 reply to DATA may take 2 minutes",
    ),
    TimeoutRule(
        "smtp_data_xfer_timeout",
        180,
        180,
        CauseCode.DATA_TIMEOUT,
        "RFC 5321 4.5.3.2.5: each data block may take 3 minutes",
    ),
    TimeoutRule(
        "smtp_data_done_timeout",
        600,
        600,
        CauseCode.DATA_TIMEOUT,
        "RFC 5321 4.5.3.2.6: the reply to the final '.' may take 10 minutes (content "
        "filters); giving up earlier sends the message twice",
    ),
    TimeoutRule(
        "smtp_starttls_timeout",
        300,
        30,
        CauseCode.TLS_HANDSHAKE_TIMEOUT,
        "a TLS handshake over a slow path with a large certificate chain needs time",
    ),
    TimeoutRule(
        "smtpd_timeout",
        300,
        300,
        CauseCode.COMMAND_TIMEOUT,
        "RFC 5321 4.5.3.2.7: a server waits at least 5 minutes for the next command; "
        "shorter cuts off slow clients (they see a dropped connection)",
    ),
    TimeoutRule(
        "smtpd_starttls_timeout",
        300,
        30,
        CauseCode.TLS_HANDSHAKE_TIMEOUT,
        "clients on slow links need time for the TLS handshake",
    ),
)

_STRICT_TLS = {"encrypt", "secure", "verify", "dane-only", "fingerprint"}
_RELAY = re.compile(r"^(?P<bracket>\[)?(?P<host>[^\]\s]+?)\]?(?::(?P<port>\d+))?$")


@dataclass(frozen=True)
class RelayHost:
    """A parsed relayhost: host, port, and whether MX lookups are off ([brackets])."""

    host: str
    port: int
    bracketed: bool

    @property
    def target(self) -> str:
        """host:port for `smtpdoctor check`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_relayhost(value: str) -> RelayHost | None:
    """The first next hop of a relayhost value ('[relay.example]:587'); None when empty."""
    first = value.replace(",", " ").split()
    if not first:
        return None
    text = first[0]
    if text.startswith("[") and "]" in text:
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return RelayHost(host, int(port) if port.isdigit() else 25, True)
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    return RelayHost(host or text, int(port) if port.isdigit() else 25, False)


def _cmd(*settings: str, config_args: str = "") -> str:
    quoted = " ".join(f"'{s}'" for s in settings)
    return f"postconf{config_args} -e {quoted} && postfix{config_args} reload"


def audit_timeouts(settings: PostfixSettings, config_args: str = "") -> list[ConfigFinding]:
    """Every timeout parameter against its floor."""
    out: list[ConfigFinding] = []
    for rule in TIMEOUT_RULES:
        raw = settings.get(rule.name)
        seconds = parse_time(raw) if raw else None
        if seconds is None or seconds >= rule.floor_s:
            continue
        recommended = format_seconds(rule.default_s)
        severity = Severity.ERROR if seconds < rule.floor_s / 4 else Severity.WARNING
        out.append(
            ConfigFinding(
                area="postfix",
                subject=rule.name,
                severity=severity,
                cause=rule.cause,
                summary=f"{rule.name} = {raw} is below {format_seconds(rule.floor_s)}",
                current=raw,
                recommended=recommended,
                reason=rule.why,
                command=_cmd(f"{rule.name} = {recommended}", config_args=config_args),
            )
        )
    return out


def audit_queue(settings: PostfixSettings, config_args: str = "") -> list[ConfigFinding]:
    """Queue lifetime and retry settings."""
    out: list[ConfigFinding] = []
    lifetime = parse_time(settings.get("maximal_queue_lifetime", "5d"), "d")
    if lifetime is not None and lifetime < 86400:
        out.append(
            ConfigFinding(
                "postfix",
                "maximal_queue_lifetime",
                Severity.WARNING,
                None,
                "mail bounces after a short outage",
                settings.get("maximal_queue_lifetime"),
                "5d",
                "an outage of the relay host or the network longer than this bounces mail "
                "back to its senders instead of delivering it late",
                _cmd("maximal_queue_lifetime = 5d", config_args=config_args),
            )
        )
    low = parse_time(settings.get("minimal_backoff_time", "300s"))
    high = parse_time(settings.get("maximal_backoff_time", "4000s"))
    run_delay = parse_time(settings.get("queue_run_delay", "300s"))
    if low is not None and high is not None and low > high:
        out.append(
            ConfigFinding(
                "postfix",
                "minimal_backoff_time",
                Severity.WARNING,
                None,
                "minimal_backoff_time is above maximal_backoff_time",
                settings.get("minimal_backoff_time"),
                settings.get("maximal_backoff_time"),
                "the retry schedule is inverted: Postfix retries at odd intervals",
                _cmd(
                    "minimal_backoff_time = 300s",
                    "maximal_backoff_time = 4000s",
                    config_args=config_args,
                ),
            )
        )
    if run_delay is not None and low is not None and run_delay > low:
        out.append(
            ConfigFinding(
                "postfix",
                "queue_run_delay",
                Severity.INFO,
                None,
                "queue_run_delay is longer than minimal_backoff_time",
                settings.get("queue_run_delay"),
                settings.get("minimal_backoff_time"),
                "deferred mail is looked at less often than it may be retried, so retries "
                "come later than the backoff says",
                _cmd(
                    f"queue_run_delay = {settings.get('minimal_backoff_time')}",
                    config_args=config_args,
                ),
            )
        )
    if high is not None and high > 4 * 3600:
        out.append(
            ConfigFinding(
                "postfix",
                "maximal_backoff_time",
                Severity.INFO,
                None,
                "long gaps between retries",
                settings.get("maximal_backoff_time"),
                "4000s",
                "after the fault is fixed, deferred mail may wait this long for its next try "
                "(run `postqueue -f` after a fix)",
                _cmd("maximal_backoff_time = 4000s", config_args=config_args),
            )
        )
    return out


def audit_relay(settings: PostfixSettings, config_args: str = "") -> list[ConfigFinding]:
    """relayhost: single point of failure, TLS wrapper mode against the port, MX lookups."""
    relay = parse_relayhost(settings.get("relayhost"))
    if relay is None:
        return []
    out: list[ConfigFinding] = []
    value = settings.get("relayhost")
    if not settings.get("smtp_fallback_relay").strip():
        out.append(
            ConfigFinding(
                "postfix",
                "smtp_fallback_relay",
                Severity.WARNING,
                CauseCode.CONNECT_TIMEOUT,
                f"all mail goes through one relay host ({value}) with no fallback",
                "",
                "[backup-relay.example.net]:587",
                "when that relay host or the path to it fails, every message waits in the "
                "queue; a fallback relay keeps mail flowing",
                _cmd(
                    "smtp_fallback_relay = [backup-relay.example.net]:587", config_args=config_args
                ),
            )
        )
    wrapper = settings.get("smtp_tls_wrappermode", "no").lower() == "yes"
    if relay.port == 465 and not wrapper:
        out.append(
            ConfigFinding(
                "postfix",
                "smtp_tls_wrappermode",
                Severity.ERROR,
                CauseCode.TLS_MODE_MISMATCH,
                f"relayhost {value} is the implicit-TLS port but smtp_tls_wrappermode = no",
                "no",
                "yes",
                "port 465 expects a TLS handshake first; Postfix waits for a plain-text "
                "greeting that never comes and times out",
                _cmd(
                    "smtp_tls_wrappermode = yes",
                    "smtp_tls_security_level = encrypt",
                    config_args=config_args,
                ),
            )
        )
    if relay.port in (25, 587) and wrapper:
        out.append(
            ConfigFinding(
                "postfix",
                "smtp_tls_wrappermode",
                Severity.ERROR,
                CauseCode.TLS_MODE_MISMATCH,
                f"relayhost {value} is a STARTTLS port but smtp_tls_wrappermode = yes",
                "yes",
                "no",
                "the relay sends a plain-text greeting while Postfix starts a TLS handshake: "
                "the handshake stalls",
                _cmd("smtp_tls_wrappermode = no", config_args=config_args),
            )
        )
    if not relay.bracketed and not re.match(r"^[\d.]+$|:", relay.host):
        out.append(
            ConfigFinding(
                "postfix",
                "relayhost",
                Severity.INFO,
                CauseCode.DNS_NO_ADDRESS,
                f"relayhost {value} has no [brackets]: Postfix looks up its MX records first",
                value,
                f"[{relay.host}]:{relay.port}",
                "a relay host name usually has no MX record; the extra lookup costs time and "
                "fails if DNS is slow",
                _cmd(f"relayhost = [{relay.host}]:{relay.port}", config_args=config_args),
            )
        )
    level = settings.get("smtp_tls_security_level", "").lower()
    if level in _STRICT_TLS:
        out.append(
            ConfigFinding(
                "postfix",
                "smtp_tls_security_level",
                Severity.INFO,
                CauseCode.STARTTLS_MISSING,
                f"smtp_tls_security_level = {level}: the relay must offer STARTTLS",
                level,
                level,
                "if the relay does not offer STARTTLS (or its certificate does not verify), "
                "every message is deferred; the live probe of `smtpdoctor doctor` checks it",
                "",
            )
        )
    return out


def audit_protocols(
    settings: PostfixSettings, has_ipv6_route: bool | None, config_args: str = ""
) -> list[ConfigFinding]:
    """inet_protocols and smtp_address_preference against this machine's IPv6 routing."""
    protocols = settings.get("inet_protocols", "all").lower()
    uses_ipv6 = protocols in ("all", "ipv6") or "ipv6" in protocols
    if not uses_ipv6 or has_ipv6_route is not False:
        return []
    preference = settings.get("smtp_address_preference", "any")
    return [
        ConfigFinding(
            "postfix",
            "inet_protocols",
            Severity.WARNING,
            CauseCode.NETWORK_UNREACHABLE,
            f"inet_protocols = {protocols} but this machine has no IPv6 default route",
            protocols,
            "ipv4",
            f"Postfix tries IPv6 addresses of MX hosts (smtp_address_preference = "
            f"{preference}) that can never be reached from here",
            _cmd("inet_protocols = ipv4", config_args=config_args).replace(
                "postfix reload", "postfix stop && postfix start"
            ),
        )
    ]


def audit_postfix(
    settings: PostfixSettings, has_ipv6_route: bool | None, config_args: str = ""
) -> list[ConfigFinding]:
    """All Postfix checks."""
    return (
        audit_timeouts(settings, config_args)
        + audit_queue(settings, config_args)
        + audit_relay(settings, config_args)
        + audit_protocols(settings, has_ipv6_route, config_args)
    )
