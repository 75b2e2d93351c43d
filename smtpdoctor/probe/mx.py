"""The path mail to a domain takes: its MX plan (RFC 5321 section 5, RFC 7505).

`resolve_mx` looks up the MX records, sorts them by preference, spots a null MX, falls
back to the domain's own A/AAAA when there is no MX at all, and resolves every MX host's
addresses concurrently. Like `resolve_host`, it never raises for DNS failures.
"""

from __future__ import annotations

import asyncio
import socket
import time

from smtpdoctor.probe.dns import (
    STATUS_NODATA,
    STATUS_OK,
    ResolverConfig,
    query,
    resolve_host,
    system_config,
)
from smtpdoctor.probe.results import MxHost, MxPlan

__all__ = ["MxHost", "MxPlan", "parse_mx", "resolve_mx"]


def parse_mx(answer: str) -> tuple[int, str] | None:
    """'10 mx1.example.' -> (10, 'mx1.example'); '0 .' -> (0, '.'); None if malformed."""
    parts = answer.split()
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    target = parts[1] if parts[1] == "." else parts[1].rstrip(".").lower()
    return int(parts[0]), target


async def resolve_mx(
    domain: str,
    *,
    timeout: float,
    families: tuple[int, ...] = (socket.AF_INET, socket.AF_INET6),
    config: ResolverConfig | None = None,
) -> MxPlan:
    """The MX plan of DOMAIN within TIMEOUT seconds (an '@' prefix or 'user@' is dropped)."""
    start = time.monotonic()
    deadline = start + max(0.0, timeout)
    domain = domain.rpartition("@")[2].rstrip(".").lower()
    cfg = config if config is not None else system_config()
    servers = tuple(s.label for s in cfg.nameservers)
    attempts = await query(domain, "MX", cfg, deadline)
    outcome = attempts[-1]
    if outcome.status not in (STATUS_OK, STATUS_NODATA):
        return MxPlan(domain, outcome.status, (), attempts, servers, _ms(start))

    records: list[tuple[int, str]] = []
    notes: list[str] = []
    for answer in outcome.answers:
        parsed = parse_mx(answer)
        if parsed is None:
            notes.append(f"malformed MX answer ignored: {answer!r}")
        elif parsed not in records:
            records.append(parsed)
    null_mx = any(target == "." for _, target in records)
    real = sorted((r for r in records if r[1] != "."), key=lambda r: (r[0], r[1]))
    if null_mx and real:
        notes.append("a null MX published next to other MX records (RFC 7505 forbids it)")
    if null_mx and not real:
        return MxPlan(
            domain,
            outcome.status,
            (),
            attempts,
            servers,
            _ms(start),
            null_mx=True,
            notes=tuple(notes),
        )

    implicit = not real
    targets = [(0, domain)] if implicit else real
    remaining = max(0.0, deadline - time.monotonic())
    resolved = await asyncio.gather(
        *(
            resolve_host(host, timeout=remaining, families=families, config=cfg)
            for _, host in targets
        )
    )
    hosts = tuple(
        MxHost(pref, host, res) for (pref, host), res in zip(targets, resolved, strict=True)
    )
    return MxPlan(
        domain,
        outcome.status,
        hosts,
        attempts,
        servers,
        _ms(start),
        null_mx=null_mx,
        implicit=implicit,
        notes=tuple(notes),
    )


def _ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000.0, 1)
