"""`smtpdoctor check` against a real Postfix smtpd (Debian package) on loopback.

Each test gets a private instance (tests/support/postfix.py) with a trustme certificate
from tests/support/certs.py. The relay host is a refused loopback port, so a message
that Postfix accepts stays in its deferred queue, where the test finds it.
"""

from __future__ import annotations

import contextlib
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.check.helpers import check
from tests.support.certs import CertSet
from tests.support.postfix import PostfixInstance, postfix_instance

pytestmark = pytest.mark.postfix

PostfixFactory = Callable[..., PostfixInstance]

# texthash: maps need no postmap; Postfix reads the file when smtpd starts.
ACCESS = """\
grey@example.net 450 4.7.1 Greylisted, try again later
gone@example.net 550 5.1.1 No such user here
later@example.net DEFER_IF_PERMIT Service is unavailable
"""


def tls_settings(certs: CertSet, level: str, access: Path) -> dict[str, str]:
    """STARTTLS with the CA-signed certificate, and the recipient access map."""
    valid = certs.identities["valid"]
    return {
        "smtpd_tls_cert_file": str(valid.cert_pem),
        "smtpd_tls_key_file": str(valid.key_pem),
        "smtpd_tls_security_level": level,
        "smtpd_sasl_auth_enable": "no",
        "smtpd_recipient_restrictions": (
            f"check_recipient_access texthash:{access}, permit_mynetworks, reject"
        ),
    }


@pytest.fixture(scope="module")
def module_postfix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostfixFactory]:
    """Instances shared by the tests of this module (starting one takes seconds)."""
    with contextlib.ExitStack() as stack:

        def make(main_cf: dict[str, str]) -> PostfixInstance:
            base = tmp_path_factory.mktemp("pf")
            return stack.enter_context(postfix_instance(base, main_cf))

        yield make


@pytest.fixture(scope="module", params=["may", "encrypt"])
def tls_postfix(
    request: pytest.FixtureRequest,
    module_postfix: PostfixFactory,
    certs: CertSet,
    tmp_path_factory: pytest.TempPathFactory,
) -> PostfixInstance:
    """Postfix offering STARTTLS (`may`) or insisting on it (`encrypt`), SASL off."""
    access = tmp_path_factory.mktemp("access") / "recipient_access"
    access.write_text(ACCESS)
    return module_postfix(tls_settings(certs, str(request.param), access))


@pytest.fixture(scope="module")
def deferring_postfix(module_postfix: PostfixFactory) -> PostfixInstance:
    """Postfix whose client restrictions defer every client."""
    return module_postfix({"smtpd_client_restrictions": "defer"})


def target(pf: PostfixInstance) -> str:
    return f"127.0.0.1:{pf.smtp_port}"


def tls_postfix_level(pf: PostfixInstance) -> str:
    """The instance's smtpd_tls_security_level, read back from its main.cf."""
    match = re.search(
        r"^smtpd_tls_security_level = (\w+)$", (pf.config_dir / "main.cf").read_text(), re.M
    )
    assert match
    return match.group(1)


def session_counts(pf: PostfixInstance) -> list[str]:
    """smtpd's `disconnect from ...` lines: the commands each session saw."""
    return [line for line in pf.log_path.read_text().splitlines() if " disconnect from " in line]


def test_starttls_verified_is_ok(tls_postfix: PostfixInstance, certs: CertSet) -> None:
    run = check(target(tls_postfix), "--cafile", str(certs.ca_pem))
    assert run.returncode == 0 and run.doc["verdict"] == "ok", run.describe()
    ep = run.endpoint
    names = [p["phase"] for p in ep["phases"]]
    assert names.index("starttls") < names.index("mail") < names.index("rcpt"), names
    assert run.phase("greeting")["reply"]["code"] == 220
    assert "ESMTP Postfix" in run.phase("greeting")["reply"]["lines"][0]
    assert run.phase("rcpt")["reply"]["code"] == 250
    tls = ep["tls"]
    assert tls is not None and tls["verified"] is True and tls["verify_error"] is None
    assert "127.0.0.1" in tls["chain"][0]["names"]
    # Postfix saw one TLS session that ended with RSET and QUIT, and queued nothing
    last = session_counts(tls_postfix)[-1]
    assert "starttls=1" in last and "rset=1" in last and "quit=1" in last, last
    queued = [r["address"] for m in tls_postfix.queue_json() for r in m["recipients"]]
    assert "postmaster@[127.0.0.1]" not in queued


