"""The configuration audit: reads the MTA, resolver, firewall and resources (thin IO) and
runs the pure checks over what it read. Every area reports what it could not read."""

from __future__ import annotations

import os
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.finding import Severity
from smtpdoctor.mta import exim_config, exim_retry, firewall, resolver, resources
from smtpdoctor.mta.detect import MtaOptions, detect
from smtpdoctor.mta.exim_queue import exim_binary
from smtpdoctor.mta.findings import AuditSection, ConfigFinding, ConfigReport
from smtpdoctor.mta.model import Mta, Unreadable
from smtpdoctor.mta.postconf import PostfixSettings, parse_size, read_settings
from smtpdoctor.mta.postfix_audit import TIMEOUT_RULES, audit_postfix, parse_relayhost
from smtpdoctor.mta.runner import ToolError, find_tool, run


@dataclass(frozen=True)
class AuditOptions:
    """What to audit and where."""

    mta: MtaOptions
    resolv_conf: Path = Path("/etc/resolv.conf")
    query_nameservers: bool = True


def has_ipv6_default_route(text: str) -> bool:
    """True if /proc/net/ipv6_route text has a default route (::/0) that is not unreachable."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 10 and fields[0] == "0" * 32 and fields[1] == "00":
            flags = int(fields[8], 16)
            if not flags & 0x0200:  # RTF_REJECT: the kernel's 'unreachable' placeholder
                return True
    return False


def _ipv6_route() -> bool | None:
    try:
        return has_ipv6_default_route(Path("/proc/net/ipv6_route").read_text())
    except OSError:
        return None


def master_running(queue_dir: Path) -> bool | None:
    """Whether the Postfix master of this queue directory runs (None: cannot tell)."""
    return _master_running(queue_dir)


def _master_running(queue_dir: Path) -> bool | None:
    try:
        pid = int((queue_dir / "pid" / "master.pid").read_text().split()[0])
    except FileNotFoundError:
        return False
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def audit_postfix_section(options: MtaOptions) -> tuple[AuditSection, PostfixSettings | None]:
    """Postfix: timeouts, queue, relay, protocols, whether it runs."""
    target = options.postfix_target()
    try:
        settings = read_settings(target)
    except ToolError as exc:
        return AuditSection("postfix", unreadable=(Unreadable("postconf", str(exc)),)), None
    config_args = f" -c {shlex.quote(str(target.config_dir))}" if target.config_dir else ""
    findings = audit_postfix(settings, _ipv6_route(), config_args)
    facts = [
        ("mail_version", settings.get("mail_version")),
        ("config_directory", settings.get("config_directory")),
        ("relayhost", settings.get("relayhost") or "(none: direct MX delivery)"),
        ("smtp_fallback_relay", settings.get("smtp_fallback_relay") or "(none)"),
        ("inet_protocols", settings.get("inet_protocols")),
        ("smtp_address_preference", settings.get("smtp_address_preference")),
        ("smtp_tls_security_level", settings.get("smtp_tls_security_level") or "(none)"),
    ]
    facts += [(r.name, settings.get(r.name)) for r in TIMEOUT_RULES]
    facts += [
        (n, settings.get(n))
        for n in (
            "maximal_queue_lifetime",
            "minimal_backoff_time",
            "maximal_backoff_time",
            "queue_run_delay",
        )
    ]
    changed = sorted(n for n in settings.changed if n in dict(facts) and n != "config_directory")
    facts.append(("changed_from_default", ", ".join(changed) or "(none of these)"))
    queue_dir = Path(settings.get("queue_directory") or "/var/spool/postfix")
    running = _master_running(queue_dir)
    facts.append(("running", {True: "yes", False: "no", None: "unknown"}[running]))
    if running is False:
        findings.append(
            ConfigFinding(
                "postfix",
                "master",
                Severity.ERROR,
                CauseCode.MTA_STOPPED,
                "Postfix is not running: nothing delivers the queue",
                "stopped",
                "running",
                "no master process for this instance",
                f"postfix{config_args} start",
            )
        )
    checked = (
        f"{len(TIMEOUT_RULES)} timeout parameters against defaults and RFC 5321 minimums",
        "queue lifetime and retry schedule",
        "relayhost, smtp_fallback_relay, TLS wrapper mode and security level",
        "inet_protocols against this machine's IPv6 route",
    )
    return AuditSection("postfix", checked, tuple(facts), tuple(findings)), settings


def _exim_lines(binary: list[str], *args: str) -> list[str]:
    return run([*binary, "-bP", *args], timeout=15).stdout.splitlines()


def _names(lines: list[str]) -> list[str]:
    """`exim -bP router_list` output: one name a line (newer) or `x = a : b` (older)."""
    text = " : ".join(line.split("=", 1)[-1] for line in lines)
    return [n.strip() for n in text.split(":") if n.strip()]


def audit_exim_section(options: MtaOptions) -> AuditSection:
    """Exim: the smtp transports' timeouts and fallback hosts."""
    exe = exim_binary(options.path)
    if exe is None:
        return AuditSection("exim", unreadable=(Unreadable("exim", "not installed"),))
    binary = [exe, *options.exim_args()]
    try:
        transports = _names(_exim_lines(binary, "transport_list"))
        routers = _names(_exim_lines(binary, "router_list"))
        smarthost = False
        for name in routers:
            opts = exim_config.parse_bp(_exim_lines(binary, "router", name))
            if opts.get("driver") == "manualroute":
                smarthost = True
        findings: list[ConfigFinding] = []
        facts: list[tuple[str, str]] = []
        for name in transports:
            opts = exim_config.parse_bp(_exim_lines(binary, "transport", name))
            if opts.get("driver") != "smtp":
                continue
            for option, *_ in exim_config.EXIM_TIMEOUTS:
                facts.append((f"{name}.{option}", opts.get(option, "")))
            facts.append((f"{name}.fallback_hosts", opts.get("fallback_hosts", "") or "(none)"))
            findings += exim_config.audit_transport(name, opts)
            findings += exim_config.audit_fallback(name, opts, smarthost)
        retry = exim_retry.retry_section(_exim_lines(binary, "config"))
        facts.append(("retry rules", " | ".join(retry) or "(none)"))
        findings += exim_retry.audit_retry(retry)
    except ToolError as exc:
        return AuditSection("exim", unreadable=(Unreadable("exim -bP", str(exc)),))
    return AuditSection(
        "exim",
        ("smtp transports: timeouts and fallback_hosts", "retry rules for timeouts"),
        tuple(facts),
        tuple(findings),
    )


