"""A network namespace with a relay address behind an nftables DROP rule."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.netns import loopback_namespace, output_ruleset

DROPPED_RELAY = "198.51.100.25"
REJECTED_RELAY = "198.51.100.26"


@dataclass(frozen=True)
class FaultNetns:
    """A namespace: loopback plus relay addresses, one silently dropped on port 25."""

    name: str
    dropped: str = DROPPED_RELAY
    rejected: str = REJECTED_RELAY


@pytest.fixture
def fault_netns() -> Iterator[FaultNetns]:
    """Namespace where TCP to DROPPED_RELAY:25 is dropped and to REJECTED_RELAY:25 rejected."""
    ruleset = output_ruleset(
        "smtpdoctor_test",
        f"ip daddr {DROPPED_RELAY} tcp dport 25 drop",
        f"ip daddr {REJECTED_RELAY} tcp dport 25 reject with tcp reset",
    )
    with loopback_namespace("sdmta", (DROPPED_RELAY, REJECTED_RELAY), ruleset) as name:
        yield FaultNetns(name)