def test_send_is_queued_by_postfix(tls_postfix: PostfixInstance, certs: CertSet) -> None:
    rcpt = f"someone-{uuid.uuid4().hex[:8]}@example.net"
    run = check(
        target(tls_postfix), "--cafile", str(certs.ca_pem),
        "--send", "--from", "probe@example.org", "--to", rcpt,
    )  # fmt: skip
    assert run.doc["verdict"] == "ok", run.describe()
    eod = run.phase("eod")["reply"]
    assert eod["code"] == 250
    match = re.search(r"queued as ([0-9A-Za-z]+)", " ".join(eod["lines"]))
    assert match, eod
    queue = tls_postfix.wait_for_queue(
        lambda q: any(m["queue_id"] == match.group(1) for m in q), timeout=15
    )
    [message] = [m for m in queue if m["queue_id"] == match.group(1)]
    assert message["sender"] == "probe@example.org"
    assert [r["address"] for r in message["recipients"]] == [rcpt]
    # exactly one message: the probe sent DATA once
    assert sum(r["address"] == rcpt for m in queue for r in m["recipients"]) == 1
    tls_postfix.wait_for_log(rf"{match.group(1)}: client=localhost\[127\.0\.0\.1\]")


def test_recipient_deferred_450_is_greylisted(tls_postfix: PostfixInstance, certs: CertSet) -> None:
    run = check(target(tls_postfix), "--cafile", str(certs.ca_pem), "--to", "grey@example.net")
    assert run.doc["verdict"] == "degraded", run.describe()
    cause = run.cause("greylisted")
    assert (cause["severity"], cause["phase"], cause["port"]) == (
        "warning", "rcpt", tls_postfix.smtp_port,
    )  # fmt: skip
    assert "Greylisted, try again later" in cause["summary"]
    assert run.phase("rcpt")["reply"]["code"] == 450
    assert "rejected" not in run.codes
    tls_postfix.wait_for_log(r"reject: RCPT .*450 4\.7\.1 <grey@example\.net>")


def test_recipient_refused_550_is_recipient_unknown(
    tls_postfix: PostfixInstance, certs: CertSet
) -> None:
    """550 5.1.1 "No such user here" on port 25: one address, not the server, fails."""
    run = check(target(tls_postfix), "--cafile", str(certs.ca_pem), "--to", "gone@example.net")
    assert run.doc["verdict"] == "degraded", run.describe()
    cause = run.cause("recipient_unknown")
    assert (cause["severity"], cause["phase"]) == ("warning", "rcpt")
    assert "550" in cause["summary"] and "No such user here" in cause["summary"]
    assert "greylisted" not in run.codes and "rejected" not in run.codes


def test_refused_recipient_session_still_ends_with_quit(
    tls_postfix: PostfixInstance, certs: CertSet
) -> None:
    """Postfix logs `lost connection after RCPT` otherwise, which fail2ban rules count."""
    check(target(tls_postfix), "--cafile", str(certs.ca_pem), "--to", "gone@example.net")
    last = session_counts(tls_postfix)[-1]
    assert "quit=1" in last, last


def test_starttls_never(tls_postfix: PostfixInstance) -> None:
    """`may` takes plain mail; `encrypt` refuses MAIL with 530 until STARTTLS."""
    run = check(target(tls_postfix), "--starttls", "never")
    assert run.endpoint["tls"] is None
    if tls_postfix_level(tls_postfix) == "may":
        assert run.doc["verdict"] == "ok", run.describe()
        assert run.phase("rcpt")["reply"]["code"] == 250
        return
    assert run.doc["verdict"] == "failed", run.describe()
    mail = run.phase("mail")
    assert mail["status"] == "perm_fail" and mail["reply"]["code"] == 530
    cause = run.cause("rejected")
    assert cause["phase"] == "mail" and "STARTTLS" in cause["summary"]


