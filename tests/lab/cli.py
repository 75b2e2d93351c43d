"""Running `smtpdoctor check --json` in the lab's client namespace, as the lab tests do."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tests.lab.topology import Lab


def check_json(
    lab: Lab, args: Sequence[str], timeouts: Sequence[str], returncodes: Sequence[int] = (0, 1)
) -> tuple[int, dict[str, Any]]:
    """Exit code and JSON document of `smtpdoctor check ARGS TIMEOUTS --json`.

    Fails the test on an unexpected exit code, a traceback or a wrong schema.
    """
    done = lab.run_client(["smtpdoctor", "check", *args, *timeouts, "--json"])
    assert done.returncode in returncodes, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    assert doc["schema"] == "smtpdoctor.check/1"
    return done.returncode, doc
