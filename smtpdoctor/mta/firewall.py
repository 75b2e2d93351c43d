"""Firewall rules that block outbound SMTP: `nft list ruleset` and `iptables -S` text. Pure.

Only rules in output paths count (nft chains with `hook output`, iptables OUTPUT and
chains whose name says output, as ufw's `ufw-user-output` does). A rule is reported when
it drops or rejects TCP to port 25, 465 or 587, or when an output policy drops everything
and no rule accepts those ports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SMTP_PORTS = (25, 465, 587)


@dataclass(frozen=True)
class BlockingRule:
    """One rule (or policy) that stops outbound SMTP."""

    source: str  # nft / iptables / ip6tables
    chain: str
    text: str
    ports: tuple[int, ...]
    action: str  # drop / reject
    policy: bool = False


def _ports_in(text: str) -> tuple[int, ...] | None:
    """The SMTP ports a rule matches; () when it names other ports, None when none at all."""
    m = re.search(r"dport\s+(?:\{(?P<set>[^}]*)\}|(?P<one>[\w-]+))", text) or re.search(
        r"--dports?\s+(?P<one>[\w,:]+)", text
    )
    if m is None:
        return None
    spec = m.group("set") if m.groupdict().get("set") else m.group("one")
    ports: set[int] = set()
    for part in re.split(r"[\s,]+", spec.strip()):
        if not part:
            continue
        named = {"smtp": 25, "submissions": 465, "smtps": 465, "submission": 587}
        if part in named:
            ports.add(named[part])
            continue
        bounds = re.split(r"[-:]", part)
        if all(b.isdigit() for b in bounds) and bounds:
            low, high = int(bounds[0]), int(bounds[-1])
            ports.update(p for p in SMTP_PORTS if low <= p <= high)
    return tuple(sorted(ports))


def _action(text: str) -> str | None:
    low = f" {text.lower()} "
    if " drop " in low or "-j drop" in low:
        return "drop"
    if " reject" in low or "-j reject" in low:
        return "reject"
    return None


def _accepts(text: str) -> bool:
    low = f" {text.lower()} "
    return " accept " in low or "-j accept" in low


def parse_nft(text: str) -> list[BlockingRule]:
    """Blocking rules in `nft list ruleset` output."""
    out: list[BlockingRule] = []
    chain = ""
    is_output = False
    policy_drop = False
    accepted: set[int] = set()

    def close_chain() -> None:
        if is_output and policy_drop:
            open_ports = tuple(p for p in SMTP_PORTS if p not in accepted)
            if open_ports:
                out.append(BlockingRule("nft", chain, "policy drop", open_ports, "drop", True))

    for raw in text.splitlines():
        line = raw.strip()
        m = re.match(r"chain (\S+) \{", line)
        if m:
            close_chain()
            chain, is_output, policy_drop, accepted = m.group(1), False, False, set()
            continue
        if line.startswith("type ") and "hook" in line:
            is_output = "hook output" in line
            policy_drop = "policy drop" in line
            continue
        if not is_output or not line or line.startswith(("}", "#")):
            continue
        if "tcp" not in line and "dport" not in line:
            continue
        ports = _ports_in(line)
        if _accepts(line) and ports:
            accepted.update(ports)
            continue
        action = _action(line)
        if action and ports:
            out.append(BlockingRule("nft", chain, line, ports, action))
    close_chain()
    return out


def parse_iptables(text: str, source: str = "iptables") -> list[BlockingRule]:
    """Blocking rules in `iptables -S` / `ip6tables -S` output."""
    out: list[BlockingRule] = []
    accepted: set[int] = set()
    policy: BlockingRule | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("-P OUTPUT DROP"):
            policy = BlockingRule(source, "OUTPUT", line, SMTP_PORTS, "drop", True)
            continue
        m = re.match(r"-A (\S+) ", line)
        if m is None:
            continue
        chain = m.group(1)
        if chain != "OUTPUT" and "output" not in chain.lower():
            continue
        if "-p tcp" not in line and "dport" not in line:
            continue
        ports = _ports_in(line)
        if not ports:
            continue
        if _accepts(line):
            accepted.update(ports)
            continue
        action = _action(line)
        if action:
            out.append(BlockingRule(source, chain, line, ports, action))
    if policy is not None:
        open_ports = tuple(p for p in SMTP_PORTS if p not in accepted)
        if open_ports:
            out.append(BlockingRule(source, "OUTPUT", policy.text, open_ports, "drop", True))
    return out


def blocked_ports(rules: Iterable[BlockingRule]) -> set[int]:
    """Every SMTP port some rule blocks."""
    return {p for r in rules for p in r.ports}
