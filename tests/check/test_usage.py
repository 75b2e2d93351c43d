"""Bad input: exit 2, one line on stderr, never a traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.check.helpers import run_smtpdoctor


def assert_usage_error(*args: str) -> str:
    run = run_smtpdoctor("check", *args, timeout=20)
    assert run.returncode == 2, run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.describe()
    assert run.stdout == "", run.describe()
    # a missing subcommand is exit 2 too: make sure it was the check that said no
    assert "invalid choice: 'check'" not in lines[0], run.describe()
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ("not a host!",),
        ("",),
        ("127.0.0.1:0",),
        ("127.0.0.1:70000",),
        ("127.0.0.1:abc",),
        ("[::1:25",),
        ("127.0.0.1", "-p", "0"),
        ("127.0.0.1", "-p", "70000"),
        ("127.0.0.1", "-p", "abc"),
        ("127.0.0.1", "--timeout", "bogus=3"),
        ("127.0.0.1", "--timeout", "greeting"),
        ("127.0.0.1", "--timeout", "greeting=-1"),
        ("127.0.0.1", "--timeout", "greeting=soon"),
        ("127.0.0.1", "--budget", "0"),
        ("127.0.0.1", "--tls", "sometimes"),
        ("127.0.0.1", "--starttls", "maybe"),
        ("127.0.0.1", "--auth-mech", "CRAM-MD5"),
        ("127.0.0.1", "--user", "alice", "--password-env", "SD_SURELY_UNSET_VARIABLE"),
        ("127.0.0.1", "--cafile", "/nonexistent/ca.pem"),
        ("[::1]:25", "-4"),
        ("127.0.0.1:25", "-6"),
        ("a b@example.org",),
        ("127.0.0.1", "--to", "not an address"),
        ("127.0.0.1", "--from", "a<b@example.org"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: tuple[str, ...]) -> None:
    assert_usage_error(*args)


def test_unknown_phase_names_the_phases() -> None:
    line = assert_usage_error("127.0.0.1", "--timeout", "bogus=3")
    assert "bogus" in line


def test_missing_password_file() -> None:
    line = assert_usage_error("127.0.0.1", "--user", "a", "--password-file", "/nonexistent/pw")
    assert "/nonexistent/pw" in line


def test_password_file_is_a_directory(tmp_path: Path) -> None:
    assert_usage_error("127.0.0.1", "--user", "a", "--password-file", str(tmp_path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_password_file(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("secret\n")
    path.chmod(0)
    assert_usage_error("127.0.0.1", "--user", "a", "--password-file", str(path))


def test_password_on_the_command_line_is_refused() -> None:
    run = run_smtpdoctor("check", "127.0.0.1", "--password", "hunter2", timeout=20)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs unshare -n (root)"
)
@pytest.mark.parametrize("target", ["@example.org", "postmaster@example.org"])
def test_domain_targets(target: str) -> None:
    # In a fresh network namespace nothing can leave the machine, whatever the build does.
    run = run_smtpdoctor("check", target, "--json", "--budget", "5", wrapper=("unshare", "-n"))
    assert "Traceback" not in run.stderr, run.describe()
    if run.returncode == 2:  # the MX feature has not landed: a clear one-line refusal
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, run.describe()
        assert "support" in lines[0].lower() or "domain" in lines[0].lower(), lines
    else:
        assert run.returncode in (1, 3), run.describe()
