"""Firewall rules that block outbound SMTP: `nft list ruleset` and `iptables -S` text. Pure.

Only rules in output paths count (nft chains with `hook output` and the chains they
`jump` or `goto`, with the jump rule's own port match carried along; iptables OUTPUT and
chains whose name says output, as ufw's `ufw-user-output` does). A rule is reported when
it drops or rejects TCP to port 25, 465 or 587, or when an output policy drops everything
and no rule accepts those ports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

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


@dataclass
class _NftChain:
    name: str
    hook_output: bool = False
    policy_drop: bool = False
    rules: list[str] = field(default_factory=list)


def _nft_tables(text: str) -> dict[str, dict[str, _NftChain]]:
    """`table FAMILY NAME` -> chain name -> chain, from `nft list ruleset` text."""
    tables: dict[str, dict[str, _NftChain]] = {}
    chains: dict[str, _NftChain] = {}
    chain: _NftChain | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if m := re.match(r"table (\S+ \S+|\S+) \{", line):
            chains = tables.setdefault(m.group(1), {})
            chain = None
        elif m := re.match(r"chain (\S+) \{", line):
            chain = chains.setdefault(m.group(1), _NftChain(m.group(1)))
        elif chain is None or not line or line.startswith(("}", "#")):
            continue
        elif line.startswith("type ") and "hook" in line:
            chain.hook_output = "hook output" in line
            chain.policy_drop = "policy drop" in line
        else:
            chain.rules.append(line)
    return tables


_JUMP = re.compile(r"\b(?:jump|goto)\s+(\S+)")


def _walk(
    chains: dict[str, _NftChain],
    chain: _NftChain,
    inherited: tuple[int, ...] | None,
    path: tuple[str, ...],
    out: list[BlockingRule],
    accepted: set[int],
    jumps_so_far: tuple[str, ...] = (),
) -> None:
    """Blocking rules of chain and of every chain it jumps or goes to (each once per path)."""
    for line in chain.rules:
        own = _ports_in(line) if ("tcp" in line or "dport" in line) else None
        if own is not None and inherited is not None:
            ports: tuple[int, ...] | None = tuple(p for p in own if p in inherited)
        else:
            ports = own if own is not None else inherited
        if (m := _JUMP.search(line)) and m.group(1) in chains and m.group(1) not in path:
            if ports != ():
                jumps = (*jumps_so_far, f"`{line}` in chain {chain.name}")
                _walk(chains, chains[m.group(1)], ports, (*path, m.group(1)), out, accepted, jumps)
            continue
        if not ports:
            continue
        if _accepts(line):
            accepted.update(ports)
            continue
        action = _action(line)
        if action:
            text = line
            if jumps_so_far:
                text += f" (chain {chain.name}, reached by {' then '.join(jumps_so_far)})"
            out.append(BlockingRule("nft", " -> ".join(path), text, ports, action))


def parse_nft(text: str) -> list[BlockingRule]:
    """Blocking rules in `nft list ruleset` output, following `jump` and `goto` from every
    output hook chain (a jump only reaches chains of the same table)."""
    out: list[BlockingRule] = []
    for chains in _nft_tables(text).values():
        for chain in chains.values():
            if not chain.hook_output:
                continue
            accepted: set[int] = set()
            _walk(chains, chain, None, (chain.name,), out, accepted)
            open_ports = tuple(p for p in SMTP_PORTS if p not in accepted)
            if chain.policy_drop and open_ports:
                out.append(BlockingRule("nft", chain.name, "policy drop", open_ports, "drop", True))
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
