"""Private Exim instances for tests: Debian's exim4 binary, unpacked (it conflicts with
the postfix package), run with a config of our own (`-C`) as a real sender.

Set up once (CI does this; see docs/logs.md)::

    apt-get install -y libidn12
    cd /tmp && apt-get download exim4-daemon-light exim4-base
    dpkg -x exim4-daemon-light_*.deb /opt/exim4 && dpkg -x exim4-base_*.deb /opt/exim4
    id Debian-exim || useradd --system --no-create-home --shell /usr/sbin/nologin Debian-exim

The binary is looked up in $SMTPDOCTOR_EXIM, /opt/exim4/usr/sbin/exim4, /usr/sbin/exim4.
Tests using it carry ``@pytest.mark.exim`` and skip with the reason when it is missing.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

EXIM_USER = "Debian-exim"  # compiled into Debian's binary
_CANDIDATES = ("/opt/exim4/usr/sbin/exim4", "/usr/sbin/exim4")


def find_exim() -> Path | None:
    """The exim4 binary to use, or None."""
    env = os.environ.get("SMTPDOCTOR_EXIM")
    for cand in ([env] if env else []) + list(_CANDIDATES):
        if cand and os.access(cand, os.X_OK):
            return Path(cand)
    return None


def skip_reason() -> str | None:
    """Why Exim tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "Exim tests need root"
    exe = find_exim()
    if exe is None:
        return "no exim4 binary: unpack Debian's exim4-daemon-light into /opt/exim4 (docs/logs.md)"
    try:
        pwd.getpwnam(EXIM_USER)
    except KeyError:
        return f"user {EXIM_USER} missing: useradd --system {EXIM_USER}"
    proc = subprocess.run(
        [str(exe), "-C", "/dev/null", "-bV"], capture_output=True, timeout=10, check=False
    )
    if proc.returncode != 0:
        return f"exim4 -bV fails: {proc.stderr.decode(errors='replace').strip()[:200]}"
    return None


_CONFIG = """\
exim_path = {exe}
primary_hostname = {name}.exim.test
spool_directory = {spool}
log_file_path = {logdir}/%slog
never_users =
trusted_users = root
qualify_domain = example.org
keep_environment =
tls_advertise_hosts =
begin routers
manual:
  driver = manualroute
  domains = {manual_domains}
  route_list = {route_list}
  transport = remote_smtp
  self = send
lookup:
  driver = dnslookup
  transport = remote_smtp
begin transports
remote_smtp:
  driver = smtp
{transport_options}
begin retry
* * F,1h,10m
"""


class EximInstance:
    """One Exim configuration with its own spool and log directory."""

    def __init__(self, root: Path, exe: Path, netns: str | None) -> None:
        self.root = root
        self.exe = exe
        self.netns = netns
        self.config_path = root / "exim.conf"
        self.spool_dir = root / "spool"
        self.log_dir = root / "log"
        self.main_log = self.log_dir / "mainlog"

    def write_config(self, routes: dict[str, str], transport: dict[str, str]) -> None:
        """routes: domain -> 'HOST::PORT' (manualroute); other domains go through DNS."""
        for d in (self.spool_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
            shutil.chown(d, EXIM_USER)
        route_list = " ; ".join(f"{dom} {hosts} byname" for dom, hosts in routes.items())
        options = "\n".join(f"  {k} = {v}" for k, v in transport.items())
        self.config_path.write_text(
            _CONFIG.format(
                exe=self.exe,
                name=self.root.name,
                spool=self.spool_dir,
                logdir=self.log_dir,
                manual_domains=" : ".join(routes) or "!*",
                route_list=route_list or "* 127.0.0.1::9 byname",
                transport_options=options,
            )
        )

    def _argv(self, *args: str) -> list[str]:
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        return [*prefix, str(self.exe), "-C", str(self.config_path), *args]

    def send(self, sender: str, recipients: list[str], subject: str = "test") -> None:
        """Submit a message and deliver it at once, in the foreground (-odi)."""
        message = f"From: <{sender}>\nSubject: {subject}\n\nhello\n"
        proc = subprocess.run(
            self._argv("-odi", "-f", sender, "--", *recipients),
            input=message.encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"exim -odi failed ({proc.returncode}): {err[:500]}")

    def wait_for_log(self, needle: str, timeout: float = 30.0) -> str:
        """The first main log line containing needle."""
        deadline = time.monotonic() + timeout
        while True:
            if self.main_log.exists():
                for line in self.main_log.read_text(errors="replace").splitlines():
                    if needle in line:
                        return line
            if time.monotonic() > deadline:
                raise RuntimeError(f"no Exim log line with {needle!r} within {timeout}s")
            time.sleep(0.1)


@contextlib.contextmanager
def exim_instance(
    routes: dict[str, str],
    transport: dict[str, str] | None = None,
    netns: str | None = None,
) -> Iterator[EximInstance]:
    """An Exim configuration under /var/tmp (Exim's user must reach it); removed on exit."""
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    exe = find_exim()
    assert exe is not None
    root = Path(tempfile.mkdtemp(prefix=f"sdexim{secrets.token_hex(3)}-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    try:
        inst = EximInstance(root, exe, netns)
        inst.write_config(routes, transport or {})
        yield inst
    finally:
        # `-odi` deliveries run in the foreground, so nothing of ours is left running.
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def exim_factory() -> Iterator[Callable[..., EximInstance]]:
    """`make(routes, transport=None, netns=None) -> EximInstance`, all removed at teardown."""
    with contextlib.ExitStack() as stack:

        def make(
            routes: dict[str, str],
            transport: dict[str, str] | None = None,
            netns: str | None = None,
        ) -> EximInstance:
            return stack.enter_context(exim_instance(routes, transport, netns))

        yield make
