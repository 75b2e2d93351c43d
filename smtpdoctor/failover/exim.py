"""Steering Exim: a route list file read by a manualroute router at every routing.

The router (docs/failover.md shows it) reads the file with `${readfile}`, so a change
takes effect for the next message without a restart or a HUP:

    smarthost:
      driver = manualroute
      domains = ! +local_domains
      route_data = ${readfile{/etc/exim4/smtpdoctor-route}{}}
      transport = remote_smtp

The file holds one Exim host list, the chosen relay first and the others after it as
Exim's own fallback: `"<; [192.0.2.20]:25 ; [192.0.2.10]:25"`. A change writes the new
file next to the old one, fsyncs and renames it (atomic), keeps the old one as
`FILE.smtpdoctor-prev`, then asks Exim how it routes a check address (`exim -bt`); if
Exim does not route it to the chosen relay, the old file is put back. `exim -qf` then
retries the queue. smtpdoctor never touches Exim's spool.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

from smtpdoctor.exitcodes import CouldNotRun
from smtpdoctor.failover.postfix import SteeringError, relayhost_value

__all__ = ["EximSteering", "route_file_text"]

PREVIOUS_SUFFIX = ".smtpdoctor-prev"
_TIMEOUT = 60.0
_ITEM = re.compile(r"\[[0-9A-Za-z.:_-]+\]:\d{1,5}")
_HOST_LINE = re.compile(r"^\s*host\s+(\S+)\s+\[([0-9A-Fa-f:.]+)\]\s+port=(\d+)", re.MULTILINE)


def route_file_text(route: str, others: tuple[str, ...]) -> str:
    """The route list file for `route` first and `others` as fallback."""
    routes = relayhost_value(route, others).split(", ")
    return '"<; ' + " ; ".join(routes) + '"\n'


class EximSteering:
    """Reads and changes the route list file of one Exim configuration."""

    name = "exim"
    setting = "route list"

    def __init__(
        self,
        route_file: Path,
        binary: str = "/usr/sbin/exim4",
        config: Path | None = None,
        check_address: str = "smtpdoctor-route-check@example.net",
    ) -> None:
        self.route_file = route_file
        self.binary = binary
        self.config = config
        self.check_address = check_address
        self.flushes: list[subprocess.Popen[bytes]] = []

    def _argv(self, *args: str) -> list[str]:
        config = ["-C", str(self.config)] if self.config is not None else []
        return [self.binary, *config, *args]

    def current(self) -> tuple[str, ...]:
        """The routes in the file, first one used first (empty when there is no file)."""
        try:
            text = self.route_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ()
        except OSError as exc:
            raise CouldNotRun(f"cannot read {self.route_file}: {exc.strerror}") from None
        return tuple(_ITEM.findall(text))

    def prevalidate(self, candidates: list[tuple[str, tuple[str, ...]]]) -> list[str]:
        """Every candidate's file text is well formed (Exim reads it only when routing)."""
        problems = []
        for route, others in candidates:
            try:
                route_file_text(route, others)
            except SteeringError as exc:
                problems.append(f"{route}: {exc}")
        return problems

    def apply(self, route: str, others: tuple[str, ...] = ()) -> str:
        """Make `route` the first host of the route list; returns the new list."""
        text = route_file_text(route, others)
        old = self.route_file.read_bytes() if self.route_file.exists() else None
        if old is not None:
            self._write(self.route_file.with_name(self.route_file.name + PREVIOUS_SUFFIX), old)
        self._write(self.route_file, text.encode())
        routed = self.routed_to()
        wanted = route.rsplit(":", 1)
        if routed is None or routed[1] != wanted[1] or wanted[0].strip("[]") not in routed[0]:
            if old is not None:
                self._write(self.route_file, old)
            else:
                self.route_file.unlink()
            raise SteeringError(
                f"exim -bt {self.check_address} did not route to {route} with the new "
                f"route file (got {routed}); the old file is back"
            )
        return ", ".join(_ITEM.findall(text))

    def routed_to(self) -> tuple[str, str] | None:
        """(host names and address, port) of the first host Exim routes the check address to."""
        try:
            proc = subprocess.run(
                self._argv("-bt", self.check_address),
                capture_output=True,
                text=True,
                timeout=_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CouldNotRun(f"cannot run {self.binary} -bt: {exc}") from None
        found = _HOST_LINE.search(proc.stdout)
        if found is None:
            return None
        return f"{found.group(1)} {found.group(2)}", found.group(3)

    def flush(self) -> str:
        """`exim -qf` in the background: a queue run can take long, the daemon goes on."""
        self.flushes = [p for p in self.flushes if p.poll() is None]
        argv = self._argv("-qf")
        self.flushes.append(
            subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        return " ".join(argv)

    def sync(self) -> None:
        """Nothing to do: Exim reads the route file for every message."""

    def active_arrivals(self) -> list[float]:
        """Not read for Exim: the stall watch is Postfix only."""
        return []

    def _write(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
