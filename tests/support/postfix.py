"""Private, throw-away Postfix instances for tests (real Postfix from Debian packages).

Each instance has its own config, queue and data directories, its own SMTP port on
loopback, chroot off, and logs to its own file (`maillog_file`), so no syslog is needed
and several instances (from different tests) run side by side. `postfix_instance()`
always stops the instance and removes everything it created, pass or fail.

    with postfix_instance(tmp_path, {"relayhost": "[192.0.2.1]:25"}) as pf:
        pf.sendmail("a@example.org", ["b@example.net"])
        pf.wait_for_log(r"status=deferred")
        assert pf.queue_json()

Postfix's set-gid programs (postqueue, postdrop) only accept a non-default config
directory listed in `alternate_config_directories` of the default /etc/postfix/main.cf:
the instance adds its directory there (under a lock, idempotently) and removes it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
SENDMAIL = "/usr/sbin/sendmail"
DEFAULT_CONFIG_DIR = Path("/etc/postfix")
_LOCK_PATH = Path("/run/smtpdoctor-test-postfix.lock")
_COMMAND_TIMEOUT = 60.0

# Services of a stock Debian master.cf, chroot off everywhere ("n" in column 5).
_MASTER_CF = """\
{listen} inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
        -o syslog_name=postfix/$service_name
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(argv: list[str], *, stdin: bytes | None = None, check: bool = True) -> str:
    proc = subprocess.run(
        argv, input=stdin, capture_output=True, timeout=_COMMAND_TIMEOUT, check=False
    )
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({proc.returncode}): "
            f"{proc.stderr.decode(errors='replace').strip()}"
        )
    return proc.stdout.decode(errors="replace")