def audit_resolver_section(path: Path, query: bool) -> AuditSection:
    """resolv.conf and each nameserver asked and timed."""
    try:
        conf = resolver.parse_resolv_conf(path.read_text())
    except OSError as exc:
        return AuditSection("resolver", unreadable=(Unreadable(str(path), exc.strerror or ""),))
    facts = [
        ("nameservers", " ".join(conf.nameservers) or "(none)"),
        (
            "options",
            f"timeout:{conf.timeout_s:g} attempts:{conf.attempts}"
            + (" rotate" if conf.rotate else ""),
        ),
        ("worst_case_lookup", f"{conf.worst_case_s:g}s"),
    ]
    findings: list[ConfigFinding] = []
    if not conf.nameservers:
        findings.append(
            ConfigFinding(
                "resolver",
                str(path),
                Severity.ERROR,
                CauseCode.DNS_TIMEOUT,
                f"no nameserver in {path}",
                "",
                "nameserver 127.0.0.53 (or your resolver)",
                "without a nameserver the resolver asks 127.0.0.1, usually nobody",
                "",
            )
        )
    if stub := resolver.RESOLVED_STUB in conf.nameservers:
        facts.append(("systemd-resolved", "stub in use (resolvectl status shows upstreams)"))
    if conf.worst_case_s > 30 and not stub:
        findings.append(
            ConfigFinding(
                "resolver",
                "options",
                Severity.WARNING,
                CauseCode.DNS_TIMEOUT,
                f"one lookup can take {conf.worst_case_s:g}s when the nameservers are dead",
                facts[1][1],
                "timeout:2 attempts:2",
                "the MTA waits this long per lookup before it even connects",
                f"echo 'options timeout:2 attempts:2' >> {path}",
            )
        )
    checks: list[resolver.NameserverCheck] = []
    if query and conf.nameservers:
        limit = min(conf.timeout_s, 3.0)
        with ThreadPoolExecutor(max_workers=min(8, len(conf.nameservers))) as pool:
            checks = list(
                pool.map(lambda s: resolver.query_nameserver(s, ".", limit), conf.nameservers)
            )
    for check in checks:
        facts.append((f"nameserver {check.server}", f"{check.detail} in {check.elapsed_ms:.0f} ms"))
        if not check.ok:
            findings.append(
                ConfigFinding(
                    "resolver",
                    f"nameserver {check.server}",
                    Severity.ERROR,
                    CauseCode.DNS_TIMEOUT
                    if "no answer" in check.detail
                    else CauseCode.DNS_SERVFAIL,
                    f"nameserver {check.server}: {check.detail}",
                    check.detail,
                    "answers",
                    "each dead nameserver costs its timeout on every lookup before the next "
                    "is asked",
                    f"dig @{check.server} . NS +time=2 +tries=1",
                )
            )
        elif check.elapsed_ms > 1000:
            findings.append(
                ConfigFinding(
                    "resolver",
                    f"nameserver {check.server}",
                    Severity.WARNING,
                    CauseCode.DNS_SLOW,
                    f"nameserver {check.server} answered in {check.elapsed_ms:.0f} ms",
                    f"{check.elapsed_ms:.0f} ms",
                    "< 1000 ms",
                    "slow lookups add to every delivery",
                    f"dig @{check.server} . NS",
                )
            )
    checked = ["resolv.conf nameservers and options"]
    if checks:
        checked.append(f"{len(checks)} nameserver(s) asked and timed")
    return AuditSection("resolver", tuple(checked), tuple(facts), tuple(findings))


