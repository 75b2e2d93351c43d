"""A whole check: resolve the target, then probe every address and port concurrently."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.net.connection import clamped_mss
from smtpdoctor.net.hops import TraceResult
from smtpdoctor.phases import Phase
from smtpdoctor.probe.dns import resolve_host
from smtpdoctor.probe.results import (
    CheckResult,
    EndpointResult,
    MxPlan,
    PhaseStatus,
    ReferenceHost,
    ResolveResult,
    TlsMode,
)
from smtpdoctor.probe.session import Credentials, ProgressHook, SessionPlan, run_session
from smtpdoctor.probe.timeouts import Budget, Timeouts
from smtpdoctor.target import DEFAULT_PORTS, Target, parse_target, postmaster_domain

IMPLICIT_TLS_PORTS = frozenset({465})
# Phases where a stall, after the greeting passed, can be a path MTU problem: they are
# the first to carry full-size packets (certificates, long replies, the message).
# BODY and EOD are left out on purpose: repeating them would send the message twice.
MTU_SENSITIVE = frozenset({Phase.TLS, Phase.STARTTLS, Phase.EHLO, Phase.AUTH})


@dataclass(frozen=True)
class CheckOptions:
    """Everything a check needs to know; the CLI builds it from arguments."""

    target: str
    ports: tuple[int, ...] = ()
    tls: str = "auto"  # auto | implicit | plain
    starttls: str = "auto"  # auto | require | never
    timeouts: Timeouts = field(default_factory=Timeouts.quick)
    budget_s: float | None = None
    credentials: Credentials | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    send: bool = False
    helo_name: str | None = None
    cafile: Path | None = None
    families: tuple[int, ...] = (socket.AF_INET, socket.AF_INET6)
    reference: str | None = None
    follow_ups: bool = True  # TLS-mode probes, MSS-clamped retries, port-25 comparisons
    trace: bool = False  # TCP traceroute to every address and port whose connect timed out


def _tls_mode(option: str, starttls: str, port: int) -> TlsMode:
    if option == "implicit" or (option == "auto" and port in IMPLICIT_TLS_PORTS):
        return TlsMode.IMPLICIT
    return TlsMode.NONE if starttls == "never" else TlsMode.STARTTLS


def _helo_name() -> str:
    # gethostname, not getfqdn: getfqdn asks DNS, and a slow resolver would then delay
    # every session before its first byte.
    name = socket.gethostname()
    return name if "." in name else "smtpdoctor.localdomain"


def test_message(sender: str, recipients: tuple[str, ...], helo: str) -> bytes:
    """The small dated message `--send` delivers."""
    from email.utils import format_datetime, make_msgid  # only --send needs the email package

    now = datetime.now(UTC)
    lines = [
        f"From: <{sender}>",
        f"To: {', '.join(f'<{r}>' for r in recipients)}",
        f"Subject: smtpdoctor test message {now:%Y-%m-%d %H:%M:%S} UTC",
        f"Date: {format_datetime(now)}",
        f"Message-ID: {make_msgid(domain=helo)}",
        "X-Mailer: smtpdoctor",
        "",
        "This is a test message sent by `smtpdoctor check --send` to measure the DATA,",
        "body and end-of-data phases. It can be deleted.",
        "",
    ]
    return "\r\n".join(lines).encode()


class CheckRunner:
    """Runs one check; a fresh instance per check."""

    def __init__(self, options: CheckOptions, progress: ProgressHook | None = None):
        self.options = options
        self.progress = progress
        self.target: Target = parse_target(options.target)
        budget_s = options.budget_s or options.timeouts.profile.budget_s
        self.budget = Budget(budget_s)
        self.helo_name = options.helo_name or _helo_name()

    def ports(self) -> tuple[int, ...]:
        """The ports to probe: --port, the target's port, or 25, 465 and 587."""
        if self.options.ports:
            named = (self.target.port,) if self.target.port is not None else ()
            return tuple(dict.fromkeys(named + self.options.ports))
        if self.target.port is not None:
            return (self.target.port,)
        if self.target.is_mx:
            return (25,)  # MTA to MTA: the MX path is port 25
        return DEFAULT_PORTS

    async def run(self) -> CheckResult:
        """Resolve, probe everything concurrently, return the record."""
        started_at = datetime.now(UTC)
        start = time.monotonic()
        opts = self.options
        host = self.target.host
        ports = self.ports()
        mx: MxPlan | None = None
        if self.target.is_mx:
            mx = await self._resolve_mx(host)
            resolve = _mx_resolution(mx)
            pairs = [(mx_host.host, address) for mx_host, address in mx.addresses]
        else:
            resolve = await self._resolve(host)
            pairs = [(host, address) for address in resolve.addresses]
        plans = [self._plan(name, address, port) for name, address in pairs for port in ports]
        for name, address in pairs:
            plans += self._comparison_plans(name, (address,), ports)
        reference = await self._resolve(opts.reference) if opts.reference else None
        if reference is not None:
            if not reference.addresses:
                raise UsageError(
                    f"--reference {opts.reference}: the name did not resolve, so it cannot "
                    "serve as a reference"
                )
            plans += [
                replace(self._connect_only(opts.reference or "", address, 25), reference=True)
                for address in reference.addresses
            ]
        endpoints = await asyncio.gather(*(self._probe(plan) for plan in plans))
        traces = await self._traces(endpoints) if opts.trace else ()
        return CheckResult(
            target=opts.target,
            host=host,
            ports=ports,
            resolve=resolve,
            endpoints=tuple(endpoints),
            timeouts=opts.timeouts,
            budget_s=self.budget.total_s,
            started_at=started_at.isoformat(timespec="seconds"),
            elapsed_ms=round((time.monotonic() - start) * 1000, 1),
            credentials_given=opts.credentials is not None,
            default_ports=not opts.ports and self.target.port is None,
            send=opts.send,
            reference=(
                ReferenceHost(opts.reference or "", reference.addresses)
                if reference is not None
                else None
            ),
            mx=mx,
            traces=traces,
        )

    async def _traces(self, endpoints: list[EndpointResult]) -> tuple[TraceResult, ...]:
        """Trace every explicit endpoint whose connect timed out or was rejected by ICMP."""
        wanted = dict.fromkeys(
            (ep.address, ep.port)
            for ep in endpoints
            if ep.explicit
            and ep.failed_phase is not None
            and ep.failed_phase.phase is Phase.CONNECT
            and ep.failed_phase.status in (PhaseStatus.TIMEOUT, PhaseStatus.HOST_UNREACHABLE)
        )
        if not wanted or self.budget.remaining() < 2:
            return ()
        probe_timeout = min(1.0, self.budget.remaining() / 10)
        from smtpdoctor.net.trace import trace  # only --trace runs a traceroute

        return tuple(
            await asyncio.gather(
                *(trace(address, port, probe_timeout=probe_timeout) for address, port in wanted)
            )
        )

    async def _resolve_mx(self, domain: str) -> MxPlan:
        from smtpdoctor.probe.mx import resolve_mx  # only an @domain target has an MX path

        limit, _ = self.budget.cap(self.options.timeouts[Phase.RESOLVE])
        return await resolve_mx(domain, timeout=limit, families=self.options.families)

    async def _resolve(self, host: str) -> ResolveResult:
        limit, _ = self.budget.cap(self.options.timeouts[Phase.RESOLVE])
        return await resolve_host(host, timeout=limit, families=self.options.families)

    def _plan(self, host: str, address: str, port: int) -> SessionPlan:
        opts = self.options
        helo = self.helo_name
        recipients = opts.recipients or (self._default_recipient(host),)
        sender = opts.sender or ""
        message = (
            test_message(sender or f"smtpdoctor@{helo}", recipients, helo) if opts.send else None
        )
        return SessionPlan(
            host=host,
            address=address,
            port=port,
            tls_mode=_tls_mode(opts.tls, opts.starttls, port),
            timeouts=opts.timeouts,
            starttls=opts.starttls,
            helo_name=helo,
            sender=sender,
            recipients=recipients,
            send=opts.send,
            message=message,
            credentials=opts.credentials,
            cafile=opts.cafile,
            sni=host,
        )

    def _default_recipient(self, host: str) -> str:
        if self.target.is_mx:
            return self.target.mailbox or f"postmaster@{self.target.host}"
        return f"postmaster@{postmaster_domain(host)}"

    def _connect_only(self, host: str, address: str, port: int) -> SessionPlan:
        return replace(
            self._plan(host, address, port),
            explicit=False,
            stop_after=Phase.CONNECT,
            detect_implicit_tls=False,
        )

    def _comparison_plans(
        self, host: str, addresses: tuple[str, ...], ports: tuple[int, ...]
    ) -> list[SessionPlan]:
        """Connect-only probes of 587 and 465 when only port 25 was asked for.

        They run at the same time as the real probes, so telling an outbound port-25
        block from a dead host costs no extra wait.
        """
        if not self.options.follow_ups or 25 not in ports:
            return []
        others = [p for p in (587, 465) if p not in ports]
        return [self._connect_only(host, a, p) for a in addresses for p in others]

    async def _probe(self, plan: SessionPlan) -> EndpointResult:
        result = await run_session(plan, self.budget, self.progress)
        if not self.options.follow_ups or not plan.explicit:
            return result
        mode_probe, clamped = await asyncio.gather(
            self._tls_mode_probe(plan, result), self._clamped_retry(plan, result)
        )
        return replace(result, tls_mode_probe=mode_probe, retry_with_clamped_mss=clamped)

    async def _tls_mode_probe(
        self, plan: SessionPlan, result: EndpointResult
    ) -> EndpointResult | None:
        """On a TLS failure or a greeting timeout, try the other way of starting TLS."""
        failed = result.failed_phase
        if result.tls_probe_tried:
            return result.tls_mode_probe
        if failed is None or failed.budget_exhausted:
            return None
        # The other way of starting TLS answers at once when the port speaks it: the
        # probe gets no longer than the phase that failed had (a silent server then
        # costs that limit twice at most, never a longer limit on top).
        if plan.tls_mode is TlsMode.IMPLICIT and failed.phase is Phase.TLS:
            mode, stop, capped, limit = TlsMode.STARTTLS, Phase.GREETING, Phase.GREETING, Phase.TLS
        elif (
            failed.phase is Phase.GREETING
            and failed.status is PhaseStatus.TIMEOUT
            and plan.tls_mode is not TlsMode.IMPLICIT
        ):
            mode, stop, capped, limit = TlsMode.IMPLICIT, Phase.TLS, Phase.TLS, Phase.GREETING
        else:
            return None
        timeouts = plan.timeouts
        short = timeouts.with_limit(capped, min(timeouts[capped], timeouts[limit]))
        other = replace(
            plan,
            tls_mode=mode,
            stop_after=stop,
            verify=False,
            detect_implicit_tls=False,
            timeouts=short,
        )
        return await run_session(replace(other, explicit=False), self.budget)

    async def _clamped_retry(
        self, plan: SessionPlan, result: EndpointResult
    ) -> EndpointResult | None:
        """Repeat a session that stalled where packets get large, with the MSS clamped."""
        failed = result.failed_phase
        if (
            failed is None
            or failed.status is not PhaseStatus.TIMEOUT
            or failed.budget_exhausted
            or failed.phase not in MTU_SENSITIVE
            or plan.mss is not None
            or ipaddress.ip_address(plan.address).is_loopback  # no MTU on loopback paths
        ):
            return None
        clamped = replace(
            plan,
            mss=clamped_mss(plan.address),
            explicit=False,
            stop_after=failed.phase,
            detect_implicit_tls=False,
        )
        return await run_session(clamped, self.budget)


def _mx_resolution(mx: MxPlan) -> ResolveResult:
    """The MX path as one ResolveResult: every MX host's addresses, every query made."""
    queries = list(mx.mx_queries)
    for mx_host in mx.hosts:
        queries.extend(mx_host.resolve.queries)
    return ResolveResult(
        name=mx.domain,
        addresses=tuple(dict.fromkeys(address for _, address in mx.addresses)),
        queries=tuple(queries),
        nameservers=mx.nameservers,
        elapsed_ms=mx.elapsed_ms,
    )


async def run_check(options: CheckOptions, progress: ProgressHook | None = None) -> CheckResult:
    """Run a check (in a running event loop)."""
    return await CheckRunner(options, progress).run()


def run_check_sync(options: CheckOptions, progress: ProgressHook | None = None) -> CheckResult:
    """Run a check from synchronous code."""
    return asyncio.run(run_check(options, progress))
