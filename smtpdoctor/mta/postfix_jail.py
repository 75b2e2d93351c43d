"""Postfix's chroot jail as the delivery agents see it: master.cf services and the etc/ copies.

A service whose master.cf chroot column is `y` runs inside the queue directory: it reads
`etc/resolv.conf`, `etc/hosts`, `etc/nsswitch.conf` and `smtp_tls_CApath` from there, not
from the system's /etc. `parse_services` is pure (over `postconf -F` output, which already
joins continuation lines); `read_jail` is the thin IO around it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from smtpdoctor.mta.postconf import PostfixTarget
from smtpdoctor.mta.runner import ToolError, run

_FIELD = re.compile(
    r"^(?P<service>[^/\s]+)/(?P<type>[^/\s]+)/(?P<field>[a-z_]+)\s*=\s?(?P<value>.*)$"
)

# The files the resolver and the name service switch read after chroot(2).
JAIL_FILES = ("etc/resolv.conf", "etc/hosts", "etc/nsswitch.conf")


@dataclass(frozen=True)
class Service:
    """One master.cf service with its chroot column resolved."""

    name: str
    type: str
    chroot: bool
    chroot_column: str  # as written: y, n or - (the default)
    command: str  # the program (first word of the command column)


def chroot_default(mail_version: str) -> bool:
    """What `-` in the chroot column means: y before Postfix 3.0, n since."""
    major = mail_version.split(".", 1)[0]
    return major.isdigit() and int(major) < 3


def parse_services(lines: Iterable[str], mail_version: str) -> tuple[Service, ...]:
    """`postconf -F` lines (service/type/field = value) to services."""
    fields: dict[tuple[str, str], dict[str, str]] = {}
    for line in lines:
        m = _FIELD.match(line.strip())
        if m is not None:
            key = (m.group("service"), m.group("type"))
            fields.setdefault(key, {})[m.group("field")] = m.group("value").strip()
    default = chroot_default(mail_version)
    out = []
    for (name, kind), values in fields.items():
        column = values.get("chroot", "-")
        chroot = default if column == "-" else column.lower().startswith("y")
        command = (values.get("command", "").split() or [""])[0]
        out.append(Service(name, kind, chroot, column, command))
    return tuple(out)


class FileState(StrEnum):
    """A jail copy of a system file, compared with the system's own."""

    SAME = "same"
    MISSING = "missing"  # the system has it, the jail does not
    STALE = "stale"  # both exist and differ
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class JailFile:
    """One file the chrooted service reads: where the system has it, where the jail has it."""

    system: Path
    jail: Path
    state: FileState


@dataclass(frozen=True)
class Jail:
    """The chroot facts of one Postfix instance."""

    root: Path  # the queue directory: the chroot
    services: tuple[Service, ...]
    files: tuple[JailFile, ...]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compare_file(system: Path, jail: Path) -> JailFile | None:
    """The jail copy against the system file; None when the system has no such file."""
    if not system.is_file():
        return None
    try:
        if not jail.is_file():
            return JailFile(system, jail, FileState.MISSING)
        same = _digest(system) == _digest(jail)
    except OSError:
        return JailFile(system, jail, FileState.UNREADABLE)
    return JailFile(system, jail, FileState.SAME if same else FileState.STALE)


def jail_files(root: Path, settings: Mapping[str, str], etc: Path = Path("/")) -> list[JailFile]:
    """Each file a chrooted smtp client reads, compared with the system's copy.

    `etc` is the system root the files are compared against (a test may point it elsewhere).
    """
    out = []
    for rel in JAIL_FILES:
        state = compare_file(etc / rel, root / rel)
        if state is not None:
            out.append(state)
    capath = settings.get("smtp_tls_CApath", "")
    if capath.startswith("/"):
        system_dir = Path(capath)
        jail_dir = root / capath.lstrip("/")
        if system_dir.is_dir():
            have = FileState.SAME if jail_dir.is_dir() else FileState.MISSING
            out.append(JailFile(system_dir, jail_dir, have))
    return out


def read_jail(target: PostfixTarget, settings: Mapping[str, str]) -> Jail:
    """master.cf services (through `postconf -F`) and the jail's copies; ToolError if unreadable."""
    postconf = target.tool("postconf")
    output = run([postconf, *target.config_args(), "-F"], timeout=20)
    services = parse_services(output.stdout.splitlines(), settings.get("mail_version", ""))
    root_text = settings.get("queue_directory", "")
    if not root_text:
        raise ToolError("postconf: no queue_directory")
    root = Path(root_text)
    return Jail(root, services, tuple(jail_files(root, settings)))