def audit_firewall_section() -> AuditSection:
    """nft and iptables rules that drop or reject outbound SMTP."""
    rules: list[firewall.BlockingRule] = []
    checked: list[str] = []
    unreadable: list[Unreadable] = []
    sources = (("nft", ["list", "ruleset"]), ("iptables", ["-S"]), ("ip6tables", ["-S"]))
    for tool, args in sources:
        binary = find_tool(tool, os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
        if binary is None:
            continue
        try:
            text = run([binary, *args], timeout=15).stdout
        except ToolError as exc:
            unreadable.append(Unreadable(f"{tool} {' '.join(args)}", str(exc)))
            continue
        checked.append(f"{tool} {' '.join(args)}")
        rules += firewall.parse_nft(text) if tool == "nft" else firewall.parse_iptables(text, tool)
    if not checked and not unreadable:
        unreadable.append(Unreadable("firewall", "neither nft nor iptables is installed"))
    findings = []
    seen: set[str] = set()
    for rule in rules:
        if rule.text in seen:
            continue  # iptables-nft shows the same rule through both tools
        seen.add(rule.text)
        ports = ", ".join(str(p) for p in rule.ports)
        cause = (
            CauseCode.CONNECT_REFUSED
            if rule.action == "reject"
            else CauseCode.PORT25_BLOCKED
            if rule.ports == (25,)
            else CauseCode.CONNECT_TIMEOUT
        )
        findings.append(
            ConfigFinding(
                "firewall",
                f"{rule.source} chain {rule.chain}",
                Severity.ERROR,
                cause,
                f"outbound TCP port {ports} is {rule.action}ped by: {rule.text}",
                rule.text,
                "no rule blocking outbound SMTP",
                "a DROP makes every connection wait for the MTA's connect timeout; a REJECT "
                "fails at once",
                "nft -a list ruleset  # then: nft delete rule FAMILY TABLE CHAIN handle N"
                if rule.source == "nft"
                else f"{rule.source} -D {rule.text[3:]}"
                if rule.text.startswith("-A ")
                else f"{rule.source} -P OUTPUT ACCEPT",
            )
        )
    return AuditSection(
        "firewall",
        tuple(checked),
        (("blocking_rules", str(len(findings))),),
        tuple(findings),
        tuple(unreadable),
    )


def audit_resources_section(settings: PostfixSettings | None, mta: Mta | None) -> AuditSection:
    """Load, memory and the queue filesystem against the MTA's floor."""
    queue_dir = Path(settings.get("queue_directory")) if settings else None
    if queue_dir is None and mta is Mta.EXIM:
        queue_dir = Path("/var/spool/exim4")
    res = resources.read_resources(queue_dir)
    floor = None
    if settings is not None:
        minfree = parse_size(settings.get("queue_minfree", "0")) or 0
        size_limit = parse_size(settings.get("message_size_limit", "0")) or 0
        floor = max(minfree, int(1.5 * size_limit))
    facts = [
        ("load1", f"{res.load1:.2f}" if res.load1 is not None else "unknown"),
        ("cpus", str(res.cpus)),
        ("mem_available", f"{res.mem_available // 1048576} MiB" if res.mem_available else "?"),
    ]
    if res.disk_free is not None:
        facts.append(("queue_fs_free", f"{res.disk_free // 1048576} MiB"))
    if floor is not None:
        facts.append(("queue_floor", f"{floor // 1048576} MiB"))
    findings = resources.audit_resources(res, floor, str(queue_dir or "/var/spool"))
    checked = ("load against CPUs", "available memory", "queue filesystem space and inodes")
    return AuditSection("resources", checked, tuple(facts), tuple(findings))


def run_audit(options: AuditOptions) -> ConfigReport:
    """Every area; an area that cannot be read says why and the rest still runs."""
    mta = detect(options.mta)
    sections: list[AuditSection] = []
    settings: PostfixSettings | None = None
    if mta is Mta.POSTFIX:
        section, settings = audit_postfix_section(options.mta)
        sections.append(section)
    elif mta is Mta.EXIM:
        sections.append(audit_exim_section(options.mta))
    else:
        where = "no MTA found (postconf, exim4/exim)" if mta is None else "not audited for sendmail"
        sections.append(AuditSection("mta", unreadable=(Unreadable("mta", where),)))
    sections.append(audit_resolver_section(options.resolv_conf, options.query_nameservers))
    sections.append(audit_firewall_section())
    sections.append(audit_resources_section(settings, mta))
    return ConfigReport(tuple(sections))


def relay_target(report: ConfigReport) -> str | None:
    """host:port of the Postfix relay host, from the audit's facts."""
    value = report.fact("postfix", "relayhost")
    if not value or value.startswith("("):
        return None
    relay = parse_relayhost(value)
    return relay.target if relay else None
