"""What a probe records: frozen result objects, the input of diagnose/ and report/."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smtpdoctor.net.hops import TraceResult
from smtpdoctor.net.outcome import ErrorKind, NetOp
from smtpdoctor.phases import Phase
from smtpdoctor.probe.timeouts import Timeouts
from smtpdoctor.proto.reply import Reply


class PhaseStatus(StrEnum):
    """How one phase ended."""

    OK = "ok"
    TIMEOUT = "timeout"
    REFUSED = "refused"  # TCP reset in answer to SYN
    HOST_UNREACHABLE = "host_unreachable"  # ICMP unreachable / prohibited
    NETWORK_UNREACHABLE = "network_unreachable"  # no route here
    CLOSED = "closed"  # end of stream or reset mid-session
    TLS_ERROR = "tls_error"  # handshake failed (alert, protocol)
    TEMP_FAIL = "temp_fail"  # 4xx reply
    PERM_FAIL = "perm_fail"  # 5xx reply
    PROTOCOL_ERROR = "protocol_error"  # garbage, over-long lines, unexpected reply
    NOT_OFFERED = "not_offered"  # STARTTLS / AUTH missing from EHLO
    ERROR = "error"  # any other OS error


_FROM_ERROR: dict[ErrorKind, PhaseStatus] = {
    ErrorKind.TIMEOUT: PhaseStatus.TIMEOUT,
    ErrorKind.REFUSED: PhaseStatus.REFUSED,
    ErrorKind.HOST_UNREACHABLE: PhaseStatus.HOST_UNREACHABLE,
    ErrorKind.NETWORK_UNREACHABLE: PhaseStatus.NETWORK_UNREACHABLE,
    ErrorKind.CLOSED: PhaseStatus.CLOSED,
    ErrorKind.TLS_ERROR: PhaseStatus.TLS_ERROR,
    ErrorKind.ERROR: PhaseStatus.ERROR,
}


def status_of(kind: ErrorKind) -> PhaseStatus:
    """The phase status a network error of KIND ends a phase with."""
    return _FROM_ERROR[kind]


class Requirement(StrEnum):
    """Why a capability the server did not offer was needed."""

    OPTION = "option"  # the user asked for it (--starttls require)
    CREDENTIALS = "credentials"  # credentials must not travel in clear text

    @property
    def words(self) -> str:
        """The reason in words, for details and summaries."""
        return _REQUIREMENT_WORDS[self]


_REQUIREMENT_WORDS = {
    Requirement.OPTION: "required by --starttls require",
    Requirement.CREDENTIALS: "required before sending credentials",
}


class Direction(StrEnum):
    """Who wrote a transcript line."""

    CLIENT = "C"
    SERVER = "S"
    NOTE = "*"


@dataclass(frozen=True)
class TranscriptLine:
    """One line of the session as it crossed the wire (AUTH secrets redacted)."""

    at_ms: float
    direction: Direction
    text: str


@dataclass(frozen=True)
class PartialReply:
    """Bytes that came during a phase without ever making a whole reply (a dripping server)."""

    received: int  # bytes read in the phase
    first_ms: float  # when the first of them came, from the start of the phase
    last_ms: float  # when the last came


@dataclass(frozen=True)
class PhaseResult:
    """One phase of one session: how it ended and how long it took."""

    phase: Phase
    status: PhaseStatus
    elapsed_ms: float
    reply: Reply | None = None
    detail: str = ""
    errno_name: str | None = None
    budget_exhausted: bool = False  # the overall budget, not the phase cap, ran out
    limit_s: float | None = None  # the time limit that applied
    operation: NetOp | None = None  # for network errors: what was being done when it struck
    required_by: Requirement | None = None  # for NOT_OFFERED: why it was needed
    retransmits: int | None = None  # connect: SYNs the kernel had to send again (TCP_INFO)
    partial: PartialReply | None = None  # a timeout after some bytes of a reply

    @property
    def ok(self) -> bool:
        """True when the phase succeeded."""
        return self.status is PhaseStatus.OK


@dataclass(frozen=True)
class CertificateInfo:
    """One certificate of the peer's chain."""

    subject: str
    issuer: str
    not_before: str
    not_after: str
    days_left: int
    names: tuple[str, ...]


class CertProblem(StrEnum):
    """Why a certificate did not verify, from OpenSSL's X509_V_ERR_* code."""

    EXPIRED = "expired"  # X509_V_ERR_CERT_HAS_EXPIRED (10)
    NOT_YET_VALID = "not_yet_valid"  # X509_V_ERR_CERT_NOT_YET_VALID (9)
    UNTRUSTED = "untrusted"  # self-signed or a private CA (18, 19, 20, 21)
    WRONG_NAME = "wrong_name"  # X509_V_ERR_HOSTNAME_MISMATCH (62), _IP_ADDRESS_MISMATCH (64)
    OTHER = "other"

    @classmethod
    def from_code(cls, code: int | None) -> CertProblem:
        """The problem an X509_V_ERR_* number names."""
        return _CERT_PROBLEMS.get(code, cls.OTHER) if code is not None else cls.OTHER


_CERT_PROBLEMS = {
    10: CertProblem.EXPIRED,
    9: CertProblem.NOT_YET_VALID,
    18: CertProblem.UNTRUSTED,
    19: CertProblem.UNTRUSTED,
    20: CertProblem.UNTRUSTED,
    21: CertProblem.UNTRUSTED,
    62: CertProblem.WRONG_NAME,
    64: CertProblem.WRONG_NAME,
}


@dataclass(frozen=True)
class TlsInfo:
    """The negotiated TLS session and what verification said."""

    version: str
    cipher: str
    verified: bool
    verify_error: str | None
    chain: tuple[CertificateInfo, ...]
    sni: str | None
    cert_problem: CertProblem | None = None  # set when verification failed


