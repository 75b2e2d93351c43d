"""Gathering what `mta_view.explain` compares: the MTA's failures, the probes, Postfix's facts.

The thin IO around the pure comparison: reads master.cf and the chroot, asks the kernel
whether the bind addresses exist here and which network namespace the master runs in.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

from smtpdoctor.doctor.model import LogSummary, ProbeOutcome
from smtpdoctor.doctor.mta_view import MtaFailure, PostfixView, ProbeView, explain
from smtpdoctor.doctor.rank import host_key
from smtpdoctor.finding import Finding, Source
from smtpdoctor.mta.postconf import PostfixSettings, PostfixTarget
from smtpdoctor.mta.postfix_audit import parse_relayhost
from smtpdoctor.mta.postfix_jail import read_jail
from smtpdoctor.mta.runner import ToolError
from smtpdoctor.mta.shape import QueueShape


def failures(queue: QueueShape | None, logs: LogSummary | None) -> list[MtaFailure]:
    """The MTA's own evidence of failing next hops: queue reason groups, then log groups."""
    out = []
    for group in queue.reasons if queue else ():
        if group.cause is not None:
            host = host_key(group.relay) if group.relay else ""
            out.append(MtaFailure(group.cause, host, Source.QUEUE, group.sample_reason))
    for log in logs.groups if logs else ():
        host = host_key(log.relay) if log.relay else ""
        out.append(MtaFailure(log.cause, host, Source.LOGS, log.sample))
    return out


def probe_view(outcome: ProbeOutcome) -> ProbeView:
    """The live check's outcome as the comparison needs it: the endpoints the user asked for."""
    endpoints = [e for e in outcome.result.endpoints if e.explicit] if outcome.result else []
    passed = set(outcome.diagnosis.passed)  # the diagnosis judged each explicit endpoint
    passing = [e for e in endpoints if e.label in passed]
    families = frozenset(e.family_name.lower() for e in passing)
    failing = frozenset(e.family_name.lower() for e in endpoints if e.label not in passed)
    verified = any(e.tls is not None and e.tls.verified for e in passing)
    return ProbeView(
        target=outcome.target,
        host=host_key(outcome.target),
        passed=bool(passing),
        families_ok=families,
        families_failed=failing,
        tls_verified=verified,
    )


def _is_local(address: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True


def _netns_id(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def _netns_name(inode: int) -> str:
    with contextlib.suppress(OSError):
        for entry in Path("/run/netns").iterdir():
            with contextlib.suppress(OSError):
                if entry.stat().st_ino == inode:
                    return entry.name
    return f"net:[{inode}]"


def master_netns(queue_dir: Path) -> tuple[str | None, str]:
    """(the master's network namespace when it differs from ours, ours)."""
    own = _netns_id("self")
    try:
        pid = (queue_dir / "pid" / "master.pid").read_text().strip()
    except OSError:
        return None, ""
    theirs = _netns_id(pid) if pid.isdigit() else None
    own_name = _netns_name(own) if own is not None else ""
    if theirs is None or own is None or theirs == own:
        return None, own_name
    return _netns_name(theirs), own_name


def postfix_view(
    target: PostfixTarget, settings: PostfixSettings, config_args: str
) -> tuple[PostfixView | None, str]:
    """Postfix's facts; (None, why) when they cannot be read."""
    relay = parse_relayhost(settings.get("relayhost"))
    if relay is None:
        return None, ""
    effective = dict(settings.effective)
    try:
        jail = read_jail(target, effective)
    except ToolError as exc:
        return None, f"mta view: {exc}"
    binds = [effective.get(n, "").strip() for n in ("smtp_bind_address", "smtp_bind_address6")]
    local = frozenset(a for a in binds if a and _is_local(a))
    theirs, own = master_netns(jail.root)
    view = PostfixView(
        relayhost=host_key(relay.target),
        relayhost_text=settings.get("relayhost"),
        settings=effective,
        config_args=config_args,
        jail=jail,
        local_addresses=local,
        mta_netns=theirs,
        own_netns=own,
    )
    return view, ""


def mta_view_findings(
    target: PostfixTarget,
    settings: PostfixSettings,
    config_args: str,
    queue: QueueShape | None,
    logs: LogSummary | None,
    probes: list[ProbeOutcome],
) -> tuple[tuple[Finding, ...], str]:
    """doctor's hook: why Postfix fails where the live check passed; (findings, not-checked why)."""
    seen = failures(queue, logs)
    views = [probe_view(p) for p in probes]
    if not seen or not any(v.passed for v in views):
        return (), ""
    view, why = postfix_view(target, settings, config_args)
    if view is None:
        return (), why
    return explain(seen, views, view), ""
