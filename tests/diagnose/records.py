"""Recorded-result builders for the pure diagnosis tests: no sockets, no clocks.

Each builder makes the frozen result objects the probe records, with the fields a rule
reads set explicitly (status, operation, errno, reply, limits), so a table row reads like
the session it stands for.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from smtpdoctor.net.outcome import NetOp
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import (
    CertificateInfo,
    CertProblem,
    CheckResult,
    DnsStatus,
    EndpointResult,
    MxHost,
    MxPlan,
    PartialReply,
    PhaseResult,
    PhaseStatus,
    Requirement,
    ResolveResult,
    TlsInfo,
    TlsMode,
)
from smtpdoctor.probe.timeouts import Timeouts
from smtpdoctor.proto.reply import Reply

OK = PhaseStatus.OK


@dataclass(frozen=True)
class Step:
    """One phase of a recorded session."""

    phase: Phase
    status: PhaseStatus = OK
    ms: float = 5.0
    reply: tuple[int, str] | None = None
    more: tuple[str, ...] = ()  # the further lines of a multi-line reply
    detail: str = ""
    errno: str | None = None
    op: NetOp | None = None
    required_by: Requirement | None = None
    limit_s: float = 30.0
    budget_exhausted: bool = False
    retransmits: int | None = None
    partial: PartialReply | None = None

    def record(self) -> PhaseResult:
        """The PhaseResult the recorder would have made."""
        reply = Reply(self.reply[0], (self.reply[1], *self.more)) if self.reply else None
        return PhaseResult(
            self.phase, self.status, self.ms, reply=reply, detail=self.detail,
            errno_name=self.errno, limit_s=self.limit_s, operation=self.op,
            required_by=self.required_by, budget_exhausted=self.budget_exhausted,
            retransmits=self.retransmits, partial=self.partial,
        )  # fmt: skip


# A whole healthy session up to QUIT, as a check without --send records it.
HEALTHY = (
    Step(Phase.CONNECT),
    Step(Phase.GREETING, reply=(220, "mx.example.net ESMTP")),
    Step(Phase.EHLO, reply=(250, "mx.example.net")),
    Step(Phase.MAIL, reply=(250, "2.1.0 Ok")),
    Step(Phase.RCPT, reply=(250, "2.1.5 Ok")),
    Step(Phase.QUIT, reply=(221, "2.0.0 Bye")),
)


def until(phase: Phase, *last: Step) -> tuple[Step, ...]:
    """The healthy steps before PHASE, then LAST."""
    before = tuple(s for s in HEALTHY if s.phase.order < phase.order)
    return before + last


@dataclass(frozen=True)
class Endpoint:
    """One session: where, how and what happened."""

    address: str = "192.0.2.10"
    port: int = 25
    steps: tuple[Step, ...] = HEALTHY
    host: str = "mx.example.net"
    tls_mode: TlsMode = TlsMode.STARTTLS
    tls: TlsInfo | None = None
    capabilities: tuple[tuple[str, str], ...] = (("PIPELINING", ""),)
    explicit: bool = True
    reference: bool = False
    tls_mode_probe: EndpointResult | None = None
    retry: EndpointResult | None = None
    mss: int | None = None

    def record(self) -> EndpointResult:
        """The EndpointResult the session would have returned."""
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        return EndpointResult(
            host=self.host, address=self.address, family=family, port=self.port,
            tls_mode=self.tls_mode, phases=tuple(s.record() for s in self.steps),
            transcript=(), capabilities=self.capabilities, tls=self.tls, mss=self.mss,
            retry_with_clamped_mss=self.retry, tls_mode_probe=self.tls_mode_probe,
            explicit=self.explicit, reference=self.reference,
        )  # fmt: skip


def tls_info(
    *,
    verified: bool = True,
    error: str | None = None,
    days_left: int = 200,
    problem: CertProblem | None = None,
) -> TlsInfo:
    """A negotiated TLS session with a one-certificate chain."""
    leaf = CertificateInfo(
        subject="CN=mx.example.net", issuer="CN=Example CA", not_before="2026-01-01",
        not_after="2027-01-01", days_left=days_left, names=("mx.example.net",),
    )  # fmt: skip
    return TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", verified, error, (leaf,), None, problem)


@dataclass(frozen=True)
class Check:
    """A whole recorded check."""

    endpoints: tuple[Endpoint, ...] = (Endpoint(),)
    target: str = "mx.example.net"
    ports: tuple[int, ...] = (25,)
    default_ports: bool = False
    credentials_given: bool = False
    mx: MxPlan | None = None
    addresses: tuple[str, ...] = field(default=("192.0.2.10",))

    def record(self) -> CheckResult:
        """The CheckResult the check would have returned."""
        return CheckResult(
            target=self.target, host=self.target, ports=self.ports,
            resolve=ResolveResult(self.target, self.addresses, is_literal=False),
            endpoints=tuple(e.record() for e in self.endpoints), timeouts=Timeouts.quick(),
            budget_s=150.0, started_at="2026-12-01T12:00:00+00:00", elapsed_ms=100.0,
            credentials_given=self.credentials_given, default_ports=self.default_ports,
            mx=self.mx,
        )  # fmt: skip


def mx_plan(domain: str, *hosts: tuple[int, str, tuple[str, ...]]) -> MxPlan:
    """An MX plan whose hosts resolved to the given addresses."""
    return MxPlan(
        domain=domain, status=DnsStatus.OK,
        hosts=tuple(
            MxHost(pref, name, ResolveResult(name, addrs, elapsed_ms=3.0))
            for pref, name, addrs in hosts
        ),
        mx_queries=(), nameservers=("192.0.2.53",), elapsed_ms=5.0,
    )  # fmt: skip
