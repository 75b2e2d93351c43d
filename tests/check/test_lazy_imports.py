"""The check path loads only what the run needs (Nagios starts a process per check).

Each test runs the command in a fresh interpreter and lists `sys.modules` at the end, so a
top-level import of rich, dnspython or cryptography creeping back into the check path
fails here instead of silently costing every Nagios check 0.05-0.1 s of CPU
(bench/monitor_bench.py --only nagios has the figures).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.certs import CertSet
from tests.support.servers import GoodSMTP

REPO = Path(__file__).resolve().parents[2]

# Top-level packages the plain check path must not load, and why each is heavy.
HEAVY = {
    "rich": "terminal rendering: only the terminal report",
    "dns": "dnspython: only when a name is looked up in DNS",
    "cryptography": "x509 parsing: only when a certificate was received",
    "email": "only check --send builds a message",
}


def _loaded_after(code: str) -> tuple[str, set[str]]:
    """Run CODE in a new interpreter; (its stdout before the module list, modules loaded)."""
    wrapper = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", wrapper],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=REPO,
    )
    *output, modules = done.stdout.rstrip("\n").split("\n")
    return "\n".join(output), set(json.loads(modules))


def _heavy(loaded: set[str]) -> list[str]:
    return sorted(name for name in HEAVY if name in loaded)


def _run_main(*argv: str) -> str:
    return f"from smtpdoctor.cli.main import main\nprint('exit', main({list(argv)!r}))\n"


def test_importing_the_check_command_loads_no_heavy_package() -> None:
    _, loaded = _loaded_after("import smtpdoctor.cli.check, smtpdoctor.cli.nagios_mode")
    assert "smtpdoctor.cli.check" in loaded
    assert _heavy(loaded) == []
    assert "smtpdoctor.report.check_terminal" not in loaded


def test_nagios_check_of_an_address_loads_no_heavy_package(good: GoodSMTP) -> None:
    out, loaded = _loaded_after(
        _run_main("check", good.target, "--nagios", "--starttls", "never", "-w", "rcpt=5")
    )
    assert out.startswith(f"SMTP OK - {good.target}: mail accepted in ")
    assert out.endswith("exit 0")
    assert _heavy(loaded) == []
    # --trace and MX targets only: their modules stay out too
    lazy = {"smtpdoctor.net.trace", "smtpdoctor.probe.mx", "smtpdoctor.probe.certs"}
    assert lazy & loaded == set()


def test_json_check_loads_no_rich(good: GoodSMTP) -> None:
    out, loaded = _loaded_after(_run_main("check", good.target, "--json", "--starttls", "never"))
    document = json.loads(out.rsplit("\n", 1)[0])
    assert document["verdict"] == "ok"
    assert out.endswith("exit 0")
    assert _heavy(loaded) == []


def test_a_certificate_still_gets_parsed_when_there_is_one(good: GoodSMTP, certs: CertSet) -> None:
    # The other side of the lazy import: STARTTLS brings a certificate, and the report
    # still has its facts (the import happens where the chain is described).
    out, loaded = _loaded_after(
        _run_main("check", good.target, "--json", "--cafile", str(certs.ca_pem))
    )
    document = json.loads(out.rsplit("\n", 1)[0])
    (endpoint,) = document["endpoints"]
    chain = endpoint["tls"]["chain"]
    assert chain and chain[0]["days_left"] > 0
    assert "cryptography.x509" in loaded
    assert "rich" not in loaded


def test_a_name_outside_etc_hosts_still_queries_dns_with_dnspython(tmp_path: Path) -> None:
    # A nameserver on a loopback port nothing answers on: dnspython is loaded on demand
    # and the lookup is a timed DNS query, as before.
    code = (
        "import asyncio, socket\n"
        "from smtpdoctor.probe.dns import Nameserver, ResolverConfig, resolve_host\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0))\n"
        "cfg = ResolverConfig((Nameserver('127.0.0.1', s.getsockname()[1]),), timeout_s=0.3,"
        " attempts=1, hosts_file=None)\n"
        "r = asyncio.run(resolve_host('mail.example.org', timeout=1, config=cfg,"
        " families=(socket.AF_INET,)))\n"
        "print([q.status.value for q in r.queries])\n"
    )
    out, loaded = _loaded_after(code)
    assert out == "['timeout']"
    assert "dns.asyncquery" in loaded
