"""`smtpdoctor config` follows nft `jump` / `goto` from the output hook into other chains.

The ruleset is loaded with the real nft into a namespace of our own, where the drop also
really stops a connection to the relay address.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mta.cli import smtpdoctor
from tests.support.netns import loopback_namespace

pytestmark = pytest.mark.netns

RELAY = "198.51.100.25"
RULESET = f"""\
table inet sdjump {{
 chain output {{
  type filter hook output priority 0; policy accept;
  oifname "lo" ip daddr 127.0.0.0/8 accept
  ip daddr {RELAY} jump smtp_guard
  goto egress
 }}
 chain smtp_guard {{
  tcp dport 25 counter drop
 }}
 chain egress {{
  tcp dport {{ 80, 443 }} accept
  jump deeper
 }}
 chain deeper {{
  tcp dport 587 reject with tcp reset
 }}
 chain not_reached {{
  tcp dport 465 drop
 }}
}}
"""


@pytest.fixture
def jumping_netns() -> Iterator[str]:
    with loopback_namespace("sdfw", (RELAY,), RULESET) as name:
        yield name


def test_drop_in_a_jumped_to_chain_is_found_and_quoted(jumping_netns: str, tmp_path: Path) -> None:
    connect = (
        "import socket,sys\n"
        "s=socket.socket(); s.settimeout(1)\n"
        f"try: s.connect(('{RELAY}', 25))\n"
        "except TimeoutError: sys.exit(7)\n"
    )
    real = subprocess.run(
        ["ip", "netns", "exec", jumping_netns, sys.executable, "-c", connect],
        capture_output=True,
        timeout=10,
        check=False,
    )
    assert real.returncode == 7, "the jumped-to drop must really drop"
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.254\n")
    proc = smtpdoctor(
        "config",
        "--json",
        "--resolv-conf",
        str(resolv),
        "--no-dns-query",
        "--postfix-config",
        str(tmp_path / "none"),
        netns=jumping_netns,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    found = {f["subject"]: f for f in doc["findings"] if f["area"] == "firewall"}
    guard = found["nft chain output -> smtp_guard"]
    assert guard["cause"] == "port25_blocked"
    assert "tcp dport 25 counter" in guard["summary"] and "drop" in guard["summary"]
    assert f"reached by `ip daddr {RELAY} jump smtp_guard` in chain output" in guard["summary"]
    deeper = found["nft chain output -> egress -> deeper"]
    assert deeper["cause"] == "connect_refused"
    assert "`goto egress` in chain output then `jump deeper` in chain egress" in (deeper["summary"])
    assert not any("not_reached" in s or "465" in f["summary"] for s, f in found.items())
