"""Rules for one endpoint: the phase that stopped a session, and what slowed it. No IO."""

from __future__ import annotations

import ipaddress
import re

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.cause import Finding, Severity, make_cause
from smtpdoctor.diagnose.reply import ReplyCause, quote, reply_cause
from smtpdoctor.diagnose.slow import SlowLimits
from smtpdoctor.net.outcome import NetOp
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import (
    CertificateInfo,
    CertProblem,
    CheckResult,
    EndpointResult,
    PartialReply,
    PhaseResult,
    PhaseStatus,
    TlsMode,
)
from smtpdoctor.proto.reply import Reply

CERT_EXPIRY_WARNING_DAYS = 21
SUBMISSION_PORTS = frozenset({465, 587})

_SAYS_GREYLIST = re.compile(r"gr[ea]y ?list|postgrey|sqlgrey", re.IGNORECASE)
_STARTTLS_REQUIRED = re.compile(r"starttls", re.IGNORECASE)
_AUTH_REQUIRED = re.compile(r"auth\w* (is )?required|must (first )?auth", re.IGNORECASE)
# Replies to AUTH that refuse the credentials themselves (RFC 4954: 535 bad credentials,
# 534 mechanism too weak, 538 encryption required; 530 authentication required).
_AUTH_REFUSED = frozenset({530, 534, 535, 538})


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def _where(ep: EndpointResult) -> str:
    return f"{ep.host} {ep.label}" if ep.host != ep.address else ep.label


def _reply_text(phase: PhaseResult) -> str:
    return str(phase.reply) if phase.reply is not None else ""


def _evidence(ep: EndpointResult, phase: PhaseResult) -> list[str]:
    lines = [
        f"{_where(ep)} ({ep.family_name}), phase {phase.phase.value}: {phase.status.value} "
        f"after {_ms(phase.elapsed_ms)}"
        + (f" (limit {phase.limit_s:g} s)" if phase.limit_s is not None else "")
    ]
    if phase.reply is not None:
        lines.append(f"server replied: {_reply_text(phase)}")
    if phase.detail:
        lines.append(phase.detail)
    if phase.errno_name:
        lines.append(f"errno: {phase.errno_name}")
    return lines


