"""check's reply rules on recorded sessions (no sockets): a server's refusal at each
phase, the cause the one reply classifier names, its severity on this endpoint, the
verdict, and the fixes the reply's own text allows.

Every row's cause is also what `smtpdoctor.replies.classify_reply` (logs, queue) says
for the same reply, except where AUTH and STARTTLS keep rules of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from smtpdoctor.catalogue import CauseCode as C
from smtpdoctor.diagnose.reply import reply_words
from smtpdoctor.diagnose.rules import diagnose
from smtpdoctor.finding import Finding, Severity, Verdict
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import PhaseStatus
from smtpdoctor.proto.reply import Reply
from smtpdoctor.replies import classify_reply
from tests.diagnose.records import HEALTHY, Check, Endpoint, Step, until

P, S = Phase, PhaseStatus
E, W = Severity.ERROR, Severity.WARNING
FAILED, DEGRADED = Verdict.FAILED, Verdict.DEGRADED
STARTTLS_OFFERED = (("STARTTLS", ""),)

GMAIL_RATE = (
    "4.7.28 [192.0.2.1] Our system has detected an unusual rate of",
    "4.7.28 unsolicited mail originating from your IP address. To protect our",
    "4.7.28 users from spam, mail sent from your IP address has been temporarily",
    "4.7.28 rate limited. Please visit",
    "4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError to",
    "4.7.28 review our Bulk Email Senders Guidelines. - gsmtp",
)


@dataclass(frozen=True)
class Row:
    """One refusal: where it came, what it said, and what check must make of it."""

    phase: Phase
    code: int
    lines: tuple[str, ...]
    cause: C
    severity: Severity
    verdict: Verdict
    port: int = 25
    fix_has: str = ""  # a specific fix line must contain this
    fix_lacks: str = ""  # no fix line may contain this
    own_rule: bool = False  # AUTH/STARTTLS: not the classifier's cause
    credentials: bool = False  # the check gave --user

    def check(self) -> Check:
        status = S.TEMP_FAIL if self.code < 500 else S.PERM_FAIL
        last = Step(
            self.phase, status, reply=(self.code, self.lines[0]), more=self.lines[1:],
            detail="AUTH PLAIN" if self.phase is P.AUTH else "",
        )  # fmt: skip
        steps = (*until(self.phase, last), Step(P.QUIT, reply=(221, "bye")))
        if self.phase is P.GREETING:
            steps = (Step(P.CONNECT), last)
        endpoint = Endpoint(port=self.port, steps=steps, capabilities=STARTTLS_OFFERED)
        return Check(endpoints=(endpoint,), ports=(self.port,), credentials_given=self.credentials)


# fmt: off
ROWS: dict[str, Row] = {
    "Gmail 421-4.7.28 multi-line rate limit at RCPT": Row(
        P.RCPT, 421, GMAIL_RATE, C.RATE_LIMITED, E, FAILED,
        fix_has="https://support.google.com/mail/?p=UnsolicitedRateLimitError"),
    "Gmail 450 4.2.1 receiving at a rate: a deferral": Row(
        P.RCPT, 450, ("4.2.1 The user you are trying to contact is receiving mail at a rate "
                      "that prevents additional messages from being delivered. - gsmtp",),
        C.RATE_LIMITED, W, DEGRADED),
    "Spamhaus listing at the greeting": Row(
        P.GREETING, 554, ("5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
                          "zen.spamhaus.org",),
        C.BLOCKLISTED, E, FAILED, fix_has="zen.spamhaus.org"),
    "Microsoft S3150 block list at MAIL": Row(
        P.MAIL, 550, ("5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please "
                      "contact your Internet service provider since part of their network is on "
                      "our block list (S3150).",),
        C.BLOCKLISTED, E, FAILED),
    "Bad DNS PTR at the greeting: reverse DNS fix, no SPF line": Row(
        P.GREETING, 554, ("mx.example.net Bad DNS PTR resource record.",),
        C.CLIENT_POLICY, E, FAILED, fix_has="dig -x", fix_lacks="Publish SPF"),
    "Postfix cannot find your hostname at RCPT: a deferral": Row(
        P.RCPT, 450, ("4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]",),
        C.CLIENT_POLICY, W, DEGRADED, fix_has="dig -x"),
    "Gmail DMARC at the end of data: SPF fix, no PTR line": Row(
        P.EOD, 550, ("5.7.26 Unauthenticated email from example.org is not accepted due to "
                     "domain's DMARC policy. - gsmtp",),
        C.CLIENT_POLICY, E, FAILED, fix_has="SPF", fix_lacks="PTR record"),
    "unknown user at RCPT on port 25: one address, a warning": Row(
        P.RCPT, 550, ("5.1.1 <nobody@example.net>: Recipient address rejected: User unknown "
                      "in local recipient table",),
        C.RECIPIENT_UNKNOWN, W, DEGRADED, fix_has="--to ADDRESS"),
    "unknown user at RCPT on submission: an error": Row(
        P.RCPT, 550, ("5.1.1 <nobody@example.net>: Recipient address rejected: User unknown",),
        C.RECIPIENT_UNKNOWN, E, FAILED, port=587),
    "unknown user at RCPT on 25 after AUTH (submission on 25): an error": Row(
        P.RCPT, 550, ("5.1.1 <nobody@example.net>: Recipient address rejected: User unknown",),
        C.RECIPIENT_UNKNOWN, E, FAILED, credentials=True),
    "over quota at RCPT on port 25": Row(
        P.RCPT, 552, ("5.2.2 <user@icloud.com>: user is over quota",),
        C.MAILBOX_FULL, W, DEGRADED),
    "server configuration problem at RCPT": Row(
        P.RCPT, 451, ("4.3.5 Server configuration problem",), C.REMOTE_ERROR, W, DEGRADED),
    "too many connections at the greeting": Row(
        P.GREETING, 421, ("4.3.2 Too many connections, try again later",),
        C.SERVER_BUSY, E, FAILED),
    "421 to EHLO": Row(
        P.EHLO, 421, ("4.7.0 Try again later, closing connection. (EHLO) - gsmtp",),
        C.SERVER_BUSY, E, FAILED),
    "greylisted at RCPT": Row(
        P.RCPT, 450, ("4.2.0 <u@example.com>: Recipient address rejected: Greylisted, try "
                      "again later",),
        C.GREYLISTED, W, DEGRADED),
    "bare try again later at RCPT: the classic greylisting reply": Row(
        P.RCPT, 451, ("4.7.1 Please try again later",), C.GREYLISTED, W, DEGRADED),
    "a spam verdict at the end of data": Row(
        P.EOD, 554, ("5.7.1 Message rejected as spam",), C.REJECTED, E, FAILED),
    "530 STARTTLS first at MAIL without STARTTLS": Row(
        P.MAIL, 530, ("5.7.0 Must issue a STARTTLS command first",), C.REJECTED, E, FAILED,
        fix_has="drop `--starttls never`"),
    "535 at AUTH stays auth_failed": Row(
        P.AUTH, 535, ("5.7.8 Error: authentication failed",), C.AUTH_FAILED, E, FAILED,
        port=587, own_rule=True),
    "454 at STARTTLS stays tls_failed": Row(
        P.STARTTLS, 454, ("4.7.0 TLS not available due to local problem",), C.TLS_FAILED, E,
        FAILED, own_rule=True),
    "421 at STARTTLS is the server refusing service": Row(
        P.STARTTLS, 421, ("4.3.2 Too many connections",), C.SERVER_BUSY, E, FAILED),
}
# fmt: on


def _refusal(findings: tuple[Finding, ...]) -> Finding:
    (finding,) = findings
    return finding


@pytest.mark.parametrize("name", list(ROWS))
def test_reply_rule(name: str) -> None:
    row = ROWS[name]
    diagnosis = diagnose(row.check().record())
    finding = _refusal(diagnosis.findings)
    assert (finding.code, finding.severity, finding.phase) == (row.cause, row.severity, row.phase)
    assert diagnosis.verdict is row.verdict
    if row.fix_has:
        assert any(row.fix_has in fix for fix in finding.fixes), finding.fixes
    if row.fix_lacks:
        assert not any(row.fix_lacks in fix for fix in finding.fixes), finding.fixes
    # The summary quotes the reply's code and its text.
    assert str(row.code) in finding.summary
    assert row.lines[0].split(" ", 1)[1][:30] in finding.summary


@pytest.mark.parametrize("name", [n for n, r in ROWS.items() if not r.own_rule])
def test_check_and_the_classifier_agree(name: str) -> None:
    """check names what logs and queue name for the same reply."""
    row = ROWS[name]
    enhanced, text = reply_words(Reply(row.code, row.lines))
    assert classify_reply(row.code, enhanced, text, row.phase) == row.cause


def test_a_multi_line_reply_is_read_whole() -> None:
    """'reputation' stands on the second line of Gmail's reply: the first line alone
    says nothing the classifier knows (a 421: server_busy); the summary quotes every
    line, with the repeated enhanced code once."""
    lines = (
        "4.7.0 [192.0.2.1] Our system has detected that this message is",
        "4.7.0 suspicious due to the very low reputation of the sending",
        "4.7.0 domain. To best protect our users from spam, the message has been",
        "4.7.0 blocked. - gsmtp",
    )
    only_first = Row(P.EOD, 421, lines[:1], C.SERVER_BUSY, E, FAILED)
    assert _refusal(diagnose(only_first.check().record()).findings).code is C.SERVER_BUSY
    whole = _refusal(diagnose(Row(P.EOD, 421, lines, C.BLOCKLISTED, E, FAILED).check()
                              .record()).findings)  # fmt: skip
    assert whole.code is C.BLOCKLISTED
    assert "To best protect our users" in whole.summary  # the third line
    assert whole.summary.count("4.7.0") == 1


def test_reply_words_drops_the_repeated_enhanced_code() -> None:
    assert reply_words(Reply(421, ("4.7.0 a", "4.7.0 b c"))) == ("4.7.0", "a b c")
    assert reply_words(Reply(554, ("no enhanced code", "x"))) == ("", "no enhanced code x")


def test_a_refused_recipient_among_accepted_ones() -> None:
    """Two recipients, one unknown: the session went on, the endpoint passes."""
    steps = (
        *HEALTHY[:4],
        Step(P.RCPT, reply=(250, "2.1.5 Ok")),
        Step(P.RCPT, S.PERM_FAIL, reply=(550, "5.1.1 <gone@example.net>: User unknown")),
        Step(P.QUIT, reply=(221, "bye")),
    )
    check = Check(endpoints=(Endpoint(steps=steps, capabilities=STARTTLS_OFFERED),))
    diagnosis = diagnose(check.record())
    finding = _refusal(diagnosis.findings)
    assert (finding.code, finding.severity) == (C.RECIPIENT_UNKNOWN, W)
    assert diagnosis.verdict is DEGRADED and diagnosis.passed
