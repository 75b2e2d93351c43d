"""Every rule of diagnose/endpoint.py, table-driven, on recorded results (no sockets).

Each row is one recorded session and the exact findings the diagnosis must give:
(code, severity, phase) in report order, and the verdict.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from smtpdoctor.catalogue import CauseCode as C
from smtpdoctor.diagnose.rules import diagnose
from smtpdoctor.diagnose.slow import SlowLimits
from smtpdoctor.finding import Severity, Verdict
from smtpdoctor.net.outcome import NetOp
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import CertProblem, PartialReply, PhaseStatus, Requirement, TlsMode
from tests.diagnose.records import HEALTHY, Check, Endpoint, Step, tls_info, until

P, S = Phase, PhaseStatus
E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO  # N: a note
FAILED, DEGRADED, OK = Verdict.FAILED, Verdict.DEGRADED, Verdict.OK

TLS_STEPS = (
    Step(P.CONNECT),
    Step(P.GREETING, reply=(220, "ESMTP")),
    Step(P.EHLO, reply=(250, "mx")),
    Step(P.STARTTLS, detail="TLSv1.3 TLS_AES_256_GCM_SHA384"),
    Step(P.EHLO, reply=(250, "mx"), detail="after STARTTLS"),
    Step(P.MAIL, reply=(250, "ok")),
    Step(P.RCPT, reply=(250, "ok")),
    Step(P.QUIT, reply=(221, "bye")),
)


def one(port: int, *steps: Step, **kw: object) -> Check:
    """A check of one endpoint on PORT that recorded STEPS."""
    return Check(endpoints=(Endpoint(port=port, steps=steps, **kw),), ports=(port,))  # type: ignore[arg-type]


ROWS: dict[str, tuple[Check, list[tuple[C, Severity, Phase | None]], Verdict]] = {
    "healthy": (Check(), [], OK),
    "connect timeout": (
        one(25, Step(P.CONNECT, S.TIMEOUT, 10000, op=NetOp.CONNECT, limit_s=10)),
        [(C.CONNECT_TIMEOUT, E, P.CONNECT)],
        FAILED,
    ),
    "connect refused": (
        one(25, Step(P.CONNECT, S.REFUSED, 1, errno="ECONNREFUSED", op=NetOp.CONNECT)),
        [(C.CONNECT_REFUSED, E, P.CONNECT)],
        FAILED,
    ),
    "host unreachable (ICMP prohibited)": (
        one(25, Step(P.CONNECT, S.HOST_UNREACHABLE, 2, errno="EACCES", op=NetOp.CONNECT)),
        [(C.HOST_UNREACHABLE, E, P.CONNECT)],
        FAILED,
    ),
    "network unreachable": (
        one(25, Step(P.CONNECT, S.NETWORK_UNREACHABLE, 0, errno="ENETUNREACH")),
        [(C.NETWORK_UNREACHABLE, E, P.CONNECT)],
        FAILED,
    ),
    "local firewall EPERM on 25 is port25_blocked": (
        one(25, Step(P.CONNECT, S.ERROR, 0, errno="EPERM", op=NetOp.CONNECT)),
        [(C.PORT25_BLOCKED, E, P.CONNECT)],
        FAILED,
    ),
    "local firewall EPERM on 587 is host_unreachable": (
        one(587, Step(P.CONNECT, S.ERROR, 0, errno="EPERM", op=NetOp.CONNECT)),
        [(C.HOST_UNREACHABLE, E, P.CONNECT)],
        FAILED,
    ),
    "greeting timeout": (
        one(25, *until(P.GREETING, Step(P.GREETING, S.TIMEOUT, 30000, op=NetOp.READ))),
        [(C.GREETING_TIMEOUT, E, P.GREETING)],
        FAILED,
    ),
    "greeting slow": (
        one(25, Step(P.CONNECT), Step(P.GREETING, ms=12000, reply=(220, "ESMTP")), *HEALTHY[2:]),
        [(C.GREETING_SLOW, W, P.GREETING)],
        DEGRADED,
    ),
    "greeting 554 with no reason is rejected, not a busy server": (
        one(25, Step(P.CONNECT), Step(P.GREETING, S.PERM_FAIL, reply=(554, "go away"))),
        [(C.REJECTED, E, P.GREETING)],
        FAILED,
    ),
    "421 to MAIL is server_busy": (
        one(25, *until(P.MAIL, Step(P.MAIL, S.TEMP_FAIL, reply=(421, "4.3.2 busy")))),
        [(C.SERVER_BUSY, E, P.MAIL)],
        FAILED,
    ),
    "STARTTLS handshake stall is tls_handshake_timeout": (
        one(
            25,
            *TLS_STEPS[:3],
            Step(P.STARTTLS, S.TIMEOUT, 15000, op=NetOp.TLS_HANDSHAKE, limit_s=15),
        ),
        [(C.TLS_HANDSHAKE_TIMEOUT, E, P.STARTTLS)],
        FAILED,
    ),
    "no reply to the STARTTLS command is command_timeout": (
        one(25, *TLS_STEPS[:3], Step(P.STARTTLS, S.TIMEOUT, 15000, op=NetOp.READ, limit_s=15)),
        [(C.COMMAND_TIMEOUT, E, P.STARTTLS)],
        FAILED,
    ),
    "implicit TLS handshake stall": (
        one(
            465,
            Step(P.CONNECT),
            Step(P.TLS, S.TIMEOUT, 15000, op=NetOp.TLS_HANDSHAKE),
            tls_mode=TlsMode.IMPLICIT,
        ),
        [(C.TLS_HANDSHAKE_TIMEOUT, E, P.TLS)],
        FAILED,
    ),
    "TLS handshake failure": (
        one(
            25,
            *TLS_STEPS[:3],
            Step(
                P.STARTTLS,
                S.TLS_ERROR,
                3,
                op=NetOp.TLS_HANDSHAKE,
                detail="TLS handshake failed: NO_SHARED_CIPHER",
            ),
        ),
        [(C.TLS_FAILED, E, P.STARTTLS)],
        FAILED,
    ),
    "TLS error while reading the MAIL reply is a broken session, not a handshake": (
        one(
            25,
            *TLS_STEPS[:5],
            Step(
                P.MAIL,
                S.TLS_ERROR,
                3,
                op=NetOp.READ,
                detail="TLS error while reading: BAD_RECORD_MAC",
            ),
        ),
        [(C.CONNECTION_DROPPED, E, P.MAIL)],
        FAILED,
    ),
    "TLS error while writing RCPT": (
        one(
            25,
            *TLS_STEPS[:6],
            Step(
                P.RCPT,
                S.TLS_ERROR,
                3,
                op=NetOp.WRITE,
                detail="TLS error while writing: BAD_RECORD_MAC",
            ),
        ),
        [(C.CONNECTION_DROPPED, E, P.RCPT)],
        FAILED,
    ),
    "closed during the handshake": (
        one(25, *TLS_STEPS[:3], Step(P.STARTTLS, S.CLOSED, 3, op=NetOp.TLS_HANDSHAKE)),
        [(C.TLS_FAILED, E, P.STARTTLS)],
        FAILED,
    ),
    "closed after RCPT": (
        one(25, *until(P.RCPT, Step(P.RCPT, S.CLOSED, 3, op=NetOp.READ))),
        [(C.CONNECTION_DROPPED, E, P.RCPT)],
        FAILED,
    ),
    "closed at QUIT is only a note": (
        one(25, *until(P.QUIT, Step(P.QUIT, S.CLOSED, 3, op=NetOp.READ))),
        [(C.CONNECTION_DROPPED, N, P.QUIT)],
        OK,
    ),
    "MAIL timeout": (
        one(25, *until(P.MAIL, Step(P.MAIL, S.TIMEOUT, 30000, op=NetOp.READ))),
        [(C.COMMAND_TIMEOUT, E, P.MAIL)],
        FAILED,
    ),
    "QUIT timeout is only a note": (
        one(25, *until(P.QUIT, Step(P.QUIT, S.TIMEOUT, 10000, op=NetOp.READ))),
        [(C.COMMAND_TIMEOUT, N, P.QUIT)],
        OK,
    ),
    "end-of-data timeout": (
        one(
            25,
            *until(P.RCPT),
            Step(P.RCPT, reply=(250, "ok")),
            Step(P.DATA, reply=(354, "go")),
            Step(P.BODY),
            Step(P.EOD, S.TIMEOUT, 60000, op=NetOp.READ),
        ),
        [(C.DATA_TIMEOUT, E, P.EOD)],
        FAILED,
    ),
    "protocol violation": (
        one(25, Step(P.CONNECT), Step(P.GREETING, S.PROTOCOL_ERROR, detail="line too long")),
        [(C.PROTOCOL_VIOLATION, E, P.GREETING)],
        FAILED,
    ),
    "greylisted RCPT": (
        one(25, *until(P.RCPT, Step(P.RCPT, S.TEMP_FAIL, reply=(450, "4.2.0 Greylisted")))),
        [(C.GREYLISTED, W, P.RCPT)],
        DEGRADED,
    ),
    "452 4.3.1 to MAIL is a remote error, for now": (
        one(25, *until(P.MAIL, Step(P.MAIL, S.TEMP_FAIL, reply=(452, "4.3.1 no space")))),
        [(C.REMOTE_ERROR, W, P.MAIL)],
        DEGRADED,
    ),
    "550 5.1.1 to RCPT on port 25 is one unknown recipient": (
        one(25, *until(P.RCPT, Step(P.RCPT, S.PERM_FAIL, reply=(550, "5.1.1 unknown")))),
        [(C.RECIPIENT_UNKNOWN, W, P.RCPT)],
        DEGRADED,
    ),
    "AUTH required before MAIL on submission is a note": (
        one(
            587,
            *until(P.MAIL, Step(P.MAIL, S.PERM_FAIL, reply=(530, "5.7.0 Authentication required"))),
        ),
        [(C.AUTH_UNAVAILABLE, N, P.MAIL)],
        OK,
    ),
    "credentials refused": (
        one(
            587,
            *until(
                P.AUTH, Step(P.AUTH, S.PERM_FAIL, reply=(535, "5.7.8 bad"), detail="AUTH PLAIN")
            ),
        ),
        [(C.AUTH_FAILED, E, P.AUTH)],
        FAILED,
    ),
    "AUTH mechanism not offered": (
        one(587, *until(P.AUTH, Step(P.AUTH, S.NOT_OFFERED, detail="AUTH PLAIN not offered"))),
        [(C.AUTH_UNAVAILABLE, E, P.AUTH)],
        FAILED,
    ),
    "STARTTLS required but not offered": (
        one(
            587,
            *TLS_STEPS[:3],
            Step(P.STARTTLS, S.NOT_OFFERED, required_by=Requirement.CREDENTIALS),
        ),
        [(C.STARTTLS_MISSING, E, P.STARTTLS)],
        FAILED,
    ),
    "STARTTLS not offered, not required: a note": (
        Check(),
        [(C.STARTTLS_MISSING, N, P.EHLO)],
        OK,
    ),
    "untrusted certificate on 25 is a warning": (
        one(25, *TLS_STEPS, tls=tls_info(verified=False, error="self-signed certificate")),
        [(C.TLS_CERT_INVALID, W, P.STARTTLS)],
        DEGRADED,
    ),
    "untrusted certificate on 587 is an error": (
        one(587, *TLS_STEPS, tls=tls_info(verified=False, error="self-signed certificate")),
        [(C.TLS_CERT_INVALID, E, P.STARTTLS)],
        FAILED,
    ),
    "certificate expiring within 21 days is tls_cert_expiring": (
        one(25, *TLS_STEPS, tls=tls_info(days_left=20)),
        [(C.TLS_CERT_EXPIRING, W, P.STARTTLS)],
        DEGRADED,
    ),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_endpoint_rule(name: str) -> None:
    check, expected, verdict = ROWS[name]
    if name != "STARTTLS not offered, not required: a note":
        # Every other row's server offers STARTTLS or was asked over TLS: no note.
        check = replace(
            check,
            endpoints=tuple(replace(e, capabilities=(("STARTTLS", ""),)) for e in check.endpoints),
        )
    diagnosis = diagnose(check.record())
    got = [(f.code, f.severity, f.phase) for f in diagnosis.findings]
    assert got == expected
    assert diagnosis.verdict is verdict


def test_every_finding_names_its_endpoint() -> None:
    check = one(25, Step(P.CONNECT, S.TIMEOUT, 10000, op=NetOp.CONNECT))
    [finding] = diagnose(check.record()).findings
    assert (finding.host, finding.address, finding.port) == ("mx.example.net", "192.0.2.10", 25)
    assert finding.subject == "[192.0.2.10]:25"
    assert finding.evidence_lines[0] == (
        "mx.example.net 192.0.2.10:25 (IPv4), phase connect: timeout after 10.0 s (limit 30 s)"
    )


def test_refused_port_among_working_default_ports_is_a_note() -> None:
    working = Endpoint(port=587, capabilities=(("STARTTLS", ""),))
    closed = Endpoint(port=465, steps=(Step(P.CONNECT, S.REFUSED, 1, errno="ECONNREFUSED"),))
    check = Check(endpoints=(working, closed), ports=(587, 465), default_ports=True)
    findings = diagnose(check.record()).findings
    assert [(f.code, f.severity, f.port) for f in findings] == [(C.CONNECT_REFUSED, N, 465)]
    assert findings[0].summary.startswith("Port 465 is closed on mx.example.net 192.0.2.10:465")


def test_nothing_listening_on_loopback_says_no_mail_server_runs_here() -> None:
    refused = (Step(P.CONNECT, S.REFUSED, 0, errno="ECONNREFUSED"),)
    check = Check(
        endpoints=(Endpoint("127.0.0.1", 25, refused, host="localhost"),),
        target="localhost",
        addresses=("127.0.0.1",),
    )
    [finding] = diagnose(check.record()).findings
    assert finding.summary == (
        "No mail server is running on this machine: nothing listens on localhost port(s) 25 "
        "(connection refused at once)."
    )


SLOW_ROWS: dict[str, tuple[tuple[Step, ...], list[tuple[C, Severity, Phase | None]]]] = {
    "RCPT answered after 20 s": (
        until(P.RCPT, Step(P.RCPT, ms=20000, reply=(250, "ok")), HEALTHY[-1]),
        [(C.REPLY_SLOW, W, P.RCPT)],
    ),
    "STARTTLS and its handshake took 8 s": (
        (*TLS_STEPS[:3], Step(P.STARTTLS, ms=8000), *TLS_STEPS[4:]),
        [(C.REPLY_SLOW, W, P.STARTTLS)],
    ),
    "end of data answered after 12 s": (
        (*until(P.RCPT), Step(P.RCPT, reply=(250, "ok")), Step(P.DATA, reply=(354, "go")),
         Step(P.BODY, ms=9000), Step(P.EOD, ms=12000, reply=(250, "queued")), HEALTHY[-1]),
        [(C.REPLY_SLOW, W, P.EOD)],
    ),
    "end of data after 9 s is under its 10 s threshold; the body is ours, never slow": (
        (*until(P.RCPT), Step(P.RCPT, reply=(250, "ok")), Step(P.DATA, reply=(354, "go")),
         Step(P.BODY, ms=30000), Step(P.EOD, ms=9000, reply=(250, "queued")), HEALTHY[-1]),
        [],
    ),
    "connect after one lost SYN": (
        (Step(P.CONNECT, ms=1010, retransmits=1), *HEALTHY[1:]),
        [(C.CONNECT_SLOW, W, P.CONNECT)],
    ),
    "a slow greeting is greeting_slow, not reply_slow": (
        (Step(P.CONNECT), Step(P.GREETING, ms=6000, reply=(220, "hi")), *HEALTHY[2:]),
        [(C.GREETING_SLOW, W, P.GREETING)],
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SLOW_ROWS))
def test_slow_phase(name: str) -> None:
    steps, expected = SLOW_ROWS[name]
    check = one(25, *steps, capabilities=(("STARTTLS", ""),))
    diagnosis = diagnose(check.record())
    assert [(f.code, f.severity, f.phase) for f in diagnosis.findings] == expected
    assert diagnosis.verdict is (DEGRADED if expected else OK)


def test_slow_thresholds_are_overridable() -> None:
    steps = until(P.RCPT, Step(P.RCPT, ms=2000, reply=(250, "ok")), HEALTHY[-1])
    record = one(25, *steps, capabilities=(("STARTTLS", ""),)).record()
    assert diagnose(record).findings == ()
    [finding] = diagnose(record, SlowLimits().with_overrides(["command=1.5"])).findings
    assert finding.summary == (
        "mx.example.net 192.0.2.10:25 took 2.0 s to answer RCPT TO (slow above 1.5 s): "
        "clients with a 10 s timeout get it with 8.0 s to spare; clients with a 30 s "
        "timeout get it with 28.0 s to spare."
    )


def _fixes(**tls: object) -> tuple[str, ...]:
    check = one(25, *TLS_STEPS, tls=tls_info(verified=False, **tls))  # type: ignore[arg-type]
    [finding] = diagnose(check.record()).findings
    assert finding.code is C.TLS_CERT_INVALID
    return finding.fixes


def test_self_signed_certificate_is_not_told_to_renew() -> None:
    fixes = _fixes(error="self-signed certificate", problem=CertProblem.UNTRUSTED)
    assert fixes[0].startswith("The certificate is self-signed or issued by a private CA: ")
    assert not any("certbot renew" in f for f in fixes)


def test_wrong_name_names_both_names() -> None:
    fixes = _fixes(error="Hostname mismatch", problem=CertProblem.WRONG_NAME)
    assert fixes == (
        "The certificate names mx.example.net, not mx.example.net: use one whose names "
        "include mx.example.net (or connect by a name the certificate carries).",
    )


def test_expired_certificate_is_told_to_renew() -> None:
    fixes = _fixes(error="certificate has expired", problem=CertProblem.EXPIRED)
    assert fixes[0].startswith("Renew the certificate and include the full chain")


def test_expiring_certificate_says_the_date() -> None:
    check = one(25, *TLS_STEPS, tls=tls_info(days_left=9))
    [finding] = diagnose(check.record()).findings
    assert finding.summary == (
        "The certificate of mx.example.net 192.0.2.10:25 expires in 9 days, on 2027-01-01: "
        "renew it before then."
    )


def test_loopback_tls_stall_fixes_leave_the_mtu_out() -> None:
    steps = (*TLS_STEPS[:3], Step(P.STARTTLS, S.TIMEOUT, 15000, op=NetOp.TLS_HANDSHAKE))
    local = one(25, *steps, address="127.0.0.1", capabilities=(("STARTTLS", ""),))
    remote = one(25, *steps, capabilities=(("STARTTLS", ""),))
    [on_loopback] = diagnose(local.record()).findings
    [on_the_net] = diagnose(remote.record()).findings
    assert on_loopback.fixes[0].startswith("The path is loopback, where no MTU problem exists")
    assert not any("explain mtu_blackhole" in fix for fix in on_loopback.fixes)
    assert (
        on_the_net.fixes[0] == "Suspect the path MTU first: see `smtpdoctor explain mtu_blackhole`."
    )


def test_ipv6_loopback_refused_alone_does_not_claim_no_server_runs() -> None:
    refused = (Step(P.CONNECT, S.REFUSED, 0, errno="ECONNREFUSED"),)
    only_v6 = Check((Endpoint("::1", 2525, refused, host="::1"),), target="::1", addresses=("::1",))
    [finding] = diagnose(only_v6.record()).findings
    assert finding.summary.startswith("Nothing listens on [::1]:2525 (connection refused at once).")
    both = Check(
        (
            Endpoint("127.0.0.1", 25, refused, host="localhost"),
            Endpoint("::1", 25, refused, host="localhost"),
        ),
        target="localhost",
        addresses=("127.0.0.1", "::1"),
    )
    summaries = {f.summary for f in diagnose(both.record()).findings}
    assert summaries == {
        "No mail server is running on this machine: nothing listens on localhost port(s) 25 "
        "(connection refused at once)."
    }


def test_dripped_greeting_says_how_many_bytes_came_and_when() -> None:
    dripped = Step(
        P.GREETING, S.TIMEOUT, 30000, op=NetOp.READ, partial=PartialReply(12, 0.4, 29500.0)
    )
    [finding] = diagnose(one(25, Step(P.CONNECT), dripped).record()).findings
    assert finding.code is C.GREETING_TIMEOUT
    assert finding.summary == (
        "mx.example.net 192.0.2.10:25 began its greeting but did not finish it within 30 s: "
        "only 12 byte(s) came, the first after 0.0 s and the last after 29.5 s, and the line "
        "never ended. A server (or a tarpit) dripping its reply a byte at a time: clients "
        "time out before the line is complete."
    )