class EndpointRules:
    """The rules for one endpoint; collects causes in `found`."""

    def __init__(
        self,
        result: CheckResult,
        ep: EndpointResult,
        passing_ports: set[int],
        slow: SlowLimits | None = None,
    ):
        self.result = result
        self.ep = ep
        self.passing_ports = passing_ports
        self.slow = slow or SlowLimits()
        self.found: list[Finding] = []

    def add(
        self,
        code: CauseCode,
        severity: Severity,
        summary: str,
        phase: PhaseResult | None,
        extra_evidence: list[str] | None = None,
        fix: list[str] | None = None,
        not_about: tuple[str, ...] = (),
    ) -> None:
        ep = self.ep
        evidence = _evidence(ep, phase) if phase is not None else []
        evidence += extra_evidence or []
        self.found.append(
            make_cause(
                code,
                severity,
                summary,
                evidence,
                phase=phase.phase if phase is not None else None,
                address=ep.address,
                port=ep.port,
                host=ep.host,
                specific_fix=fix or [],
                not_about=not_about,
            )
        )

    def run(self) -> list[Finding]:
        ep = self.ep
        failed = ep.failed_phase
        self._connect_speed()
        self._greeting_speed()
        self._reply_speed()
        self._tls_quality()
        self._starttls_absent()
        for phase in ep.phases:
            if phase.phase is Phase.RCPT and not phase.ok and phase is not failed:
                self._reply_cause(phase)  # a refused recipient among accepted ones
        if failed is not None:
            self._failure(failed)
        return self.found

    # -- what does not stop the session ------------------------------------------

    def _is_slow(self, phase: PhaseResult | None) -> bool:
        if phase is None or not phase.ok:
            return False
        limit = self.slow.limit_ms(phase.phase)
        return limit is not None and phase.elapsed_ms > limit

    def _connect_speed(self) -> None:
        connect = self.ep.phase(Phase.CONNECT)
        if connect is None or not self._is_slow(connect):
            return
        seconds = connect.elapsed_ms / 1000
        sent = connect.retransmits
        if sent:
            how = (
                f"the kernel had to send the SYN {sent + 1} times (TCP_INFO counts {sent} "
                "retransmission(s))"
            )
        elif sent == 0:
            how = "no SYN was retransmitted, so the server or a middlebox answered late"
        else:
            how = "a connect time of about 1 s or 3 s is a retransmitted SYN"
        lost = "packets are lost on the path" if sent else "the path or the server is slow"
        self.add(
            CauseCode.CONNECT_SLOW,
            Severity.WARNING,
            f"Connecting to {_where(self.ep)} took {seconds:.1f} s: {how}; {lost}. "
            f"Clients with a connect timeout under {seconds:.0f} s fail.",
            connect,
            [
                "Linux sends an unanswered SYN again after 1 s, then after 3 s and 7 s: "
                "a handshake that takes about 1 s or 3 s lost a packet"
            ],
        )

    def _reply_speed(self) -> None:
        for phase in self.ep.phases:
            if phase.phase in (Phase.CONNECT, Phase.GREETING) or not self._is_slow(phase):
                continue
            seconds = phase.elapsed_ms / 1000
            limit = self.slow.seconds[phase.phase]
            clients = "; ".join(_reply_fate(seconds, client) for client in (10, 30))
            what = (
                "to complete the TLS handshake"
                if phase.phase is Phase.TLS
                else f"to answer {_phase_words(phase.phase)}"
            )
            self.add(
                CauseCode.REPLY_SLOW,
                Severity.WARNING,
                f"{_where(self.ep)} took {seconds:.1f} s {what} (slow above {limit:g} s): "
                f"{clients}.",
                phase,
            )

    def _greeting_speed(self) -> None:
        greeting = self.ep.phase(Phase.GREETING)
        if not self._is_slow(greeting):
            return
        assert greeting is not None
        seconds = greeting.elapsed_ms / 1000
        clients = "; ".join(_greeting_fate(seconds, limit) for limit in (10, 30))
        self.add(
            CauseCode.GREETING_SLOW,
            Severity.WARNING,
            f"{_where(self.ep)} took {seconds:.1f} s to send its greeting: {clients}.",
            greeting,
        )

    def _tls_quality(self) -> None:
        tls = self.ep.tls
        if tls is None:
            return
        phase = self.ep.phase(Phase.TLS) or self.ep.phase(Phase.STARTTLS)
        submission = self.ep.port in SUBMISSION_PORTS
        if not tls.verified:
            leaf = tls.chain[0] if tls.chain else None
            who = (
                f" (subject {leaf.subject}, issuer {leaf.issuer}, valid until {leaf.not_after})"
                if leaf
                else ""
            )
            consequence = (
                "submission clients refuse to send through it"
                if submission
                else "MTAs that verify (DANE, MTA-STS, smtp_tls_security_level = verify) "
                "refuse it; opportunistic TLS still works"
            )
            fix, not_about = _cert_fixes(tls.cert_problem, self.ep.host, leaf)
            self.add(
                CauseCode.TLS_CERT_INVALID,
                Severity.ERROR if submission else Severity.WARNING,
                f"The certificate of {_where(self.ep)} does not verify: {tls.verify_error}; "
                f"{consequence}.",
                phase,
                [f"certificate{who}"],
                fix=fix,
                not_about=not_about,
            )
            return
        if tls.chain and tls.chain[0].days_left < CERT_EXPIRY_WARNING_DAYS:
            leaf = tls.chain[0]
            self.add(
                CauseCode.TLS_CERT_EXPIRING,
                Severity.WARNING,
                f"The certificate of {_where(self.ep)} expires in {leaf.days_left} days, on "
                f"{leaf.not_after}: renew it before then.",
                phase,
                [f"certificate subject {leaf.subject}, issuer {leaf.issuer}"],
            )

    def _starttls_absent(self) -> None:
        ep = self.ep
        ehlo = ep.phase(Phase.EHLO)
        caps = dict(ep.capabilities)
        if (
            ep.tls_mode is not TlsMode.STARTTLS
            or ep.tls is not None
            or ehlo is None
            or not ehlo.ok
            or "STARTTLS" in caps
            or ep.phase(Phase.STARTTLS) is not None
        ):
            return
        # Not a cause of timeouts, and STARTTLS was not required: worth knowing only.
        self.add(
            CauseCode.STARTTLS_MISSING,
            Severity.INFO,
            f"{_where(ep)} does not offer STARTTLS: mail to it travels unencrypted, and "
            "clients that require TLS cannot send.",
            ehlo,
            [f"EHLO capabilities: {', '.join(caps) or 'none'}"],
        )

    # -- the phase that stopped the session ----------------------------------------

    def _failure(self, phase: PhaseResult) -> None:
        handlers = {
            PhaseStatus.TIMEOUT: self._timeout,
            PhaseStatus.REFUSED: self._refused,
            PhaseStatus.HOST_UNREACHABLE: self._unreachable,
            PhaseStatus.NETWORK_UNREACHABLE: self._unreachable,
            PhaseStatus.CLOSED: self._closed,
            PhaseStatus.TLS_ERROR: self._tls_error,
            PhaseStatus.TEMP_FAIL: self._reply_cause,
            PhaseStatus.PERM_FAIL: self._reply_cause,
            PhaseStatus.PROTOCOL_ERROR: self._protocol,
            PhaseStatus.NOT_OFFERED: self._not_offered,
            PhaseStatus.ERROR: self._os_error,
        }
        handlers[phase.status](phase)

    def _timeout(self, phase: PhaseResult) -> None:
        ep = self.ep
        where = _where(ep)
        budget = " (the overall budget ran out first)" if phase.budget_exhausted else ""
        limit = f"{phase.limit_s:g} s" if phase.limit_s is not None else "its limit"
        match phase.phase:
            case Phase.CONNECT if _is_loopback(ep.address):
                self._loopback_connect_timeout(phase, limit, budget)
            case Phase.CONNECT:
                self.add(
                    CauseCode.CONNECT_TIMEOUT,
                    Severity.ERROR,
                    f"Connecting to {where} got no answer within {limit}{budget}: the SYN is "
                    "silently dropped by a firewall, or the host is down.",
                    phase,
                    fix=[f"Find where the packets stop: `smtpdoctor trace {ep.label}`."],
                )
            case Phase.GREETING:
                if self._speaks_implicit_tls():
                    self.add(
                        CauseCode.TLS_MODE_MISMATCH,
                        Severity.ERROR,
                        f"Port {ep.port} of {ep.host} speaks implicit TLS (a TLS handshake "
                        "first, like 465), but was spoken to as plain SMTP/STARTTLS: use "
                        f"implicit TLS ('SSL/TLS', `--tls implicit`) on port {ep.port}.",
                        phase,
                        ["a TLS handshake on the same port succeeded"],
                    )
                    return
                if phase.partial is not None:
                    summary = (
                        f"{where} began its greeting but did not finish it within {limit}"
                        f"{budget}: {_dripped(phase.partial)}"
                    )
                else:
                    summary = (
                        f"{where} accepted the connection but sent no greeting within {limit}"
                        f"{budget}: the server is overloaded, stuck on DNS lookups, a tarpit, "
                        "or a proxy that cannot reach its backend."
                    )
                self.add(CauseCode.GREETING_TIMEOUT, Severity.ERROR, summary, phase)
            case Phase.TLS | Phase.STARTTLS if (
                phase.phase is Phase.TLS or phase.operation is NetOp.TLS_HANDSHAKE
            ):
                if phase.phase is Phase.TLS and self._speaks_plain():
                    self._plain_on_implicit(phase)
                    return
                loopback = _is_loopback(ep.address)
                self.add(
                    CauseCode.TLS_HANDSHAKE_TIMEOUT,
                    Severity.ERROR,
                    f"The TLS handshake with {where} did not finish within {limit}{budget}.",
                    phase,
                    fix=[_LOOPBACK_TLS_STALL] if loopback else None,
                    not_about=("path MTU",) if loopback else (),
                )
            case Phase.DATA | Phase.BODY | Phase.EOD:
                twice = (
                    " The message may have been accepted: a client that gives up here retries, "
                    "so it may be delivered twice."
                    if phase.phase is Phase.EOD
                    else ""
                )
                self.add(
                    CauseCode.DATA_TIMEOUT,
                    Severity.ERROR,
                    f"{where} did not answer {_phase_words(phase.phase)} within {limit}{budget}."
                    + twice,
                    phase,
                )
            case _:
                self.add(
                    CauseCode.COMMAND_TIMEOUT,
                    Severity.INFO if phase.phase is Phase.QUIT else Severity.ERROR,
                    f"{where} did not answer {_phase_words(phase.phase)} within {limit}{budget}.",
                    phase,
                )

    def _speaks_implicit_tls(self) -> bool:
        other = self.ep.tls_mode_probe
        if other is None or other.tls_mode is not TlsMode.IMPLICIT:
            return False
        tls_phase = other.phase(Phase.TLS)
        return tls_phase is not None and tls_phase.ok

    def _speaks_plain(self) -> bool:
        other = self.ep.tls_mode_probe
        if other is None or other.tls_mode is TlsMode.IMPLICIT:
            return False
        greeting = other.phase(Phase.GREETING)
        return greeting is not None and greeting.reply is not None and greeting.reply.code == 220

    def _plain_on_implicit(self, phase: PhaseResult) -> None:
        ep = self.ep
        greeting = ep.tls_mode_probe.phase(Phase.GREETING) if ep.tls_mode_probe else None
        said = f" (it greets with: {greeting.reply})" if greeting and greeting.reply else ""
        self.add(
            CauseCode.TLS_MODE_MISMATCH,
            Severity.ERROR,
            f"Port {ep.port} of {ep.host} speaks plain SMTP first{said}, but was spoken to "
            "with implicit TLS: use STARTTLS ('STARTTLS', `--tls plain`) on this port, "
            "and implicit TLS only on 465.",
            phase,
            ["a plain SMTP connection to the same port got a 220 greeting"],
        )

    def _loopback_connect_timeout(self, phase: PhaseResult, limit: str, budget: str) -> None:
        """No router and no down host on loopback: the listener's queue is full, or a rule."""
        ep = self.ep
        self.add(
            CauseCode.CONNECT_TIMEOUT,
            Severity.ERROR,
            f"Connecting to {_where(ep)} got no answer within {limit}{budget}. On loopback no "
            "router drops packets and the host is up: something listens on the port but does "
            "not accept connections (its accept queue is full: overloaded or stuck), or a "
            "firewall rule on lo drops them.",
            phase,
            fix=[
                f"`ss -ltn 'sport = :{ep.port}'`: a Recv-Q at the Send-Q (backlog) means the "
                "accept queue is full; `nstat -az TcpExtListenOverflows` counts the SYNs "
                "dropped for it. Then look at the server process (`ss -ltnp`, its logs, its "
                "load).",
                "`nft list ruleset` and `iptables -S INPUT` show a rule that drops on lo.",
            ],
            not_about=("Ask whoever runs the server", "smtpdoctor trace", "List the local"),
        )

    def _refused(self, phase: PhaseResult) -> None:
        ep = self.ep
        quiet = self.result.default_ports and bool(self.passing_ports - {ep.port})
        summary = (
            f"Nothing accepts connections on {_where(ep)}: the connection was refused (TCP reset)."
        )
        fix: list[str] = []
        if quiet:
            summary = (
                f"Port {ep.port} is closed on {_where(ep)} (connection refused); the other "
                "ports work, so this matters only to clients configured for this port."
            )
        elif ep.address == "::1" and not self._probed_ipv4_loopback():
            summary = (
                f"Nothing listens on {ep.label} (connection refused at once). Only IPv6 "
                "loopback was checked: a server listening on 127.0.0.1 alone (Postfix with "
                "inet_protocols = ipv4) refuses ::1 and still serves IPv4."
            )
            fix = [
                f"Check IPv4 loopback too: `smtpdoctor check 127.0.0.1:{ep.port}`; "
                "`ss -ltnp` lists what listens on which address.",
            ]
        elif _is_loopback(ep.address) and not self.passing_ports:
            ports = ", ".join(str(p) for p in self.result.ports)
            summary = (
                f"No mail server is running on this machine: nothing listens on "
                f"{ep.host} port(s) {ports} (connection refused at once)."
            )
            fix = [
                "Install and start an MTA (Debian: `apt-get install postfix`, then "
                "`systemctl enable --now postfix`), or check the host your mail really "
                "goes through: `smtpdoctor check YOUR-RELAY:587`.",
                "`ss -ltnp | grep -E ':(25|465|587)\\b'` lists what listens here.",
            ]
        self.add(
            CauseCode.CONNECT_REFUSED,
            Severity.INFO if quiet else Severity.ERROR,
            summary,
            phase,
            fix=fix,
        )

    def _probed_ipv4_loopback(self) -> bool:
        return any(
            e.explicit and e.family_name == "IPv4" and _is_loopback(e.address)
            for e in self.result.endpoints
        )

    def _unreachable(self, phase: PhaseResult) -> None:
        ep = self.ep
        if phase.status is PhaseStatus.NETWORK_UNREACHABLE:
            family = ep.family_name
            self.add(
                CauseCode.NETWORK_UNREACHABLE,
                Severity.ERROR,
                f"This machine has no route to {ep.address} ({family}): connect failed at "
                f"once with '{phase.detail}'.",
                phase,
                fix=[f"`ip route get {ep.address}` shows what the kernel would do."],
            )
            return
        why = (
            "administratively prohibited: a firewall on the way rejects it"
            if phase.errno_name == "EACCES"
            else "host unreachable or administratively prohibited"
        )
        self.add(
            CauseCode.HOST_UNREACHABLE,
            Severity.ERROR,
            f"{_where(ep)} is unreachable: an ICMP error came back ({why}).",
            phase,
        )

    def _os_error(self, phase: PhaseResult) -> None:
        ep = self.ep
        if phase.phase is Phase.CONNECT and phase.errno_name == "EPERM":
            code = CauseCode.PORT25_BLOCKED if ep.port == 25 else CauseCode.HOST_UNREACHABLE
            self.add(
                code,
                Severity.ERROR,
                f"This machine's own firewall blocks connections to {_where(ep)} "
                f"({phase.errno_name}: the packet never left).",
                phase,
                fix=["`nft list ruleset` and `iptables -S OUTPUT` show the rule that blocks it."],
            )
            return
        self.add(
            CauseCode.CONNECTION_DROPPED,
            Severity.ERROR,
            f"{_where(ep)}: {phase.detail or 'network error'} during {phase.phase.value}.",
            phase,
        )

    def _closed(self, phase: PhaseResult) -> None:
        ep = self.ep
        if phase.phase is Phase.TLS and self._speaks_plain():
            self._plain_on_implicit(phase)
            return
        if phase.phase in (Phase.TLS, Phase.STARTTLS):
            self.add(
                CauseCode.TLS_FAILED,
                Severity.ERROR,
                f"{_where(ep)} closed the connection during the TLS handshake.",
                phase,
            )
            return
        self.add(
            CauseCode.CONNECTION_DROPPED,
            Severity.INFO if phase.phase is Phase.QUIT else Severity.ERROR,
            f"{_where(ep)} closed the connection during {_phase_words(phase.phase)}.",
            phase,
        )

    def _tls_error(self, phase: PhaseResult) -> None:
        if phase.phase is Phase.TLS and self._speaks_plain():
            self._plain_on_implicit(phase)
            return
        if phase.operation in (NetOp.READ, NetOp.WRITE):
            # The handshake had passed: the TLS session broke in the middle of a command.
            self.add(
                CauseCode.CONNECTION_DROPPED,
                Severity.INFO if phase.phase is Phase.QUIT else Severity.ERROR,
                f"The TLS session with {_where(self.ep)} broke during "
                f"{_phase_words(phase.phase)}: {phase.detail}.",
                phase,
            )
            return
        self.add(
            CauseCode.TLS_FAILED,
            Severity.ERROR,
            f"The TLS handshake with {_where(self.ep)} failed: {phase.detail}.",
            phase,
        )

    def _protocol(self, phase: PhaseResult) -> None:
        self.add(
            CauseCode.PROTOCOL_VIOLATION,
            Severity.ERROR,
            f"{_where(self.ep)} sent something that is not SMTP during "
            f"{_phase_words(phase.phase)}: {phase.detail}.",
            phase,
        )

    def _not_offered(self, phase: PhaseResult) -> None:
        ep = self.ep
        caps = dict(ep.capabilities)
        shown = [f"EHLO capabilities: {', '.join(caps) or 'none'}"]
        if phase.phase is Phase.STARTTLS:
            self.add(
                CauseCode.STARTTLS_MISSING,
                Severity.ERROR,
                f"{_where(ep)} does not offer STARTTLS, which is {_why_required(phase)}.",
                phase,
                shown,
            )
            return
        hint = ""
        if ep.tls is None and "STARTTLS" in caps:
            hint = (
                " The server offers STARTTLS: many servers offer AUTH only after it, so "
                "use STARTTLS before AUTH."
            )
        self.add(
            CauseCode.AUTH_UNAVAILABLE,
            Severity.ERROR,
            f"{_where(ep)} does not offer the AUTH mechanism needed: {phase.detail}.{hint}",
            phase,
            shown,
        )

    def _reply_cause(self, phase: PhaseResult) -> None:
        """A reply that refused a command: AUTH and STARTTLS keep their own rules, the
        rest is named by the one reply classifier (smtpdoctor.replies)."""
        ep = self.ep
        reply = phase.reply
        if reply is None:
            return
        where = _where(ep)
        text = reply.text
        if phase.phase is Phase.AUTH and reply.code in _AUTH_REFUSED:
            self.add(
                CauseCode.AUTH_FAILED,
                Severity.ERROR,
                f"{where} refused the credentials ({phase.detail}): {reply.code} {quote(reply)}",
                phase,
            )
            return
        if phase.phase is Phase.STARTTLS and reply.code != 421:
            self.add(
                CauseCode.TLS_FAILED,
                Severity.ERROR,
                f"{where} refused STARTTLS: {reply.code} {quote(reply)}",
                phase,
            )
            return
        if (
            phase.phase in (Phase.MAIL, Phase.RCPT)
            and reply.code in (530, 550, 554)
            and _AUTH_REQUIRED.search(text)
            and not self.result.credentials_given
        ):
            self.add(
                CauseCode.AUTH_UNAVAILABLE,
                Severity.INFO,
                f"{where} requires AUTH before {phase.phase.value.upper()} (normal for "
                "submission); give --user and --password-file to test authentication.",
                phase,
            )
            return
        cause = reply_cause(
            reply, phase.phase, ep.port, authenticated=self.result.credentials_given
        )
        fix = list(cause.fixes)
        hint = ""
        if (
            cause.code is CauseCode.REJECTED
            and reply.code == 530
            and _STARTTLS_REQUIRED.search(text)
            and ep.tls is None
            and "STARTTLS" in dict(ep.capabilities)
        ):
            hint = (
                " The server offers STARTTLS and requires it first; this check did not use "
                "it (--starttls never)."
            )
            fix.insert(0, "Use STARTTLS: drop `--starttls never` (clients: choose 'STARTTLS').")
        self.add(
            cause.code,
            cause.severity,
            _reply_summary(where, phase.phase, reply, cause) + hint,
            phase,
            fix=fix,
            not_about=cause.not_about,
        )


