"""Running every local check for doctor: the IO around the pure ranking."""

from __future__ import annotations

import json
import shlex
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from smtpdoctor.doctor.model import DoctorReport, LogSummary, ProbeOutcome
from smtpdoctor.doctor.mta_view_input import mta_view_findings
from smtpdoctor.doctor.rank import rank
from smtpdoctor.doctor.tls_policy import TlsConflict, compare, observe
from smtpdoctor.finding import Finding
from smtpdoctor.mta.audit import AuditOptions, relay_target, run_audit
from smtpdoctor.mta.detect import MtaOptions, detect, read_queue
from smtpdoctor.mta.model import Mta
from smtpdoctor.mta.postconf import PostfixSettings, parse_time, read_settings, with_queue_dir
from smtpdoctor.mta.postfix_audit import parse_relayhost
from smtpdoctor.mta.postfix_tls import TlsPolicy, policy_for, postmap_lookup
from smtpdoctor.mta.runner import ToolError
from smtpdoctor.mta.shape import QueueShape, shape_queue
from smtpdoctor.phases import Phase

DEFAULT_LOGS = (Path("/var/log/mail.log"), Path("/var/log/maillog"))


@dataclass(frozen=True)
class DoctorOptions:
    """What doctor looks at."""

    audit: AuditOptions
    logs: tuple[Path, ...] = ()  # empty: the MTA's maillog_file or /var/log/mail.log
    since: timedelta = timedelta(hours=24)
    probe: bool = True
    probe_targets: tuple[str, ...] = ()  # empty: the relay host, else top destinations
    probe_connect_timeout: float = 10.0
    max_probes: int = 3
    progress: Callable[[str], None] = field(default=lambda _msg: None)


def _log_sources(options: DoctorOptions, maillog_file: str | None) -> list[Path]:
    if options.logs:
        return list(options.logs)
    if maillog_file and not maillog_file.startswith("/dev/"):
        return [Path(maillog_file)]
    return [p for p in DEFAULT_LOGS if p.exists()][:1]


def read_logs(sources: list[Path], since: timedelta) -> tuple[LogSummary | None, str | None]:
    """The logs helper's analysis reduced for ranking; (None, why) when it cannot run."""
    if not sources:
        return None, "logs: no mail log found (give one with --log FILE)"
    try:
        from smtpdoctor.logs.api import NothingReadableError, analyze
    except ImportError as exc:  # the logs part is not in this build
        return None, f"logs: not analysed ({exc})"
    try:
        report = analyze(sources, since=datetime.now(UTC) - since)
    except NothingReadableError as exc:
        return None, f"logs: not analysed: {exc}"
    except OSError as exc:
        return None, f"logs: not analysed: {exc}"
    groups = tuple(
        (g.cause, g.destination, g.relay, g.count, g.sample)
        for g in report.groups
        if getattr(g, "direction", "outbound") == "outbound"
    )
    return LogSummary(tuple(str(s) for s in sources), groups, dict(report.totals)), None


def probe_targets(
    options: DoctorOptions, relay: str | None, queue: QueueShape | None
) -> list[tuple[str, str]]:
    """(target, why): the relay host, else the MX path of the top deferred destinations."""
    if options.probe_targets:
        return [(t, "asked for") for t in options.probe_targets]
    if relay:
        return [(relay, "relay host")]
    domains: list[str] = []
    for group in queue.reasons if queue else ():
        for domain in group.domains:
            if domain and domain not in domains:
                domains.append(domain)
    return [(f"@{d}", "top deferred destination") for d in domains[: options.max_probes]]


def run_probe(
    target: str, why: str, connect_timeout: float, cafile: str = ""
) -> tuple[ProbeOutcome | None, str]:
    """One live check through the check API; (None, why) when it cannot run.

    cafile: the trust anchors the MTA verifies with (Postfix's smtp_tls_CAfile), so the
    probe judges the relay's certificate the way the MTA will.
    """
    try:
        from smtpdoctor.diagnose.rules import diagnose
        from smtpdoctor.probe.check import CheckOptions, run_check_sync
        from smtpdoctor.probe.timeouts import Timeouts
        from smtpdoctor.report import check_json
    except ImportError as exc:
        return None, f"probe {target}: not run ({exc})"
    timeouts = Timeouts.quick()
    limits = dict(timeouts.limits)
    limits[Phase.CONNECT] = connect_timeout
    try:
        options = CheckOptions(
            target=target,
            timeouts=replace(timeouts, limits=limits),
            families=(socket.AF_INET, socket.AF_INET6),
            cafile=Path(cafile) if cafile and Path(cafile).is_file() else None,
        )
        result = run_check_sync(options)
        diagnosis = diagnose(result)
    except Exception as exc:  # a probe failure must not take the whole report down
        return None, f"probe {target}: could not run: {exc}"
    try:
        document = json.loads(check_json.render(result, diagnosis))
    except (TypeError, ValueError):
        document = {}
    return ProbeOutcome(
        target, why, diagnosis.verdict, diagnosis.causes, document, observe(result)
    ), ""


