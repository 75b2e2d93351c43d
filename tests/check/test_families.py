"""`-4` / `-6` on loopback: family flags against literals, and a dual-stack /etc/hosts name.

The name test runs in a private network namespace whose /etc/hosts (bind-mounted by
`ip netns exec` from /etc/netns/NAME) gives `dual.test` both 127.0.0.1 and ::1, with
badsmtp listening on both, same port. Nothing leaves the namespace's loopback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.check.helpers import REPO, run_smtpdoctor


@pytest.mark.parametrize(
    ("target", "flag"),
    [("127.0.0.1:25", "-6"), ("[::1]:25", "-4"), ("192.0.2.1", "-6")],
)
def test_family_flag_against_an_address_of_the_other_family(target: str, flag: str) -> None:
    run = run_smtpdoctor("check", target, flag, timeout=20)
    assert run.returncode == 2, run.describe()
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and "conflicts" in lines[0], run.describe()
    assert run.stdout == ""


def test_both_family_flags_are_a_usage_error() -> None:
    run = run_smtpdoctor("check", "127.0.0.1:25", "-4", "-6", timeout=20)
    assert run.returncode == 2, run.describe()
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr


@dataclass(frozen=True)
class DualNamespace:
    """A namespace where dual.test is 127.0.0.1 and ::1, SMTP on both at PORT."""

    name: str
    port: int

    def check(self, *args: str) -> tuple[int, dict[str, Any]]:
        argv = ["ip", "netns", "exec", self.name, sys.executable, "-m", "smtpdoctor",
                "check", f"dual.test:{self.port}", "--json", "--timeout", "connect=2",
                "--budget", "20", *args]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO,
                              check=False)  # fmt: skip
        assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
        return done.returncode, json.loads(done.stdout)


@pytest.fixture
def dual_ns() -> Iterator[DualNamespace]:
    name = f"sdfam-{uuid.uuid4().hex[:8]}"
    etc = Path("/etc/netns") / name
    procs: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)
        etc.mkdir(parents=True)
        (etc / "hosts").write_text("127.0.0.1 localhost dual.test\n::1 localhost dual.test\n")
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        port = 2525
        for listen in (f"127.0.0.1:{port}", f"[::1]:{port}"):
            argv = ["ip", "netns", "exec", name, sys.executable, "-m",
                    "tests.support.badsmtp", "--listen", listen, "--mode", "normal"]  # fmt: skip
            proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            procs.append(proc)
            assert proc.stdout is not None
            assert proc.stdout.readline().strip().isdigit(), f"badsmtp did not start on {listen}"
        yield DualNamespace(name, port)
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=10)
        shutil.rmtree(etc, ignore_errors=True)


@pytest.mark.netns
@pytest.mark.parametrize(("flag", "family", "address"), [
    ("-4", "IPv4", "127.0.0.1"), ("-6", "IPv6", "::1"), (None, None, None),
])  # fmt: skip
def test_hosts_file_name_by_family(
    dual_ns: DualNamespace, flag: str | None, family: str | None, address: str | None
) -> None:
    code, doc = dual_ns.check(*([flag] if flag else []))
    assert code == 0 and doc["verdict"] == "ok", doc["causes"]
    probed = {(e["family"], e["address"]) for e in doc["endpoints"]}
    if flag is None:
        assert probed == {("IPv4", "127.0.0.1"), ("IPv6", "::1")}
    else:
        assert probed == {(family, address)}
