"""Running `smtpdoctor check` as a user would, and reading what it said."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.badsmtp import BadSMTPServer

# ``bad(mode, cert=..., **BadConfig fields)`` from conftest: a started badsmtp server.
BadFactory = Callable[..., BadSMTPServer]

REPO = Path(__file__).resolve().parents[2]

PHASES = [
    "resolve",
    "connect",
    "tls",
    "greeting",
    "ehlo",
    "starttls",
    "auth",
    "mail",
    "rcpt",
    "data",
    "body",
    "eod",
    "quit",
]
PHASE_STATUSES = {
    "ok",
    "timeout",
    "refused",
    "host_unreachable",
    "network_unreachable",
    "closed",
    "tls_error",
    "temp_fail",
    "perm_fail",
    "protocol_error",
    "not_offered",
    "error",
}


@dataclass
class CheckRun:
    """One finished `smtpdoctor` process."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    maxrss_kb: int
    doc: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """For assertion messages."""
        return (
            f"argv={self.argv[3:]} rc={self.returncode} wall={self.wall_s:.2f}s\n"
            f"stderr={self.stderr[-2000:]}\nstdout={self.stdout[-3000:]}"
        )

    @property
    def codes(self) -> list[str]:
        """Cause codes, in report order."""
        return [c["code"] for c in self.doc.get("causes", [])]

    def cause(self, code: str) -> dict[str, Any]:
        """The first cause with this code (fails the test if there is none)."""
        for item in self.doc.get("causes", []):
            if item["code"] == code:
                return dict(item)
        raise AssertionError(f"no cause {code!r} in {self.codes}\n{self.describe()}")

    @property
    def endpoint(self) -> dict[str, Any]:
        """The only endpoint the user asked for (most tests probe one address and port).

        Endpoints the probe adds by itself (`explicit` false: the connect-only comparison
        of 587 and 465 when port 25 is checked) are left out.
        """
        endpoints = [ep for ep in self.doc["endpoints"] if ep.get("explicit", True)]
        assert len(endpoints) == 1, self.describe()
        return dict(endpoints[0])

    def phase(self, name: str, endpoint: dict[str, Any] | None = None) -> dict[str, Any]:
        """The last record of one phase of the endpoint."""
        ep = endpoint if endpoint is not None else self.endpoint
        found = [p for p in ep["phases"] if p["phase"] == name]
        assert found, f"no phase {name!r}\n{self.describe()}"
        return dict(found[-1])


