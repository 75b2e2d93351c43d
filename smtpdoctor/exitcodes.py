"""Exit codes shared by every command (DESIGN.md: interfaces people rely on)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a smtpdoctor process tells its caller."""

    HEALTHY = 0
    PROBLEM_FOUND = 1
    USAGE_ERROR = 2
    COULD_NOT_RUN = 3


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit 2."""


class CouldNotRun(Exception):
    """The check itself could not run (no permission, missing tool): one line, exit 3."""
