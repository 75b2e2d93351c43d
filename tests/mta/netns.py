"""A network namespace with a relay address behind an nftables DROP rule."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

DROPPED_RELAY = "198.51.100.25"
REJECTED_RELAY = "198.51.100.26"


@dataclass(frozen=True)
class FaultNetns:
    """A namespace: loopback plus relay addresses, one silently dropped on port 25."""

    name: str
    dropped: str = DROPPED_RELAY
    rejected: str = REJECTED_RELAY


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=10)


@pytest.fixture
def fault_netns() -> Iterator[FaultNetns]:
    """Namespace where TCP to DROPPED_RELAY:25 is dropped and to REJECTED_RELAY:25 rejected."""
    name = f"sdmta{secrets.token_hex(3)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", f"{DROPPED_RELAY}/32", "dev", "lo")
        _ip("-n", name, "addr", "add", f"{REJECTED_RELAY}/32", "dev", "lo")
        ruleset = (
            "table inet smtpdoctor_test {\n"
            " chain out {\n"
            "  type filter hook output priority 0;\n"
            f"  ip daddr {DROPPED_RELAY} tcp dport 25 drop\n"
            f"  ip daddr {REJECTED_RELAY} tcp dport 25 reject with tcp reset\n"
            " }\n"
            "}\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", name, "nft", "-f", "-"],
            input=ruleset.encode(),
            check=True,
            capture_output=True,
            timeout=10,
        )
        yield FaultNetns(name)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10, check=False)