def run_smtpdoctor(
    *args: str,
    timeout: float = 60.0,
    wrapper: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> CheckRun:
    """Run `python -m smtpdoctor ARGS` and measure wall time and the child's peak RSS.

    The child is reaped with os.wait4 so ``maxrss_kb`` is this process's own peak,
    not the maximum over every child the test session ever ran.
    """
    argv = [*wrapper, sys.executable, "-m", "smtpdoctor", *args]
    full_env = dict(os.environ)
    full_env.update({"NO_COLOR": "1", "COLUMNS": "120"})
    full_env.update(env or {})
    start = time.monotonic()
    proc = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env
    )
    out: list[bytes] = []
    err: list[bytes] = []

    def pump(stream: Any, sink: list[bytes]) -> None:
        sink.append(stream.read())

    readers = [
        threading.Thread(target=pump, args=(proc.stdout, out), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(10)
    if wall >= timeout:
        raise AssertionError(f"smtpdoctor {' '.join(args)} hung past {timeout}s and was killed")
    run = CheckRun(
        argv=argv,
        returncode=proc.returncode,
        stdout=b"".join(out).decode("utf-8", errors="replace"),
        stderr=b"".join(err).decode("utf-8", errors="replace"),
        wall_s=wall,
        maxrss_kb=usage.ru_maxrss,
    )
    if "--json" in args and run.stdout.strip():
        try:
            run.doc = json.loads(run.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"--json output is not JSON: {exc}\n{run.describe()}") from exc
    return run


def check(target: str, *options: str, timeout: float = 60.0, **kwargs: Any) -> CheckRun:
    """`smtpdoctor check TARGET --json OPTIONS`, schema-checked."""
    run = run_smtpdoctor("check", target, "--json", *options, timeout=timeout, **kwargs)
    assert "Traceback" not in run.stderr, run.describe()
    assert run.doc, f"no JSON document\n{run.describe()}"
    assert_schema(run.doc)
    assert run.returncode == {"ok": 0, "degraded": 1, "failed": 1}[run.doc["verdict"]], (
        run.describe()
    )
    return run


def _is_num(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def assert_schema(doc: dict[str, Any]) -> None:
    """The smtpdoctor.check/1 document has every field, with the right types."""
    assert doc["schema"] == "smtpdoctor.check/1"
    for key in ("target", "host", "started_at"):
        assert isinstance(doc[key], str), key
    assert all(isinstance(p, int) for p in doc["ports"])
    assert doc["profile"] in ("quick", "rfc") or doc["profile"].startswith(("quick", "rfc"))
    assert isinstance(doc["timeouts"], dict)
    assert set(doc["timeouts"]) <= set(PHASES)
    assert all(_is_num(v) for v in doc["timeouts"].values())
    assert _is_num(doc["budget_s"]) and _is_num(doc["elapsed_ms"])
    assert doc["verdict"] in ("ok", "degraded", "failed")
    for cause in doc["causes"]:
        assert set(cause) >= {
            "code",
            "title",
            "severity",
            "phase",
            "host",
            "address",
            "port",
            "summary",
            "evidence",
            "fix",
        }, cause
        assert cause["severity"] in ("error", "warning", "info")
        assert cause["phase"] is None or cause["phase"] in PHASES
        assert isinstance(cause["summary"], str) and cause["summary"]
        assert isinstance(cause["title"], str) and cause["title"]
        assert all(isinstance(e, str) for e in cause["evidence"])
        assert all(isinstance(f, str) for f in cause["fix"])
    if doc["verdict"] == "ok":
        assert not [c for c in doc["causes"] if c["severity"] != "info"], doc["causes"]
    else:
        assert [c for c in doc["causes"] if c["severity"] != "info"], doc["causes"]
    resolve = doc["resolve"]
    assert set(resolve) >= {"name", "addresses", "nameservers", "elapsed_ms", "queries"}
    for ep in doc["endpoints"]:
        assert set(ep) >= {
            "host",
            "address",
            "family",
            "port",
            "tls_mode",
            "status",
            "failed_phase",
            "total_ms",
            "phases",
            "capabilities",
            "tls",
            "transcript",
        }, ep.keys()
        assert ep["family"] in ("IPv4", "IPv6")
        assert ep["status"] in ("ok", "failed")
        assert (ep["failed_phase"] is None) == (ep["status"] == "ok"), ep
        assert isinstance(ep["capabilities"], dict)
        for phase in ep["phases"]:
            assert phase["phase"] in PHASES
            assert phase["status"] in PHASE_STATUSES, phase
            assert _is_num(phase["ms"])
            assert phase["limit_s"] is None or _is_num(phase["limit_s"])
            if phase["reply"] is not None:
                assert isinstance(phase["reply"]["code"], int)
                assert isinstance(phase["reply"]["lines"], list)
        if ep["failed_phase"] is not None:
            assert ep["failed_phase"] in [p["phase"] for p in ep["phases"] if p["status"] != "ok"]
        if ep["tls"] is not None:
            assert set(ep["tls"]) >= {"version", "cipher", "verified", "verify_error", "chain"}
            for cert in ep["tls"]["chain"]:
                assert set(cert) >= {"subject", "issuer", "not_after", "days_left", "names"}
        for line in ep["transcript"]:
            assert line["dir"] in ("C", "S", "*")
            assert _is_num(line["ms"]) and isinstance(line["text"], str)


def transcript_text(run: CheckRun) -> str:
    """Every transcript line of every endpoint, one per line."""
    return "\n".join(
        f"{line['dir']} {line['text']}" for ep in run.doc["endpoints"] for line in ep["transcript"]
    )