def _tls_conflicts(
    policy: TlsPolicy | None, probes: list[ProbeOutcome], mta_options: MtaOptions
) -> tuple[TlsConflict, ...]:
    """The relay host's live TLS against the level Postfix demands of it."""
    if policy is None:
        return ()
    config_args = (
        f" -c {shlex.quote(str(mta_options.postfix_config))}" if mta_options.postfix_config else ""
    )
    out = []
    for probe in probes:
        if probe.why == "relay host" and probe.tls is not None:
            conflict = compare(policy, probe.tls, probe.target, config_args)
            if conflict is not None:
                out.append(conflict)
    return tuple(out)


def _config_args(mta_options: MtaOptions) -> str:
    config = mta_options.postfix_config
    return f" -c {shlex.quote(str(config))}" if config else ""


def run_doctor(options: DoctorOptions) -> DoctorReport:
    """Config, queue, logs, probes; then the ranking."""
    checked: list[str] = []
    not_checked: list[str] = []
    options.progress("auditing the configuration")
    config = run_audit(options.audit)
    for section in config.sections:
        if section.ran:
            checked.append(f"config: {section.area}")
        not_checked += [f"{section.area}: {u.source}: {u.reason}" for u in section.unreadable]
    mta_options = options.audit.mta
    mta = detect(mta_options)
    queue: QueueShape | None = None
    maillog: str | None = None
    lifetime: float | None = None
    tls_policy: TlsPolicy | None = None
    pf_settings: PostfixSettings | None = None
    if mta is not None:
        options.progress(f"reading the {mta.value} queue")
        try:
            if mta is Mta.POSTFIX:
                pf_target = mta_options.postfix_target()
                settings = pf_settings = read_settings(pf_target)
                maillog = settings.get("maillog_file") or None
                lifetime = parse_time(settings.get("maximal_queue_lifetime", "5d"), "d")
                relayhost = parse_relayhost(settings.get("relayhost"))
                if relayhost is not None:
                    tls_policy = policy_for(settings, relayhost, postmap_lookup(pf_target))
                pf_target = with_queue_dir(pf_target, settings)
                mta_options = replace(mta_options, queue_dir=pf_target.queue_dir)
            snapshot = read_queue(mta_options, mta)
            queue = shape_queue(
                snapshot, config_dir=mta_options.postfix_config, queue_lifetime_s=lifetime
            )
            checked.append(f"queue: {queue.messages} message(s)")
            not_checked += [f"queue: {p.source}: {p.reason}" for p in queue.problems]
        except ToolError as exc:
            not_checked.append(f"queue: {exc}")
    else:
        not_checked.append("queue: no MTA found")
    options.progress("analysing the mail log")
    logs, why = read_logs(_log_sources(options, maillog), options.since)
    if logs is not None:
        checked.append(f"logs: {', '.join(logs.sources)}")
    if why:
        not_checked.append(why)
    relay = relay_target(config)
    probes: list[ProbeOutcome] = []
    if options.probe:
        for target, reason in probe_targets(options, relay, queue):
            options.progress(f"live check of {target} ({reason})")
            cafile = tls_policy.cafile if tls_policy and reason == "relay host" else ""
            outcome, why = run_probe(target, reason, options.probe_connect_timeout, cafile)
            if outcome is not None:
                probes.append(outcome)
                checked.append(f"probe: {target}")
            else:
                not_checked.append(why)
        if not probes and not relay and not (queue and queue.reasons):
            not_checked.append("probe: no relay host and no deferred destination to check")
    else:
        not_checked.append("probe: skipped (--no-probe)")
    flush_hint = ""
    if mta is Mta.POSTFIX:
        c = (
            f" -c {shlex.quote(str(mta_options.postfix_config))}"
            if mta_options.postfix_config
            else ""
        )
        flush_hint = f"after the fix, retry the queue now: `postqueue{c} -f`"
    elif mta is Mta.EXIM:
        flush_hint = "after the fix, retry the queue now: `exim -qff`"
    conflicts = _tls_conflicts(tls_policy, probes, mta_options)
    mta_view: tuple[Finding, ...] = ()
    if pf_settings is not None and probes:  # the MTA's view against the live check
        mta_view, why = mta_view_findings(
            mta_options.postfix_target(),
            pf_settings,
            _config_args(mta_options),
            queue,
            logs,
            probes,
        )
        not_checked += [why] if why else []
    causes = rank(config, queue, logs, tuple(probes), relay, flush_hint, conflicts, mta_view)
    return DoctorReport(
        tuple(causes), config, queue, logs, tuple(probes), tuple(checked), tuple(not_checked)
    )
