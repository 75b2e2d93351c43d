"""Steering Postfix: `relayhost` in main.cf, changed atomically, checked, then reloaded.

Why `relayhost` (and not a transport map): relayhost is exactly the setting people
configure for a smarthost, it applies to non-local mail only (a `*` transport map entry
would also capture local delivery), and a list in it (Postfix >= 3.5) keeps the other
relays as Postfix's own passive fallback. So the route we write is the chosen relay
first, then the others in preference order: if smtpdoctor stops or crashes, Postfix
keeps delivering on the last route and still falls back by itself as before.

How a change is made, so that Postfix only ever sees a complete, checked main.cf:

1. the new main.cf is written into a staging directory next to the real one (same
   file system) together with a copy of master.cf, fsynced, and `postfix -c STAGING
   check` must pass: the change is validated before it takes effect;
2. the current main.cf is kept as `main.cf.smtpdoctor-prev` (for `restore`);
3. the new file is renamed over main.cf (atomic) and the directory fsynced;
4. `postfix reload`; then `postqueue -f` so mail the dead relay deferred goes out now.

smtpdoctor never reads or writes a queue file: the queue is Postfix's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from smtpdoctor.exitcodes import CouldNotRun

__all__ = ["PostfixSteering", "SteeringError", "relayhost_value", "set_setting"]

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
PREVIOUS = "main.cf.smtpdoctor-prev"
_TIMEOUT = 60.0
_ROUTE = re.compile(r"^\[[0-9A-Za-z.:_-]+\]:\d{1,5}$")


class SteeringError(Exception):
    """A change was refused or failed; the MTA's configuration is as it was."""


def set_setting(main_cf: str, name: str, value: str) -> str:
    """main.cf text with `name = value`: the first definition replaced (with its
    continuation lines), later duplicates removed, or the line appended."""
    out: list[str] = []
    lines = main_cf.splitlines()
    done = False
    skipping = False
    pattern = re.compile(rf"^{re.escape(name)}\s*=")
    for line in lines:
        if skipping and line[:1] in (" ", "\t") and line.strip():
            continue  # a continuation line of the definition being replaced
        skipping = False
        if pattern.match(line):
            skipping = True
            if not done:
                out.append(f"{name} = {value}")
                done = True
            continue
        out.append(line)
    if not done:
        out.append(f"{name} = {value}")
    return "\n".join(out) + "\n"


def relayhost_value(route: str, others: tuple[str, ...]) -> str:
    """The relayhost list: the chosen route first, the other relays as Postfix's fallback."""
    for item in (route, *others):
        if not _ROUTE.match(item):
            raise SteeringError(f"refusing route {item!r}: expected [host]:port")
    return ", ".join(dict.fromkeys((route, *others)))