def _reply_summary(where: str, phase: Phase, reply: Reply, cause: ReplyCause) -> str:
    """What the server said and what it means; the wording of the causes check named
    before the classifier (greylisted, server_busy, rejected) is kept."""
    said, code, words = quote(reply), reply.code, _phase_words(phase)
    match cause.code:
        case CauseCode.GREYLISTED:
            return f"{where} answered {code} to {words}: '{said}'. {_greylist_outlook(reply.text)}"
        case CauseCode.SERVER_BUSY if code in (421, 554, 450, 451):
            return f"{where} refused service with {code} during {words}: {said}"
        case CauseCode.SERVER_BUSY:
            return f"{where} greeted with {code} instead of 220: {said}"
        case CauseCode.REJECTED if reply.is_transient:
            return f"{where} refused {words} for now ({code}): {said}"
        case CauseCode.REJECTED:
            return f"{where} rejected {words} ({code}): {said}"
    how = (
        f"greeted with {code} instead of 220"
        if phase is Phase.GREETING
        else (f"answered {code} to {words}")
    )
    return f"{where} {how}: '{said}'. {cause.meaning}."


def _greylist_outlook(text: str) -> str:
    if _SAYS_GREYLIST.search(text):
        return "A retry after the greylisting period (often 5 to 30 minutes) will be accepted."
    # The classic bare "try again later": policy deferrals (Postfix `defer`, rate limits)
    # look the same on the wire; only greylisting promises that a retry passes.
    return (
        "That is greylisting or a policy deferral (a restriction, a rate limit): a retry "
        "may or may not pass; the reply text says which."
    )