class TlsMode(StrEnum):
    """How TLS is reached on a port."""

    NONE = "none"  # plain SMTP only, never STARTTLS
    STARTTLS = "starttls"  # plain first, STARTTLS when offered
    IMPLICIT = "implicit"  # TLS handshake right after connect (465)


@dataclass(frozen=True)
class EndpointResult:
    """Everything one session against one address and port recorded."""

    host: str
    address: str
    family: int  # socket.AF_INET or AF_INET6
    port: int
    tls_mode: TlsMode
    phases: tuple[PhaseResult, ...]
    transcript: tuple[TranscriptLine, ...]
    capabilities: tuple[tuple[str, str], ...] = ()
    tls: TlsInfo | None = None
    mss: int | None = None  # the clamped MSS, when the session was run with one
    retry_with_clamped_mss: EndpointResult | None = None
    tls_mode_probe: EndpointResult | None = None  # the other TLS mode, tried on a stall
    tls_probe_tried: bool = False  # the session itself tried it (while the greeting was late)
    explicit: bool = True  # the user asked for this port (not one of the defaults)
    reference: bool = False  # a connect-only probe of the --reference host
    notes: tuple[str, ...] = ()

    @property
    def family_name(self) -> str:
        """'IPv4' or 'IPv6'."""
        return "IPv6" if ":" in self.address else "IPv4"

    @property
    def last(self) -> PhaseResult | None:
        """The last phase that ran."""
        return self.phases[-1] if self.phases else None

    @property
    def failed_phase(self) -> PhaseResult | None:
        """The first phase that did not succeed, or None."""
        return next((p for p in self.phases if not p.ok), None)

    def phase(self, phase: Phase) -> PhaseResult | None:
        """The result of one phase, if it ran."""
        return next((p for p in self.phases if p.phase is phase), None)

    @property
    def completed(self) -> bool:
        """True when every phase that ran succeeded."""
        return all(p.ok for p in self.phases)

    @property
    def total_ms(self) -> float:
        """Time from the start of connect to the end of the last phase."""
        return sum(p.elapsed_ms for p in self.phases)

    @property
    def label(self) -> str:
        """'192.0.2.1:25' or '[2001:db8::1]:25'."""
        addr = f"[{self.address}]" if ":" in self.address else self.address
        return f"{addr}:{self.port}"


class DnsStatus(StrEnum):
    """How one DNS question ended."""

    OK = "ok"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NODATA = "nodata"  # the name exists, but not with this type
    TIMEOUT = "timeout"  # no answer in time
    SERVFAIL = "servfail"
    REFUSED = "refused"
    ERROR = "error"  # anything else (a malformed answer, a local error)


@dataclass(frozen=True)
class DnsQuery:
    """One DNS question and its outcome."""

    name: str
    rdtype: str
    status: DnsStatus
    elapsed_ms: float
    answers: tuple[str, ...] = ()
    nameserver: str | None = None
    detail: str = ""
    hosts_file: str | None = None  # answered from this file (/etc/hosts), not by a nameserver


@dataclass(frozen=True)
class ResolveResult:
    """How the target's name became addresses."""

    name: str
    addresses: tuple[str, ...]
    queries: tuple[DnsQuery, ...] = ()
    nameservers: tuple[str, ...] = ()
    elapsed_ms: float = 0.0
    is_literal: bool = False  # the target was an IP address: nothing was resolved


@dataclass(frozen=True)
class MxHost:
    """One mail exchanger: its preference, name and how its name resolved."""

    preference: int
    host: str
    resolve: ResolveResult

    @property
    def addresses(self) -> tuple[str, ...]:
        """The host's addresses (empty when it did not resolve)."""
        return self.resolve.addresses


@dataclass(frozen=True)
class MxPlan:
    """Where mail for DOMAIN goes, in the order an MTA tries it.

    `status` is the outcome of the MX query (ok, nxdomain, nodata, timeout, servfail,
    refused, error). `implicit` means there was no MX and the domain itself is the mail
    host (RFC 5321 section 5.1). `null_mx` means the domain publishes "MX 0 ." and takes
    no mail (RFC 7505).
    """

    domain: str
    status: DnsStatus
    hosts: tuple[MxHost, ...]
    mx_queries: tuple[DnsQuery, ...]
    nameservers: tuple[str, ...]
    elapsed_ms: float
    null_mx: bool = False
    implicit: bool = False
    notes: tuple[str, ...] = ()

    @property
    def addresses(self) -> tuple[tuple[MxHost, str], ...]:
        """Every (host, address) pair in preference order."""
        return tuple((h, a) for h in self.hosts for a in h.addresses)


@dataclass(frozen=True)
class ReferenceHost:
    """The --reference host: a host known to accept port 25, and its addresses."""

    host: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class CheckResult:
    """A whole check: the resolution, every endpoint probed, and the limits used."""

    target: str
    host: str
    ports: tuple[int, ...]
    resolve: ResolveResult
    endpoints: tuple[EndpointResult, ...]
    timeouts: Timeouts  # the limits used, and the profile they came from
    budget_s: float
    started_at: str  # ISO 8601, UTC
    elapsed_ms: float
    credentials_given: bool = False
    send: bool = False
    default_ports: bool = False  # the user named no port: 25, 465 and 587 were tried
    mx: MxPlan | None = None  # set for @domain targets: the MX path that was probed
    traces: tuple[TraceResult, ...] = ()  # --trace: TCP traceroutes of timed-out endpoints
    reference: ReferenceHost | None = None  # --reference: the host compared on port 25

    @property
    def profile(self) -> str:
        """The profile's name as reports show it ('quick', 'rfc+overrides')."""
        return self.timeouts.name