def _fsync_write(path: Path, data: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class CommandResult:
    """What a Postfix command said."""

    returncode: int
    output: str


def _run(argv: list[str], max_bytes: int = 65536) -> CommandResult:
    # Output goes to a file, not a pipe: `postfix reload` leaves `postsuper` running in
    # the background with the same stdout, and a pipe would make us wait for it.
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise CouldNotRun(f"{argv[0]} not found: is Postfix installed?") from None
        except subprocess.TimeoutExpired:
            return CommandResult(124, f"{argv[0]} did not finish within {_TIMEOUT:.0f} s")
        out.seek(0)
        text = out.read(max_bytes).decode(errors="replace")
    return CommandResult(proc.returncode, text.strip())


class PostfixSteering:
    """Reads and changes the relay of one Postfix instance (its config directory)."""

    name = "postfix"
    setting = "relayhost"

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.main_cf = config_dir / "main.cf"
        # main.cf texts `postfix check` already passed: a failover then costs a rename
        # and a reload, not the seconds `postfix check` takes. Any other edit of main.cf
        # gives another text, which is checked again.
        self._checked: set[str] = set()

    def prevalidate(self, candidates: list[tuple[str, tuple[str, ...]]]) -> list[str]:
        """Check, ahead of need, the main.cf each (route, others) would give.

        Returns one line per candidate that `postfix check` refused (empty: all good).
        """
        problems = []
        old_text = self.main_cf.read_text(encoding="utf-8")
        for route, others in candidates:
            try:
                self._check_staged(
                    set_setting(old_text, "relayhost", relayhost_value(route, others))
                )
            except SteeringError as exc:
                problems.append(f"{route}: {exc}")
        return problems

    def current(self) -> tuple[str, ...]:
        """The relayhost list as Postfix reads it (empty: direct delivery)."""
        result = _run([POSTCONF, "-c", str(self.config_dir), "-h", "relayhost"])
        if result.returncode != 0:
            raise CouldNotRun(f"postconf cannot read {self.main_cf}: {_first(result.output)}")
        return tuple(r for r in re.split(r"[\s,]+", result.output) if r)

    def apply(self, route: str, others: tuple[str, ...] = ()) -> str:
        """Make `route` Postfix's relay (others as fallback); returns the new relayhost.

        Raises SteeringError with main.cf unchanged when the check or the reload fails.
        """
        value = relayhost_value(route, others)
        old_text = self.main_cf.read_text(encoding="utf-8")
        new_text = set_setting(old_text, "relayhost", value)
        self._check_staged(new_text)
        previous_tmp = self.config_dir / f".{PREVIOUS}.tmp"
        _fsync_write(previous_tmp, old_text)
        os.replace(previous_tmp, self.config_dir / PREVIOUS)
        self._replace_main_cf(new_text)
        reload = _run([POSTFIX, "-c", str(self.config_dir), "reload"])
        if reload.returncode != 0:
            self._replace_main_cf(old_text)
            raise SteeringError(f"postfix reload failed, main.cf restored: {_first(reload.output)}")
        return value

    def restore(self) -> str:
        """Put back the main.cf from before the last change and reload; the new relayhost."""
        previous = self.config_dir / PREVIOUS
        if not previous.exists():
            raise SteeringError(f"nothing to restore: {previous} does not exist")
        self._check_staged(previous.read_text(encoding="utf-8"))
        self._replace_main_cf(previous.read_text(encoding="utf-8"))
        reload = _run([POSTFIX, "-c", str(self.config_dir), "reload"])
        if reload.returncode != 0:
            raise SteeringError(f"postfix reload failed: {_first(reload.output)}")
        return ", ".join(self.current())

    def sync(self) -> None:
        """`postfix reload` at start: if a previous run died between the rename and the
        reload, the running Postfix takes the main.cf on disk now."""
        result = _run([POSTFIX, "-c", str(self.config_dir), "reload"])
        if result.returncode != 0:
            raise SteeringError(f"postfix reload failed: {_first(result.output)}")

    def flush(self) -> str:
        """`postqueue -f`: deferred mail is retried now (on the new route)."""
        result = _run([POSTQUEUE, "-c", str(self.config_dir), "-f"])
        if result.returncode != 0:
            raise SteeringError(f"postqueue -f failed: {_first(result.output)}")
        return "postqueue -f"

    def active_arrivals(self) -> list[float]:
        """Arrival times of the messages in the active queue (`postqueue -j`)."""
        result = _run([POSTQUEUE, "-c", str(self.config_dir), "-j"], max_bytes=32 << 20)
        if result.returncode != 0:
            return []
        arrivals = []
        for line in result.output.splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("queue_name") == "active":
                with contextlib.suppress(TypeError, ValueError):
                    arrivals.append(float(message["arrival_time"]))
        return arrivals

    def _check_staged(self, text: str) -> None:
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest in self._checked:
            return
        staging = Path(tempfile.mkdtemp(prefix=".smtpdoctor-staging-", dir=self.config_dir))
        try:
            _fsync_write(staging / "main.cf", text)
            stamp = time.time() - 3  # see _replace_main_cf: no wait for the file to settle
            os.utime(staging / "main.cf", (stamp, stamp))
            master = self.config_dir / "master.cf"
            if master.exists():
                shutil.copy2(master, staging / "master.cf")
            os.chmod(staging, 0o755)
            check = _run([POSTFIX, "-c", str(staging), "check"])
            if check.returncode != 0:
                raise SteeringError(
                    f"postfix check refused the new main.cf, nothing changed: "
                    f"{_first(check.output)}"
                )
            self._checked.add(digest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _replace_main_cf(self, text: str) -> None:
        tmp = self.config_dir / ".main.cf.smtpdoctor-tmp"
        try:
            _fsync_write(tmp, text)
            with contextlib.suppress(OSError):
                st = self.main_cf.stat()
                os.chmod(tmp, st.st_mode & 0o7777)
                os.chown(tmp, st.st_uid, st.st_gid)
            # Postfix waits until a config file's mtime is a few seconds old (a guard
            # against reading a file an editor is still writing), which costs every
            # `postfix reload` about 2 s. This file is complete before the rename, so it
            # is dated just before now.
            stamp = time.time() - 3
            os.utime(tmp, (stamp, stamp))
            os.replace(tmp, self.main_cf)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        _fsync_dir(self.config_dir)


def _first(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "(no output)"
