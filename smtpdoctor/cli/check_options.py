"""check's arguments turned into CheckOptions: the target, secrets, families and limits.

Shared by the report path (`cli/check.py`) and the plugin path (`cli/nagios_mode.py`),
so neither imports the other.
"""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.probe.check import CheckOptions
from smtpdoctor.probe.session import Credentials
from smtpdoctor.probe.timeouts import Timeouts
from smtpdoctor.target import parse_mailbox, parse_port, parse_target, reject_controls

PASSWORD_ENV = "SMTPDOCTOR_PASSWORD"


def _read_password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        try:
            text = Path(args.password_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise UsageError(
                f"cannot read --password-file {args.password_file}: {reason}"
            ) from None
        password = text.splitlines()[0] if text else ""
        if not password:
            raise UsageError(f"--password-file {args.password_file} is empty")
        return password
    var = args.password_env or PASSWORD_ENV
    password = os.environ.get(var, "")
    if not password:
        raise UsageError(
            f"--user needs a password: give --password-file FILE or set ${var} "
            "(never on the command line)"
        )
    return password


def _check_words(args: argparse.Namespace) -> None:
    """--helo and --user go into SMTP commands as they are: no CR, LF, NUL or spaces."""
    if args.helo is not None:
        reject_controls(args.helo, "--helo")
        if not args.helo.strip() or any(c.isspace() for c in args.helo):
            raise UsageError(f"--helo {args.helo!r}: one host name or address literal, no spaces")
    if args.user is not None:
        reject_controls(args.user, "--user")


def build_options(args: argparse.Namespace) -> CheckOptions:
    """CheckOptions from parsed arguments; raises UsageError for bad input."""
    target = parse_target(reject_controls(args.target, "target"))
    _check_words(args)
    ports = tuple(parse_port(str(p)) for p in args.port)
    timeouts = (Timeouts.rfc() if args.rfc else Timeouts.quick()).with_overrides(args.timeout)
    if args.budget is not None and not 0 < args.budget <= 86400:
        raise UsageError("--budget must be between 0 and 86400 seconds")
    credentials = None
    if args.user:
        credentials = Credentials(args.user, _read_password(args), args.auth_mech)
    elif args.password_file or args.auth_mech:
        raise UsageError("--password-file and --auth-mech need --user")
    if args.reference:
        ref = parse_target(args.reference)
        if ref.is_mx or ref.port is not None:
            raise UsageError("--reference wants a host name or address, without a port")
    families: tuple[int, ...] = (socket.AF_INET, socket.AF_INET6)
    if args.family == 4:
        families = (socket.AF_INET,)
    elif args.family == 6:
        families = (socket.AF_INET6,)
    if args.cafile is not None and not Path(args.cafile).is_file():
        raise UsageError(f"--cafile {args.cafile}: no such file")
    if target.is_address and families != (socket.AF_INET, socket.AF_INET6):
        want = 6 if ":" in target.host else 4
        if args.family != want:
            raise UsageError(f"-{args.family} conflicts with the IPv{want} address {target.host}")
    return CheckOptions(
        target=args.target,
        ports=ports,
        tls=args.tls,
        starttls=args.starttls,
        timeouts=timeouts,
        budget_s=args.budget,
        credentials=credentials,
        sender=parse_mailbox(args.sender, "--from") if args.sender else None,
        recipients=tuple(parse_mailbox(r, "--to") for r in args.recipients),
        send=args.send,
        helo_name=args.helo,
        cafile=args.cafile,
        families=families,
        reference=args.reference,
        trace=args.trace,
    )