def _is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


def _greeting_fate(seconds: float, client_limit: int) -> str:
    """What a client with a CLIENT_LIMIT-second greeting timeout does with this server."""
    if seconds >= client_limit:
        return f"clients with a {client_limit} s greeting timeout give up before it arrives"
    spare = client_limit - seconds
    return (
        f"clients with a {client_limit} s greeting timeout get through with only "
        f"{spare:.1f} s to spare"
    )


_RENEWAL = ("certbot renew",)
_LOOPBACK_TLS_STALL = (
    "The path is loopback, where no MTU problem exists: the server itself stalls in the "
    "handshake (its key or certificate files, entropy, or a TLS proxy in front of it that "
    "cannot reach its backend)."
)


def _cert_fixes(
    problem: CertProblem | None, host: str, leaf: CertificateInfo | None
) -> tuple[list[str], tuple[str, ...]]:
    """The fixes an unverifiable certificate needs, and the catalogue lines it rules out."""
    if problem is CertProblem.UNTRUSTED:
        return [
            "The certificate is self-signed or issued by a private CA: install one from a "
            "public CA (Let's Encrypt: `certbot certonly`, then point smtpd_tls_cert_file "
            "and smtpd_tls_key_file at it), or give the clients that must trust it the CA "
            "(`smtpdoctor check --cafile FILE`; Postfix: `smtp_tls_CAfile`).",
        ], (*_RENEWAL, "names include")
    if problem is CertProblem.WRONG_NAME:
        names = ", ".join(leaf.names) if leaf is not None and leaf.names else "none"
        return [
            f"The certificate names {names}, not {host}: use one whose names include {host} "
            "(or connect by a name the certificate carries).",
        ], (*_RENEWAL, "names include")
    if problem is CertProblem.NOT_YET_VALID:
        return ["The certificate is not valid yet: check the server's clock (`timedatectl`)."], (
            *_RENEWAL,
            "names include",
        )
    return [], ()


