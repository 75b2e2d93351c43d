"""Running every local check for doctor: the IO around the pure ranking."""

from __future__ import annotations

import shlex
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from smtpdoctor.diagnose.rules import diagnose
from smtpdoctor.doctor.model import DoctorReport, LogSummary, ProbeOutcome
from smtpdoctor.doctor.mta_view_input import mta_view_findings
from smtpdoctor.doctor.rank import rank
from smtpdoctor.doctor.tls_policy import TlsConflict, compare, observe
from smtpdoctor.exitcodes import CouldNotRun, UsageError
from smtpdoctor.finding import Finding
from smtpdoctor.logs.api import NothingReadableError, analyze
from smtpdoctor.mta.audit import AuditOptions, relay_target, run_audit
from smtpdoctor.mta.detect import MtaOptions, detect, read_queue
from smtpdoctor.mta.model import Mta
from smtpdoctor.mta.postconf import PostfixSettings, parse_time, read_settings, with_queue_dir
from smtpdoctor.mta.postfix_audit import parse_relayhost
from smtpdoctor.mta.postfix_tls import TlsPolicy, policy_for, postmap_lookup
from smtpdoctor.mta.runner import ToolError
from smtpdoctor.mta.shape import QueueShape, shape_queue
from smtpdoctor.phases import Phase
from smtpdoctor.probe.check import CheckOptions, run_check_sync
from smtpdoctor.probe.timeouts import Timeouts

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
    """The log analysis reduced for ranking; (None, why) when no log could be read."""
    if not sources:
        return None, "logs: no mail log found (give one with --log FILE)"
    try:
        report = analyze(sources, since=datetime.now(UTC) - since)
    except NothingReadableError as exc:
        return None, f"logs: not analysed: {exc}"
    except OSError as exc:
        return None, f"logs: not analysed: {exc}"
    coverage = report.coverage
    if coverage.unreadable:
        # Not a mail log smtpdoctor can judge: counting it as "no failures" would be a lie.
        return None, (
            f"logs: could not read {', '.join(str(s) for s in sources)}: {coverage.parsed:,} of "
            f"{coverage.lines:,} lines parsed, {coverage.recognised:,} from an MTA"
        )
    groups = tuple(g for g in report.groups if g.direction == "outbound")
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
    options = CheckOptions(
        target=target,
        timeouts=Timeouts.quick().with_limit(Phase.CONNECT, connect_timeout),
        families=(socket.AF_INET, socket.AF_INET6),
        cafile=Path(cafile) if cafile and Path(cafile).is_file() else None,
    )
    try:
        result = run_check_sync(options)
    except (UsageError, CouldNotRun) as exc:  # a target check cannot take, or cannot run
        return None, f"probe {target}: could not run: {exc}"
    diagnosis = diagnose(result)
    return ProbeOutcome(target, why, diagnosis, result, observe(result)), ""


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


@dataclass
class _Notes:
    """What doctor could and could not check, in the order it tried."""

    checked: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)


@dataclass
class _MtaView:
    """What the MTA's own files said: the queue, where it logs, its TLS policy for the relay."""

    options: MtaOptions
    queue: QueueShape | None = None
    maillog: str | None = None
    tls_policy: TlsPolicy | None = None
    settings: PostfixSettings | None = None  # Postfix's main.cf, as postconf reads it


def _read_mta(mta: Mta | None, mta_options: MtaOptions, notes: _Notes) -> _MtaView:
    """The queue (shaped) and, for Postfix, the settings doctor needs from main.cf."""
    view = _MtaView(mta_options)
    if mta is None:
        notes.not_checked.append("queue: no MTA found")
        return view
    lifetime: float | None = None
    try:
        if mta is Mta.POSTFIX:
            pf_target = mta_options.postfix_target()
            settings = view.settings = read_settings(pf_target)
            view.maillog = settings.get("maillog_file") or None
            lifetime = parse_time(settings.get("maximal_queue_lifetime", "5d"), "d")
            relayhost = parse_relayhost(settings.get("relayhost"))
            if relayhost is not None:
                view.tls_policy = policy_for(settings, relayhost, postmap_lookup(pf_target))
            pf_target = with_queue_dir(pf_target, settings)
            view.options = replace(mta_options, queue_dir=pf_target.queue_dir)
        snapshot = read_queue(view.options, mta)
        view.queue = shape_queue(
            snapshot, config_dir=view.options.postfix_config, queue_lifetime_s=lifetime
        )
        notes.checked.append(f"queue: {view.queue.messages} message(s)")
        notes.not_checked += [f"queue: {p.source}: {p.reason}" for p in view.queue.problems]
    except ToolError as exc:
        notes.not_checked.append(f"queue: {exc}")
    return view


