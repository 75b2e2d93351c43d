"""Probe knobs -> check's options: the one place monitor and failover turn a module's
knobs into a `CheckOptions`, reading the password file on the way."""

from __future__ import annotations

from pathlib import Path

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.probe.check import CheckOptions
from smtpdoctor.probe.session import Credentials
from smtpdoctor.probe.timeouts import Timeouts
from smtpdoctor.probe_knobs import ProbeKnobs

__all__ = ["check_options", "read_password"]


def read_password(path: Path) -> str:
    """The first line of a password file; UsageError if unreadable or empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"cannot read password_file {path}: {reason}") from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise UsageError(f"password_file {path} is empty")
    return password


def check_options(target: str, knobs: ProbeKnobs, budget_s: float) -> CheckOptions:
    """check's options for one probe of target with knobs, within budget_s
    (quick-profile limits with the knobs' per-phase overrides)."""
    overrides = [f"{phase}={seconds}" for phase, seconds in dict(knobs.timeouts).items()]
    credentials = None
    if knobs.user and knobs.password_file:
        credentials = Credentials(knobs.user, read_password(knobs.password_file))
    return CheckOptions(
        target=target,
        ports=knobs.ports,
        tls=knobs.tls,
        starttls=knobs.starttls,
        timeouts=Timeouts.quick().with_overrides(overrides),
        budget_s=budget_s,
        credentials=credentials,
        sender=knobs.sender,
        recipients=knobs.recipients,
        send=knobs.send,
        helo_name=knobs.helo,
        cafile=knobs.cafile,
        follow_ups=knobs.follow_ups,
    )
