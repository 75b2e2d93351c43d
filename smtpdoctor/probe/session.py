"""One SMTP session against one address and port, walked phase by phase under deadlines."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from smtpdoctor.net.connection import Connection, TlsSession, open_tcp
from smtpdoctor.net.errors import NetError, NetOp, NetTimeout, TlsError
from smtpdoctor.net.tls import client_context
from smtpdoctor.phases import Phase
from smtpdoctor.probe.recorder import Recorder
from smtpdoctor.probe.results import (
    CertProblem,
    Direction,
    EndpointResult,
    PartialReply,
    PhaseStatus,
    Requirement,
    TlsInfo,
    TlsMode,
    status_of,
)
from smtpdoctor.probe.timeouts import Budget, Timeouts
from smtpdoctor.proto import commands
from smtpdoctor.proto.client import ClientProtocol, ReplyEvent, Unsolicited
from smtpdoctor.proto.commands import Command
from smtpdoctor.proto.reply import ProtocolViolation, Reply

# How long a silent greeting is waited for before a TLS handshake is tried alongside
# (at most half the greeting limit, so the handshake gets the other half).
IMPLICIT_TLS_PATIENCE_S = 3.0

# Statuses after which the connection is still in a state to say QUIT.
_STILL_TALKING = frozenset({PhaseStatus.TEMP_FAIL, PhaseStatus.PERM_FAIL, PhaseStatus.NOT_OFFERED})
_POLITE_QUIT_S = 5.0
_NO_REPLY = "no complete reply within {:g} s"

ProgressHook = Callable[[str, Phase, PhaseStatus | None], None]


@dataclass(frozen=True)
class Credentials:
    """A user name and password for AUTH; the password never leaves this object in output."""

    user: str
    password: str = field(repr=False)
    mechanism: str | None = None  # PLAIN or LOGIN; None picks what the server offers


@dataclass(frozen=True)
class SessionPlan:
    """What one session does."""

    host: str
    address: str
    port: int
    tls_mode: TlsMode
    timeouts: Timeouts
    starttls: str = "auto"  # auto | require | never
    helo_name: str = "localhost"
    sender: str = ""
    recipients: tuple[str, ...] = ()
    send: bool = False
    message: bytes | None = None
    credentials: Credentials | None = None
    cafile: Path | None = None
    sni: str | None = None
    mss: int | None = None
    explicit: bool = True
    reference: bool = False  # a probe of the --reference host, not of the target
    stop_after: Phase | None = None  # end the session once this phase succeeded
    detect_implicit_tls: bool = True  # on a silent greeting, try a TLS handshake too
    verify: bool = True


class _Stop(Exception):
    """The session cannot go on; the failing phase is already recorded."""


class _CertRejected(Exception):
    """The handshake failed only because the certificate did not verify."""

    def __init__(self, verify_error: str, verify_code: int | None):
        super().__init__(verify_error)
        self.verify_error = verify_error
        self.verify_code = verify_code


class Session:
    """Drives the sans-IO client over a connection, recording every phase."""

    def __init__(self, plan: SessionPlan, budget: Budget, progress: ProgressHook | None = None):
        self.plan = plan
        self.budget = budget
        self.rec = Recorder()
        self.proto = ClientProtocol()
        self.conn: Connection | None = None
        self.capabilities: dict[str, str] = {}
        self.tls_session: TlsSession | None = None
        self.tls_mode_probe: EndpointResult | None = None
        self.tls_probe_tried = False
        self._progress = progress

    # -- the walk -------------------------------------------------------------

    async def run(self) -> EndpointResult:
        """Walk every phase; never raises for anything the server or network does."""
        try:
            await self._walk()
        except _Stop:
            await self._quit_after_refusal()
        finally:
            if self.conn is not None:
                self.conn.abort()
        return self._result()

    async def _quit_after_refusal(self) -> None:
        """End the session with QUIT when the server refused something but still talks.

        Dropping the line instead makes MTAs log "lost connection after RCPT", which
        fail2ban-style filters count against the client. The QUIT is not a phase of the
        record (its outcome changes nothing); it shows in the transcript.
        """
        last = self.rec.phases[-1] if self.rec.phases else None
        if (
            self.conn is None
            or last is None
            or last.status not in _STILL_TALKING
            or (last.reply is not None and last.reply.code == 421)  # the server hung up
        ):
            return
        limit = min(_POLITE_QUIT_S, self.plan.timeouts[Phase.QUIT], self.budget.remaining())
        try:
            await self._exchange(Phase.QUIT, commands.quit_(), self.rec.now_ms(), limit, False)
        except _Stop:
            # _exchange records a failed QUIT as a phase: the polite QUIT is not one.
            if self.rec.phases and self.rec.phases[-1] is not last:
                self.rec.phases.pop()

    async def _walk(self) -> None:
        plan = self.plan
        await self._connect()
        if self._done(Phase.CONNECT):
            return
        if plan.tls_mode is TlsMode.IMPLICIT:
            await self._handshake(Phase.TLS, started=self.rec.now_ms())
            if self._done(Phase.TLS):
                return
        await self._greeting()
        if self._done(Phase.GREETING):
            return
        await self._ehlo()
        if self._wants_starttls():
            await self._starttls()
            if self._done(Phase.STARTTLS):
                return
            await self._ehlo(after_tls=True)
        if plan.credentials is not None:
            await self._auth(plan.credentials)
        await self._command(Phase.MAIL, commands.mail_from(plan.sender))
        await self._recipients()
        if plan.send:
            await self._data()
        await self._quit()

    def _done(self, phase: Phase) -> bool:
        return self.plan.stop_after is phase

    def _wants_starttls(self) -> bool:
        plan = self.plan
        if plan.tls_mode is not TlsMode.STARTTLS or plan.starttls == "never":
            return False
        if "STARTTLS" in self.capabilities:
            return True
        offers_auth = bool(commands.auth_mechanisms(self.capabilities))
        if plan.starttls == "require" or (plan.credentials is not None and offers_auth):
            # Never send a password in clear text: with credentials, STARTTLS is required.
            # (Without AUTH on offer, nothing would be sent: AUTH then reports it missing.)
            started = self.rec.now_ms()
            required_by = (
                Requirement.OPTION if plan.starttls == "require" else Requirement.CREDENTIALS
            )
            self.rec.phase(
                Phase.STARTTLS,
                PhaseStatus.NOT_OFFERED,
                started,
                detail=f"STARTTLS is not in the EHLO reply ({required_by.words})",
                required_by=required_by,
            )
            raise _Stop
        return False

    # -- phases ---------------------------------------------------------------

    async def _connect(self) -> None:
        plan = self.plan
        limit, by_budget = self.budget.cap(plan.timeouts[Phase.CONNECT])
        started = self.rec.now_ms()
        self._report(Phase.CONNECT, None)
        try:
            self.conn = await open_tcp(plan.address, plan.port, limit, mss=plan.mss)
        except NetError as exc:
            self._fail(Phase.CONNECT, exc, started, limit, by_budget)
        mss = f" (MSS clamped to {plan.mss})" if plan.mss else ""
        self.rec.line(Direction.NOTE, f"connected to {_label(plan.address, plan.port)}{mss}")
        retransmits = self.conn.syn_retransmits
        if retransmits:
            self.rec.note(f"the kernel sent the SYN {retransmits + 1} times before it was answered")
        self.rec.phase(
            Phase.CONNECT, PhaseStatus.OK, started, limit_s=limit, retransmits=retransmits
        )
        self._report(Phase.CONNECT, PhaseStatus.OK)

    async def _greeting(self) -> None:
        limit, by_budget = self.budget.cap(self.plan.timeouts[Phase.GREETING])
        started = self.rec.now_ms()
        self._report(Phase.GREETING, None)
        reading = self._read_reply(Phase.GREETING, started, limit, by_budget)
        if self.plan.detect_implicit_tls and self.plan.tls_mode is not TlsMode.IMPLICIT:
            reply = await self._greeting_or_implicit_tls(reading, started, limit)
        else:
            reply = await reading
        if reply.code == 220:
            self._ok(Phase.GREETING, started, limit, reply)
            return
        self._reply_failure(Phase.GREETING, reply, started, limit)

    async def _greeting_or_implicit_tls(
        self, reading: Coroutine[Any, Any, Reply], started: float, limit: float
    ) -> Reply:
        """Wait for the greeting; after a few silent seconds, also try a TLS handshake.

        A client speaking plain SMTP to an implicit-TLS port waits for a greeting that
        never comes. A handshake that succeeds on a second connection proves it, and ends
        the wait early instead of after the whole greeting limit.
        """
        read_task = asyncio.ensure_future(reading)
        done, _ = await asyncio.wait({read_task}, timeout=min(IMPLICIT_TLS_PATIENCE_S, limit / 2))
        if read_task in done:
            return read_task.result()
        other = replace(
            self.plan,
            tls_mode=TlsMode.IMPLICIT,
            stop_after=Phase.TLS,
            verify=False,
            explicit=False,
            detect_implicit_tls=False,
        )
        self.tls_probe_tried = True
        probe_task = asyncio.ensure_future(Session(other, self.budget).run())
        try:
            await asyncio.wait({read_task, probe_task}, return_when=asyncio.FIRST_COMPLETED)
            if read_task.done():
                return read_task.result()
            self.tls_mode_probe = probe_task.result()
            handshake = self.tls_mode_probe.phase(Phase.TLS)
            if handshake is None or not handshake.ok:
                return await read_task
        finally:
            for task in (read_task, probe_task):
                if not task.done():
                    task.cancel()
            await asyncio.gather(read_task, probe_task, return_exceptions=True)
        waited = (self.rec.now_ms() - started) / 1000
        self.rec.note(f"no greeting after {waited:.1f} s, but a TLS handshake on this port works")
        self._end(
            Phase.GREETING,
            PhaseStatus.TIMEOUT,
            started,
            f"no greeting after {waited:.1f} s; the port completes a TLS handshake instead, "
            "so none will come (implicit TLS)",
            limit,
        )

    async def _ehlo(self, after_tls: bool = False) -> None:
        plan = self.plan
        limit, by_budget = self.budget.cap(plan.timeouts[Phase.EHLO])
        started = self.rec.now_ms()
        self._report(Phase.EHLO, None)
        reply = await self._exchange(
            Phase.EHLO, commands.ehlo(plan.helo_name), started, limit, by_budget
        )
        detail = "after STARTTLS" if after_tls else ""
        if reply.code == 250:
            self.capabilities = commands.parse_ehlo(reply.lines)
            self._ok(Phase.EHLO, started, limit, reply, detail=detail)
            return
        if reply.code in (500, 502, 504, 550) and not after_tls:
            # RFC 5321 4.1.4: a server that does not speak ESMTP may still take HELO.
            helo = await self._exchange(
                Phase.EHLO, commands.helo(plan.helo_name), started, limit, by_budget
            )
            if helo.code == 250:
                self.capabilities = {}
                self._ok(Phase.EHLO, started, limit, helo, detail="EHLO refused; HELO accepted")
                return
            reply = helo
        self._reply_failure(Phase.EHLO, reply, started, limit, detail=detail)

    async def _starttls(self) -> None:
        limit, by_budget = self.budget.cap(self.plan.timeouts[Phase.STARTTLS])
        started = self.rec.now_ms()
        self._report(Phase.STARTTLS, None)
        reply = await self._exchange(Phase.STARTTLS, commands.starttls(), started, limit, by_budget)
        if reply.code != 220:
            self._reply_failure(Phase.STARTTLS, reply, started, limit)
        await self._handshake(Phase.STARTTLS, started)
        self.proto = ClientProtocol(expect_greeting=False)

    async def _handshake(self, phase: Phase, started: float) -> None:
        """The TLS handshake, as the whole TLS phase or the end of the STARTTLS phase."""
        plan = self.plan
        assert self.conn is not None
        phase_limit = plan.timeouts[phase]
        limit, by_budget = self.budget.cap(
            max(0.0, phase_limit - (self.rec.now_ms() - started) / 1000)
        )
        if phase is Phase.TLS:
            self._report(Phase.TLS, None)
        context = client_context(verify=plan.verify, cafile=plan.cafile)
        self.rec.line(Direction.NOTE, "TLS handshake started")
        try:
            self.tls_session = await self.conn.start_tls(context, plan.sni, limit)
        except TlsError as exc:
            if exc.verify_error is not None:
                raise _CertRejected(exc.verify_error, exc.verify_code) from None
            self._fail(phase, exc, started, phase_limit, by_budget)
        except NetError as exc:
            self._fail(phase, exc, started, phase_limit, by_budget)
        tls = self.tls_session
        self.rec.line(Direction.NOTE, f"TLS established: {tls.version} {tls.cipher}")

        self._ok(phase, started, phase_limit, detail=f"{tls.version} {tls.cipher}")

    async def _auth(self, creds: Credentials) -> None:
        limit, by_budget = self.budget.cap(self.plan.timeouts[Phase.AUTH])
        started = self.rec.now_ms()
        self._report(Phase.AUTH, None)
        offered = commands.auth_mechanisms(self.capabilities)
        wanted = [creds.mechanism.upper()] if creds.mechanism else ["PLAIN", "LOGIN"]
        usable = [m for m in wanted if m in offered]
        if not usable:
            shown = ", ".join(sorted(offered)) or "none"
            self.rec.phase(
                Phase.AUTH,
                PhaseStatus.NOT_OFFERED,
                started,
                detail=f"AUTH {'/'.join(wanted)} not offered (offered: {shown})",
                limit_s=limit,
            )
            raise _Stop
        mechanism = usable[0]
        if mechanism == "PLAIN":
            reply = await self._exchange(
                Phase.AUTH,
                commands.auth_plain(creds.user, creds.password),
                started,
                limit,
                by_budget,
            )
        else:
            reply = await self._exchange(
                Phase.AUTH, commands.auth_login_start(), started, limit, by_budget
            )
            if reply.code == 334:
                reply = await self._exchange(
                    Phase.AUTH, commands.auth_login_user(creds.user), started, limit, by_budget
                )
            if reply.code == 334:
                reply = await self._exchange(
                    Phase.AUTH,
                    commands.auth_login_password(creds.password),
                    started,
                    limit,
                    by_budget,
                )
        if reply.code == 235:
            self._ok(Phase.AUTH, started, limit, reply, detail=f"AUTH {mechanism}")
            return
        self._reply_failure(Phase.AUTH, reply, started, limit, detail=f"AUTH {mechanism}")

    async def _command(self, phase: Phase, command: Command, ok: tuple[int, ...] = (250,)) -> Reply:
        limit, by_budget = self.budget.cap(self.plan.timeouts[phase])
        started = self.rec.now_ms()
        self._report(phase, None)
        reply = await self._exchange(phase, command, started, limit, by_budget)
        if reply.code in ok:
            self._ok(phase, started, limit, reply)
            return reply
        self._reply_failure(phase, reply, started, limit)

    async def _recipients(self) -> None:
        accepted = 0
        last_failure: Reply | None = None
        for recipient in self.plan.recipients:
            limit, by_budget = self.budget.cap(self.plan.timeouts[Phase.RCPT])
            started = self.rec.now_ms()
            self._report(Phase.RCPT, None)
            reply = await self._exchange(
                Phase.RCPT, commands.rcpt_to(recipient), started, limit, by_budget
            )
            if reply.code in (250, 251):
                accepted += 1
                self._ok(Phase.RCPT, started, limit, reply, detail=f"recipient <{recipient}>")
            else:
                last_failure = reply
                status = PhaseStatus.TEMP_FAIL if reply.is_transient else PhaseStatus.PERM_FAIL
                self.rec.phase(
                    Phase.RCPT,
                    status,
                    started,
                    reply=reply,
                    detail=f"recipient <{recipient}>",
                    limit_s=limit,
                )
                self._report(Phase.RCPT, status)
        if accepted == 0 and last_failure is not None:
            raise _Stop

    async def _data(self) -> None:
        plan = self.plan
        assert self.conn is not None
        await self._command(Phase.DATA, commands.data(), ok=(354,))
        body = commands.message_body((plan.message or b"").decode("utf-8", "replace"))
        limit, by_budget = self.budget.cap(plan.timeouts[Phase.BODY])
        started = self.rec.now_ms()
        self._report(Phase.BODY, None)
        try:
            await self.conn.write(self.proto.send_message(body), limit)
        except NetError as exc:
            self._fail(Phase.BODY, exc, started, limit, by_budget)
        self.rec.line(Direction.CLIENT, f"<message, {len(body)} bytes>")
        self._ok(Phase.BODY, started, limit, detail=f"{len(body)} bytes")
        limit, by_budget = self.budget.cap(plan.timeouts[Phase.EOD])
        started = self.rec.now_ms()
        self._report(Phase.EOD, None)
        reply = await self._read_reply(Phase.EOD, started, limit, by_budget)
        if reply.code == 250:
            self._ok(Phase.EOD, started, limit, reply)
            return
        self._reply_failure(Phase.EOD, reply, started, limit)

    async def _quit(self) -> None:
        limit, by_budget = self.budget.cap(self.plan.timeouts[Phase.QUIT])
        started = self.rec.now_ms()
        self._report(Phase.QUIT, None)
        if not self.plan.send:
            await self._exchange(Phase.QUIT, commands.rset(), started, limit, by_budget)
        try:
            reply = await self._exchange(Phase.QUIT, commands.quit_(), started, limit, by_budget)
        except _Stop:
            return
        self._ok(Phase.QUIT, started, limit, reply)

    # -- reading and writing ---------------------------------------------------

    async def _exchange(
        self, phase: Phase, command: Command, started: float, limit: float, by_budget: bool
    ) -> Reply:
        assert self.conn is not None
        remaining = max(0.0, limit - (self.rec.now_ms() - started) / 1000)
        try:
            await self.conn.write(self.proto.send(command), remaining)
        except NetError as exc:
            self._fail(phase, exc, started, limit, by_budget)
        self.rec.line(Direction.CLIENT, command.display)
        return await self._read_reply(phase, started, limit, by_budget)

    async def _read_reply(
        self, phase: Phase, started: float, limit: float, by_budget: bool
    ) -> Reply:
        assert self.conn is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, limit - (self.rec.now_ms() - started) / 1000)
        received = 0
        first_ms = last_ms = 0.0
        while True:
            try:
                event = self.proto.next_event()
                while isinstance(event, Unsolicited):
                    self.rec.reply(event.reply)
                    self.rec.note(f"unsolicited reply: {event.reply.first_line}")
                    event = self.proto.next_event()
                if isinstance(event, ReplyEvent):
                    self.rec.reply(event.reply)
                    return event.reply
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise NetTimeout(NetOp.READ, timeout_s=limit, message=_NO_REPLY.format(limit))
                data = await self.conn.read_some(remaining)
                last_ms = self.rec.now_ms() - started
                first_ms = first_ms if received else last_ms
                received += len(data)
                self.proto.receive(data)
            except ProtocolViolation as exc:
                self.rec.note(f"protocol violation: {exc}")
                self._end(Phase(phase), PhaseStatus.PROTOCOL_ERROR, started, str(exc), limit)
            except NetError as exc:
                partial = None
                if isinstance(exc, NetTimeout):
                    buffered = self.proto.parser.buffered
                    if buffered:
                        self.rec.note(f"{buffered} bytes of an unfinished reply line were received")
                    if received:
                        partial = PartialReply(received, round(first_ms, 1), round(last_ms, 1))
                    exc = NetTimeout(NetOp.READ, timeout_s=limit, message=_NO_REPLY.format(limit))
                self._fail(phase, exc, started, limit, by_budget, partial)

    # -- recording helpers -------------------------------------------------------

    def _ok(
        self,
        phase: Phase,
        started: float,
        limit: float,
        reply: Reply | None = None,
        detail: str = "",
    ) -> None:
        self.rec.phase(phase, PhaseStatus.OK, started, reply=reply, detail=detail, limit_s=limit)
        self._report(phase, PhaseStatus.OK)

    def _fail(
        self,
        phase: Phase,
        exc: NetError,
        started: float,
        limit: float,
        by_budget: bool,
        partial: PartialReply | None = None,
    ) -> NoReturn:
        status = status_of(exc.kind)
        detail = str(exc)
        if by_budget and status is PhaseStatus.TIMEOUT:
            detail += " (the overall --budget ran out)"
        self.rec.note(f"{phase.value}: {detail}")
        self.rec.phase(
            phase,
            status,
            started,
            detail=detail,
            errno_name=exc.errno_name,
            budget_exhausted=by_budget and status is PhaseStatus.TIMEOUT,
            limit_s=limit,
            operation=exc.op,
            partial=partial,
        )
        self._report(phase, status)
        raise _Stop

    def _end(
        self, phase: Phase, status: PhaseStatus, started: float, detail: str, limit: float
    ) -> NoReturn:
        self.rec.phase(phase, status, started, detail=detail, limit_s=limit)
        self._report(phase, status)
        raise _Stop

    def _reply_failure(
        self, phase: Phase, reply: Reply, started: float, limit: float, detail: str = ""
    ) -> NoReturn:
        if reply.is_transient:
            status = PhaseStatus.TEMP_FAIL
        elif reply.is_permanent:
            status = PhaseStatus.PERM_FAIL
        else:
            status = PhaseStatus.PROTOCOL_ERROR
            detail = detail or f"unexpected reply {reply.code}"
        self.rec.phase(phase, status, started, reply=reply, detail=detail, limit_s=limit)
        self._report(phase, status)
        raise _Stop

    def _report(self, phase: Phase, status: PhaseStatus | None) -> None:
        if self._progress is not None:
            self._progress(_label(self.plan.address, self.plan.port), phase, status)

    def _result(self) -> EndpointResult:
        plan = self.plan
        tls_info = None
        if self.tls_session is not None:
            # here, not at the top: cryptography's x509 costs ~30 ms to import, paid only
            # when there is a certificate to read
            from smtpdoctor.probe.certs import describe_chain

            tls_info = TlsInfo(
                version=self.tls_session.version,
                cipher=self.tls_session.cipher,
                verified=plan.verify,
                verify_error=None,
                chain=describe_chain(self.tls_session.chain_der),
                sni=plan.sni,
            )
        return EndpointResult(
            host=plan.host,
            address=plan.address,
            family=socket.AF_INET6 if ":" in plan.address else socket.AF_INET,
            port=plan.port,
            tls_mode=plan.tls_mode,
            phases=tuple(self.rec.phases),
            transcript=self.rec.finish_transcript(),
            capabilities=tuple(self.capabilities.items()),
            tls=tls_info,
            mss=plan.mss,
            explicit=plan.explicit,
            reference=plan.reference,
            notes=tuple(self.rec.notes),
            tls_mode_probe=self.tls_mode_probe,
            tls_probe_tried=self.tls_probe_tried,
        )


def _label(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


async def run_session(
    plan: SessionPlan, budget: Budget, progress: ProgressHook | None = None
) -> EndpointResult:
    """One session; when only the certificate fails, repeat it without verification.

    The handshake verifies with OpenSSL, exactly as the MTAs and mail clients in the
    field do. When only verification fails, the session is repeated without it, so the
    report shows the certificate problem and also everything after TLS (EHLO, AUTH,
    MAIL), as a client that does not verify (Postfix's opportunistic TLS) would see it.
    """
    try:
        return await Session(plan, budget, progress).run()
    except _CertRejected as rejected:
        verify_error = rejected.verify_error
        problem = CertProblem.from_code(rejected.verify_code)
    try:
        unverified = await Session(replace(plan, verify=False), budget, progress).run()
    except _CertRejected:  # pragma: no cover - cannot happen with verification off
        raise RuntimeError("certificate rejected with verification off") from None
    tls = unverified.tls
    if tls is not None:
        tls = replace(tls, verified=False, verify_error=verify_error, cert_problem=problem)
    note = (
        f"certificate did not verify ({verify_error}); the session was repeated without "
        "verification to test the rest"
    )
    return replace(unverified, tls=tls, notes=(note, *unverified.notes))
