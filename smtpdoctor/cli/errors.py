"""The one place a command reports that it could not do its job: one line, and JSON if asked.

With --json, scripts read stdout: a usage or could-not-run error still writes one JSON
document there (schema smtpdoctor.error/1), so they never parse an empty stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from smtpdoctor.exitcodes import ExitCode

SCHEMA = "smtpdoctor.error/1"

_KIND = {
    ExitCode.USAGE_ERROR: "usage",
    ExitCode.COULD_NOT_RUN: "could_not_run",
    130: "interrupted",
}
_PREFIX = {
    ExitCode.USAGE_ERROR: "error",
    ExitCode.COULD_NOT_RUN: "cannot run",
    130: "interrupted",
}


def wants_json(argv: Sequence[str]) -> bool:
    """True when the command line asks for --json (argparse's unambiguous prefixes too)."""
    for arg in argv:
        if arg == "--":
            return False
        if len(arg) >= 4 and "--json".startswith(arg):
            return True
    return False


def command_name(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line, if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def document(code: int, message: str, command: str | None) -> str:
    """The smtpdoctor.error/1 document, on one line (so it also fits a JSON Lines stream)."""
    import json  # here: every command imports this module, few ever write an error document

    return json.dumps(
        {
            "schema": SCHEMA,
            "command": command,
            "error": _KIND.get(code, "error"),
            "message": message,
            "exit_code": int(code),
        }
    )


def report(code: int, message: str, argv: Sequence[str], *, as_json: bool | None = None) -> int:
    """One line on stderr; with --json also the error document on stdout. Returns code."""
    message = " ".join(message.split())  # one line, whatever the message held
    sys.stderr.write(f"smtpdoctor: {_PREFIX.get(code, 'error')}: {message}\n")
    if wants_json(argv) if as_json is None else as_json:
        sys.stdout.write(document(code, message, command_name(argv)) + "\n")
        sys.stdout.flush()
    return code