@contextlib.contextmanager
def _system_lock() -> Iterator[None]:
    with open(_LOCK_PATH, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alternate_dirs() -> list[str]:
    out = _run([POSTCONF, "-c", str(DEFAULT_CONFIG_DIR), "-h", "alternate_config_directories"])
    return [d for d in re.split(r"[\s,]+", out.strip()) if d]


def _set_alternate_dirs(dirs: list[str]) -> None:
    value = " ".join(dirs)
    _run([POSTCONF, "-c", str(DEFAULT_CONFIG_DIR), "-e", f"alternate_config_directories = {value}"])


def _ensure_default_main_cf() -> None:
    """A fresh Debian may have the package but no /etc/postfix/main.cf yet."""
    main_cf = DEFAULT_CONFIG_DIR / "main.cf"
    if not main_cf.exists():
        DEFAULT_CONFIG_DIR.mkdir(parents=True, exist_ok=True)
        main_cf.write_text(
            "# written by smtpdoctor's test fixture (tests/support/postfix.py)\n"
            "compatibility_level = 3.6\n"
            "inet_interfaces = loopback-only\n"
        )


def register_config_dir(config_dir: Path) -> None:
    """List config_dir in the default main.cf's alternate_config_directories."""
    with _system_lock():
        _ensure_default_main_cf()
        dirs = _alternate_dirs()
        if str(config_dir) not in dirs:
            _set_alternate_dirs([*dirs, str(config_dir)])


def unregister_config_dir(config_dir: Path) -> None:
    """Remove config_dir from alternate_config_directories again."""
    with _system_lock():
        dirs = _alternate_dirs()
        if str(config_dir) in dirs:
            _set_alternate_dirs([d for d in dirs if d != str(config_dir)])


def _traversable_by_others(path: Path) -> bool:
    """True if unprivileged daemons (user postfix) can reach path."""
    for part in [path, *path.parents]:
        if part.exists() and not part.stat().st_mode & stat.S_IXOTH:
            return False
    return True


class PostfixInstance:
    """One private Postfix instance: directories, its SMTP port and helpers to drive it."""

    def __init__(self, root: Path, name: str, netns: str | None = None) -> None:
        self.name = name
        self.root = root
        self.netns = netns
        self.config_dir = root / "etc"
        self.queue_dir = root / "spool"
        self.data_dir = root / "data"
        self.log_path = root / "maillog"
        self.smtp_port = _free_port()
        self.running = False

    # --- running commands, inside the instance's namespace where it has one ---

    def _ns(self, argv: list[str]) -> list[str]:
        if self.netns is None:
            return argv
        return ["ip", "netns", "exec", self.netns, *argv]

    def write_config(self, main_cf: dict[str, str]) -> None:
        """Write main.cf and master.cf from the defaults and the overrides."""
        for directory in (self.config_dir, self.queue_dir, self.data_dir):
            directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        os.chmod(self.queue_dir, 0o755)
        shutil.chown(self.data_dir, "postfix", "postfix")
        settings: dict[str, str] = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "maillog_file": str(self.log_path),
            "maillog_file_prefixes": str(self.root),
            "myhostname": f"{self.name}.example.org",
            "mydestination": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            # Never reach out to real DNS or the Internet: a refused loopback port
            # is the default next hop; tests point relayhost where they need it.
            "relayhost": "[127.0.0.1]:9",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "smtp_connect_timeout": "5s",
            "queue_run_delay": "5s",
            "minimal_backoff_time": "5s",
            "maximal_backoff_time": "20s",
            "smtp_tls_security_level": "none",
        }
        settings.update(main_cf)
        lines = ["# smtpdoctor test instance (tests/support/postfix.py)"]
        lines += [f"{key} = {value}" for key, value in settings.items()]
        (self.config_dir / "main.cf").write_text("\n".join(lines) + "\n")
        listen = f"127.0.0.1:{self.smtp_port}"
        (self.config_dir / "master.cf").write_text(_MASTER_CF.format(listen=listen))

    def postconf(self, *settings: str) -> None:
        """`postconf -c DIR -e SETTING...` (e.g. "relayhost = [192.0.2.1]:25")."""
        _run([POSTCONF, "-c", str(self.config_dir), "-e", *settings])

    def start(self) -> None:
        """Start the master daemon (inside the namespace, if any)."""
        _run(self._ns([POSTFIX, "-c", str(self.config_dir), "start"]))
        self.running = True
        deadline = time.monotonic() + 20
        public = self.queue_dir / "public" / "pickup"
        while not public.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"postfix instance {self.name} did not come up")
            time.sleep(0.05)

    def _master_pid(self) -> int | None:
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """Stop the master and its children; wait until they are gone."""
        pid = self._master_pid()
        _run([POSTFIX, "-c", str(self.config_dir), "stop"], check=False)
        self.running = False
        if pid is None:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def reload(self) -> None:
        """`postfix reload`: the daemons reread main.cf."""
        _run([POSTFIX, "-c", str(self.config_dir), "reload"])

    def sendmail(
        self, sender: str, recipients: list[str], subject: str = "test", body: str = "hello"
    ) -> None:
        """Submit one message through the instance's sendmail (postdrop, pickup)."""
        message = (
            f"From: <{sender}>\nTo: {', '.join(f'<{r}>' for r in recipients)}\n"
            f"Subject: {subject}\n\n{body}\n"
        )
        argv = [SENDMAIL, "-C", str(self.config_dir), "-f", sender, "--", *recipients]
        _run(argv, stdin=message.encode())

    def flush(self) -> None:
        """`postqueue -f`: retry every deferred message now."""
        _run([POSTQUEUE, "-c", str(self.config_dir), "-f"])

    def wait_for_log(self, regex: str, timeout: float = 30.0) -> str:
        """The first line of the instance's log matching regex; RuntimeError on timeout."""
        pattern = re.compile(regex)
        deadline = time.monotonic() + timeout
        while True:
            if self.log_path.exists():
                with open(self.log_path, errors="replace") as handle:
                    for line in handle:
                        if pattern.search(line):
                            return line.rstrip("\n")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no log line matching {regex!r} within {timeout}s")
            time.sleep(0.1)

    def queue_json(self) -> list[dict[str, Any]]:
        """`postqueue -j`: one dict per queued message."""
        out = _run([POSTQUEUE, "-c", str(self.config_dir), "-j"])
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def wait_for_queue(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """Poll `postqueue -j` until predicate(queue) holds; RuntimeError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            queue = self.queue_json()
            if predicate(queue):
                return queue
            if time.monotonic() > deadline:
                raise RuntimeError(f"queue condition not met within {timeout}s")
            time.sleep(0.2)


def _instance_root(base: Path, name: str) -> Path:
    if _traversable_by_others(base):
        root = base / name
        root.mkdir(parents=True)
        return root
    # pytest's tmp_path lives under a 0700 directory the postfix user cannot enter.
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir="/var/tmp"))


@contextlib.contextmanager
def postfix_instance(
    base: Path, main_cf: dict[str, str] | None = None, netns: str | None = None
) -> Iterator[PostfixInstance]:
    """A started private Postfix instance, stopped and removed on exit."""
    name = f"sdpf{secrets.token_hex(4)}"
    root = _instance_root(base, name)
    instance = PostfixInstance(root, name, netns)
    registered = False
    try:
        instance.write_config(main_cf or {})
        register_config_dir(instance.config_dir)
        registered = True
        instance.start()
        yield instance
    finally:
        try:
            instance.stop()
        finally:
            if registered:
                unregister_config_dir(instance.config_dir)
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postfix_factory(tmp_path: Path) -> Iterator[Callable[..., PostfixInstance]]:
    """A function `(main_cf=None, netns=None) -> PostfixInstance`; all stopped at teardown."""
    with contextlib.ExitStack() as stack:

        def make(
            main_cf: dict[str, str] | None = None, netns: str | None = None
        ) -> PostfixInstance:
            return stack.enter_context(postfix_instance(tmp_path, main_cf, netns))

        yield make