def test_sasl_unavailable_is_auth_unavailable(tls_postfix: PostfixInstance, certs: CertSet) -> None:
    secret = "pf-secret-7731"
    run = check(
        target(tls_postfix), "--cafile", str(certs.ca_pem),
        "--user", "alice", "--password-env", "SD_PF_PW", env={"SD_PF_PW": secret},
    )  # fmt: skip
    assert run.doc["verdict"] == "failed", run.describe()
    cause = run.cause("auth_unavailable")
    assert cause["phase"] == "auth"
    assert run.phase("auth")["status"] == "not_offered"
    assert "AUTH" not in {k.upper() for k in run.endpoint["capabilities"]}
    assert run.phase("starttls")["status"] == "ok"  # TLS first, then no AUTH even so
    assert secret not in run.stdout + run.stderr


def test_client_restriction_defer_is_client_policy(
    deferring_postfix: PostfixInstance,
) -> None:
    """`Client host rejected: Try again later` is a policy on the client, not greylisting."""
    run = check(target(deferring_postfix))
    assert run.doc["verdict"] == "degraded", run.describe()
    rcpt = run.phase("rcpt")  # smtpd_delay_reject: client restrictions act at RCPT
    assert rcpt["status"] == "temp_fail" and rcpt["reply"]["code"] == 450
    cause = run.cause("client_policy")
    assert cause["phase"] == "rcpt" and "Client host rejected" in cause["summary"]
    assert cause["severity"] == "warning"
    assert "rejected" not in run.codes and "greylisted" not in run.codes


def test_client_restriction_defer_is_not_promised_to_pass(
    deferring_postfix: PostfixInstance,
) -> None:
    run = check(target(deferring_postfix))
    summary = run.cause("client_policy")["summary"]
    assert "will be accepted" not in summary, summary


def test_defer_if_permit_is_not_greylisted(tls_postfix: PostfixInstance, certs: CertSet) -> None:
    """DEFER_IF_PERMIT "Service is unavailable": the text says nothing of greylisting; the
    one classifier (as logs) reads it as the server's own trouble, a deferral."""
    run = check(target(tls_postfix), "--cafile", str(certs.ca_pem), "--to", "later@example.net")
    assert run.doc["verdict"] == "degraded", run.describe()
    assert run.phase("rcpt")["reply"]["code"] == 450
    cause = run.cause("remote_error")
    assert "Service is unavailable" in cause["summary"] and cause["severity"] == "warning"
    assert "rejected" not in run.codes and "greylisted" not in run.codes


@pytest.fixture
def held_connection(postfix_factory: PostfixFactory) -> Iterator[PostfixInstance]:
    """Postfix allowing one connection per client (loopback not exempt), one already open."""
    pf = postfix_factory(
        {
            "smtpd_client_connection_count_limit": "1",
            "smtpd_client_event_limit_exceptions": "",
        }
    )
    with socket.create_connection(("127.0.0.1", pf.smtp_port), timeout=10) as sock:
        assert sock.recv(512).startswith(b"220 ")
        yield pf


def test_connection_count_limit_is_server_busy(held_connection: PostfixInstance) -> None:
    run = check(target(held_connection))
    assert run.doc["verdict"] == "failed", run.describe()
    cause = run.cause("server_busy")
    assert (cause["severity"], cause["phase"]) == ("error", "greeting")
    assert "421" in cause["summary"] and "too many connections" in cause["summary"]
    greeting = run.phase("greeting")
    assert greeting["status"] == "temp_fail" and greeting["reply"]["code"] == 421
    held_connection.wait_for_log(r"Connection concurrency limit exceeded: 2 from localhost")