def _dripped(partial: PartialReply) -> str:
    """What a reply that came a few bytes at a time and never ended looks like."""
    first, last = partial.first_ms / 1000, partial.last_ms / 1000
    return (
        f"only {partial.received} byte(s) came, the first after {first:.1f} s and the last "
        f"after {last:.1f} s, and the line never ended. A server (or a tarpit) dripping its "
        "reply a byte at a time: clients time out before the line is complete."
    )


def _reply_fate(seconds: float, client_limit: int) -> str:
    """What a client with a CLIENT_LIMIT-second command timeout does with this reply."""
    if seconds >= client_limit:
        return f"clients with a {client_limit} s timeout give up before it arrives"
    spare = client_limit - seconds
    return f"clients with a {client_limit} s timeout get it with {spare:.1f} s to spare"


def _why_required(phase: PhaseResult) -> str:
    """Why STARTTLS was needed, from the phase's typed requirement."""
    return phase.required_by.words if phase.required_by is not None else "required"


def _phase_words(phase: Phase) -> str:
    return {
        Phase.GREETING: "the greeting",
        Phase.EHLO: "EHLO",
        Phase.STARTTLS: "STARTTLS",
        Phase.AUTH: "AUTH",
        Phase.MAIL: "MAIL FROM",
        Phase.RCPT: "RCPT TO",
        Phase.DATA: "the DATA command",
        Phase.BODY: "the message body",
        Phase.EOD: "the end of data",
        Phase.QUIT: "QUIT",
        Phase.TLS: "the TLS handshake",
        Phase.CONNECT: "connect",
        Phase.RESOLVE: "name resolution",
    }[phase]


def endpoint_passes(ep: EndpointResult, causes: list[Finding]) -> bool:
    """Mail would get through this endpoint: no error-level cause names it."""
    return not any(
        c.severity is Severity.ERROR and c.address == ep.address and c.port == ep.port
        for c in causes
    )
