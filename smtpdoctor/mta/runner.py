"""Thin command runner for MTA tools: a deadline, no shell, never raises for tool failures."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

DEFAULT_TIMEOUT = 30.0
# Where MTA tools live; PATH is searched first so a user's PATH still decides.
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/lib/sendmail")


class ToolError(Exception):
    """A tool could not be run or failed; the message is one line for the report."""


@dataclass(frozen=True)
class CommandOutput:
    """What a finished command printed."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def find_tool(name: str, path: str | None = None) -> str | None:
    """The full path of an MTA tool, looking in PATH (or `path`) only."""
    search = path if path is not None else os.environ.get("PATH", "")
    return shutil.which(name, path=search)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run(argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT, check: bool = True) -> CommandOutput:
    """Run argv, capturing output; ToolError on a missing tool, timeout or failure."""
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise ToolError(f"{argv[0]}: not installed") from None
    except PermissionError:
        raise ToolError(f"{argv[0]}: permission denied") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"{' '.join(argv)}: no answer within {timeout:g}s") from None
    out = CommandOutput(
        tuple(argv),
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
    )
    if check and proc.returncode != 0:
        detail = _first_line(out.stderr) or _first_line(out.stdout) or f"exit {proc.returncode}"
        raise ToolError(f"{' '.join(argv)}: {detail}")
    return out


def stream_lines(argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Iterator[str]:
    """Yield stdout lines of argv as they come (constant memory for huge queues).

    Raises ToolError if the tool is missing, fails, or outlives the timeout.
    """
    # stderr goes to a file, not a pipe: a chatty stderr cannot block stdout.
    with tempfile.TemporaryFile() as errfile:
        try:
            proc = subprocess.Popen(
                list(argv), stdout=subprocess.PIPE, stderr=errfile, stdin=subprocess.DEVNULL
            )
        except FileNotFoundError:
            raise ToolError(f"{argv[0]}: not installed") from None
        except PermissionError:
            raise ToolError(f"{argv[0]}: permission denied") from None
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                yield raw.decode(errors="replace").rstrip("\n")
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        errfile.seek(0)
        stderr = errfile.read(65536).decode(errors="replace")
    if code < 0:
        raise ToolError(f"{' '.join(argv)}: no answer within {timeout:g}s")
    if code != 0:
        raise ToolError(f"{' '.join(argv)}: {_first_line(stderr) or f'exit {code}'}")
