"""The command line under bad input, signals and terminals (issue 10, "CLI hardening").

Every case runs the real `smtpdoctor` in a subprocess against real servers on loopback
(badsmtp) or a real Postfix, as an admin would meet it.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpdoctor.cli.main import main
from smtpdoctor.cli.terminal import fit
from tests.check.helpers import REPO, run_smtpdoctor
from tests.support.badsmtp import BadConfig, BadSMTPServer

ANSI = re.compile(r"\x1b\[")
SPINNER = re.compile("[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]")


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[BadSMTPServer]:
    """A badsmtp on loopback in the mode the test names with @pytest.mark.parametrize."""
    mode = getattr(request, "param", "normal")
    with BadSMTPServer(BadConfig(mode=mode)) as srv:
        yield srv


def one_line_usage_error(*args: str) -> str:
    run = run_smtpdoctor(*args, timeout=30)
    assert run.returncode == 2, run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.describe()
    return lines[0]


# ---- control characters, recipients, limits --------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--helo", "x\r\nQUIT", "CR/LF"),
        ("--to", "a@example.org\r\nRCPT TO:<b@example.org>", "CR/LF"),
        ("--from", "a@example.org\nDATA", "LF"),
        ("--user", "bob\r", "CR"),
    ],
)
def test_cr_lf_in_smtp_arguments_is_a_usage_error(option: str, value: str, named: str) -> None:
    line = one_line_usage_error("check", "127.0.0.1:25", option, value, "--password-env", "HOME")
    assert f"contains {named}" in line
    assert option in line


def test_nul_in_helo_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    # argv cannot carry NUL; the parser is reached in-process, as an embedding program would
    rc = main(["check", "127.0.0.1:25", "--helo", "x\0y"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "contains NUL" in err


@pytest.mark.parametrize("value", ["not an address", "a@bad_host!", "a@"])
def test_bad_to_says_bad_recipient(value: str) -> None:
    line = one_line_usage_error("check", "127.0.0.1:25", "--to", value)
    assert "bad recipient" in line
    assert "cannot parse target" not in line


def test_bad_from_says_bad_sender() -> None:
    line = one_line_usage_error("check", "127.0.0.1:25", "--from", "a@bad_host!")
    assert "bad sender" in line


def test_timeout_zero_says_greater_than_zero() -> None:
    line = one_line_usage_error("check", "127.0.0.1:25", "--timeout", "connect=0")
    assert "greater than 0" in line


def test_config_resolv_conf_missing_exits_2() -> None:
    line = one_line_usage_error("config", "--resolv-conf", "/nonexistent/resolv.conf")
    assert "/nonexistent/resolv.conf: no such file" in line


def test_doctor_since_takes_what_logs_takes() -> None:
    for value in ("2 days ago", "yesterday", "2026-11-27 10:00", "24h"):
        run = run_smtpdoctor("doctor", "--since", value, "--no-probe", "--no-dns-query")
        assert run.returncode != 2, run.describe()
    line = one_line_usage_error("doctor", "--since", "last blue moon", "--no-probe")
    assert "'2 days ago'" in line and "24h" in line


# ---- --json: one document on stdout, errors included ---------------------------------


@pytest.mark.parametrize(
    ("args", "code", "kind"),
    [
        (("check", "127.0.0.1:25", "--json", "--bogus"), 2, "usage"),
        (("check", "not a host!", "--json"), 2, "usage"),
        (("check", "127.0.0.1:25", "--json", "--helo", "a\r\nb"), 2, "usage"),
        (("trace", "127.0.0.1", "--json", "--max-hops", "0"), 2, "usage"),
        (("logs", "/nonexistent/mail.log", "--json"), 2, "usage"),
        (("queue", "--json", "--older-than", "soon"), 2, "usage"),
        (("config", "--json", "--resolv-conf", "/nonexistent"), 2, "usage"),
        (("doctor", "--json", "--since", "whenever"), 2, "usage"),
        (("explain", "no_such_code", "--json"), 2, "usage"),
        (("queue", "--json", "--postfix-config", "/nonexistent-dir"), 3, "could_not_run"),
    ],
)
def test_json_errors_are_one_document(args: tuple[str, ...], code: int, kind: str) -> None:
    run = run_smtpdoctor(*args, timeout=60)
    assert run.returncode == code, run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    assert run.stdout.count("\n") == 1, run.describe()
    doc = json.loads(run.stdout)
    assert doc["schema"] == "smtpdoctor.error/1"
    assert doc["error"] == kind and doc["exit_code"] == code
    assert doc["command"] == args[0]
    assert doc["message"] and "\n" not in doc["message"]


def test_without_json_errors_leave_stdout_empty() -> None:
    run = run_smtpdoctor("check", "127.0.0.1:25", "--bogus")
    assert run.returncode == 2 and run.stdout == ""


# ---- SIGINT / SIGTERM during a check ---------------------------------------------------


@pytest.mark.parametrize("server", ["no-greeting"], indirect=True)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("as_json", [True, False])
def test_signal_stops_cleanly_with_partial_result(
    server: BadSMTPServer, signum: signal.Signals, as_json: bool
) -> None:
    argv = [sys.executable, "-m", "smtpdoctor", "check", server.target,
            "--timeout", "greeting=60"] + (["--json"] if as_json else [])  # fmt: skip
    proc = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 20
    while not server.server.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # in the greeting wait now
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "never retrieved" not in err, err
    if as_json:
        doc = json.loads(out)
        assert doc["schema"] == "smtpdoctor.check/1"
        assert doc["verdict"] == "interrupted" and doc["interrupted"] is True
        assert doc["signal"] == signum.name
        (ep,) = doc["endpoints_so_far"]
        assert ep["endpoint"] == server.target
        assert [(p["phase"], p["status"]) for p in ep["phases"]] == [("connect", "ok")]
        assert ep["interrupted_phase"]["phase"] == "greeting"
        assert ep["interrupted_phase"]["ms"] >= 300
        # the cut phase is measured up to the signal, inside the run's elapsed time
        assert ep["interrupted_phase"]["ms"] <= doc["elapsed_ms"]
    else:
        assert f"interrupted ({signum.name})" in out
        assert f"{server.target}: connect ok" in out
        assert "greeting interrupted after" in out


# ---- the terminal: colour, spinner, width ----------------------------------------------


def run_in_pty(argv: list[str], columns: int, env: dict[str, str]) -> tuple[int, str]:
    """Run argv with stdout and stderr on a pseudo-terminal COLUMNS wide; (rc, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    full_env.update({"TERM": "xterm-256color", **env})
    proc = subprocess.Popen(argv, cwd=REPO, stdout=slave, stderr=slave, env=full_env)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    rc = proc.wait(timeout=60)
    return rc, b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")


def check_argv(target: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "smtpdoctor", "check", target, "--helo", "client.example.org",
            *extra]  # fmt: skip


@pytest.mark.parametrize("server", ["busy-421"], indirect=True)
def test_colour_and_spinner_on_a_terminal_by_default(server: BadSMTPServer) -> None:
    _, out = run_in_pty(check_argv(server.target), 100, {})
    assert ANSI.search(out)  # the control: without NO_COLOR there is colour


@pytest.mark.parametrize("server", ["busy-421"], indirect=True)
@pytest.mark.parametrize(
    ("env", "extra"), [({"NO_COLOR": "1"}, ()), ({}, ("--no-color",))], ids=["NO_COLOR", "flag"]
)
def test_no_color_means_no_styles_and_no_spinner(
    server: BadSMTPServer, env: dict[str, str], extra: tuple[str, ...]
) -> None:
    rc, out = run_in_pty(check_argv(server.target, *extra), 100, env)
    assert rc == 1
    assert "server_busy" in out
    assert not ANSI.search(out), repr(out[:400])
    assert not SPINNER.search(out)


@pytest.mark.parametrize("server", ["busy-421"], indirect=True)
def test_output_wraps_to_the_terminal_width_between_words(server: BadSMTPServer) -> None:
    piped = run_smtpdoctor("check", server.target, "--helo", "client.example.org")
    rc, out = run_in_pty(check_argv(server.target, "--no-color"), 60, {})
    assert rc == 1
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 60, out
    assert max(len(line) for line in piped.stdout.splitlines()) > 60  # there was wrapping to do
    # every word of the unwrapped report's causes is whole in the wrapped one
    causes_piped = piped.stdout[piped.stdout.index("Causes") :].split()
    causes_tty = out[out.index("Causes") :].split()
    timing = re.compile(r"\d")
    assert [w for w in causes_tty if not timing.search(w)] == [
        w for w in causes_piped if not timing.search(w)
    ]


def test_logs_has_no_minimum_width(tmp_path: Path) -> None:
    sample = REPO / "tests" / "logs" / "samples" / "postfix-2.2.log"
    argv = [sys.executable, "-m", "smtpdoctor", "logs", str(sample)]
    _, out = run_in_pty(argv, 70, {"NO_COLOR": "1"})
    assert not ANSI.search(out)
    # the tables take the terminal's width (they used to be at least 100 wide); the
    # wrapping of the prose lines is the log report's renderer's (report/logs_terminal.py)
    tables = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert tables, out
    assert max(len(line) for line in tables) <= 70, out


@pytest.mark.parametrize("command", [["explain", "mtu_blackhole"], ["explain"]])
def test_plain_reports_wrap_between_words(command: list[str]) -> None:
    """explain, doctor, config, queue and trace print plain text: it wraps the same way."""
    argv = [sys.executable, "-m", "smtpdoctor", *command]
    piped = run_smtpdoctor(*command)
    _, out = run_in_pty(argv, 50, {})
    lines = out.splitlines()
    assert max(len(line) for line in piped.stdout.splitlines()) > 50  # wrapping to do
    too_long = [line for line in lines if len(line) > 50]
    assert all(len(line.split()) == 1 for line in too_long), too_long  # one unbreakable word
    assert out.split() == piped.stdout.split()  # every word whole, none lost or cut


def test_fit_keeps_indentation_and_long_words() -> None:
    text = "   - postconf -e 'smtp_connect_timeout = 30s' && postfix reload /a/very/long/path/x"
    assert fit(text, 30).splitlines() == [
        "   - postconf -e",
        "     'smtp_connect_timeout =",
        "     30s' && postfix reload",
        "     /a/very/long/path/x",
    ]
    assert fit(text, 200) == text