def _run_probes(
    options: DoctorOptions, relay: str | None, view: _MtaView, notes: _Notes
) -> list[ProbeOutcome]:
    """Live checks of the relay host, or of the top deferred destinations."""
    if not options.probe:
        notes.not_checked.append("probe: skipped (--no-probe)")
        return []
    probes: list[ProbeOutcome] = []
    policy = view.tls_policy
    for target, reason in probe_targets(options, relay, view.queue):
        options.progress(f"live check of {target} ({reason})")
        cafile = policy.cafile if policy and reason == "relay host" else ""
        outcome, why = run_probe(target, reason, options.probe_connect_timeout, cafile)
        if outcome is not None:
            probes.append(outcome)
            notes.checked.append(f"probe: {target}")
        else:
            notes.not_checked.append(why)
    if not probes and not relay and not (view.queue and view.queue.reasons):
        notes.not_checked.append("probe: no relay host and no deferred destination to check")
    return probes


def _config_args(mta_options: MtaOptions) -> str:
    """' -c DIR' for Postfix commands of a non-default instance, or ''."""
    config = mta_options.postfix_config
    return f" -c {shlex.quote(str(config))}" if config else ""


def _flush_hint(mta: Mta | None, mta_options: MtaOptions) -> str:
    if mta is Mta.POSTFIX:
        return f"after the fix, retry the queue now: `postqueue{_config_args(mta_options)} -f`"
    if mta is Mta.EXIM:
        return "after the fix, retry the queue now: `exim -qff`"
    return ""


def _mta_view(
    view: _MtaView, logs: LogSummary | None, probes: list[ProbeOutcome], notes: _Notes
) -> tuple[Finding, ...]:
    """Why Postfix fails where the live check works (doctor.mta_view), when both were seen."""
    if view.settings is None or not probes:
        return ()
    findings, why = mta_view_findings(
        view.options.postfix_target(),
        view.settings,
        _config_args(view.options),
        view.queue,
        logs,
        probes,
    )
    if why:
        notes.not_checked.append(why)
    return findings


def run_doctor(options: DoctorOptions) -> DoctorReport:
    """Config, queue, logs, probes; then the ranking."""
    notes = _Notes()
    options.progress("auditing the configuration")
    config = run_audit(options.audit)
    for section in config.sections:
        if section.ran:
            notes.checked.append(f"config: {section.area}")
        notes.not_checked += [f"{section.area}: {u.source}: {u.reason}" for u in section.unreadable]
    mta = detect(options.audit.mta)
    if mta is not None:
        options.progress(f"reading the {mta.value} queue")
    view = _read_mta(mta, options.audit.mta, notes)
    options.progress("analysing the mail log")
    logs, why = read_logs(_log_sources(options, view.maillog), options.since)
    if logs is not None:
        notes.checked.append(f"logs: {', '.join(logs.sources)}")
    if why:
        notes.not_checked.append(why)
    relay = relay_target(config)
    probes = _run_probes(options, relay, view, notes)
    conflicts = _tls_conflicts(view.tls_policy, probes, view.options)
    flush_hint = _flush_hint(mta, view.options)
    explained = _mta_view(view, logs, probes, notes)  # the MTA's view against the live check
    causes = rank(config, view.queue, logs, tuple(probes), relay, flush_hint, conflicts, explained)
    return DoctorReport(
        tuple(causes),
        config,
        view.queue,
        logs,
        tuple(probes),
        tuple(notes.checked),
        tuple(notes.not_checked),
    )
