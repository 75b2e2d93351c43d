"""TLS: wrong mode, stalled handshakes, failed handshakes, bad certificates, no STARTTLS."""

from __future__ import annotations

import pytest

from tests.check.helpers import BadFactory, check, transcript_text
from tests.support.certs import CertSet


def test_plain_client_to_implicit_tls_port(bad: BadFactory) -> None:
    server = bad("implicit-tls", cert="valid")
    run = check(server.target, "--tls", "plain", "--timeout", "greeting=2", "--timeout", "tls=2")
    assert run.doc["verdict"] == "failed"
    cause = run.cause("tls_mode_mismatch")
    assert cause["severity"] == "error"
    assert cause["port"] == server.port
    assert cause["summary"] == (
        f"Port {server.port} of 127.0.0.1 speaks implicit TLS (a TLS handshake first, like "
        "465), but was spoken to as plain SMTP/STARTTLS: use implicit TLS ('SSL/TLS', "
        f"`--tls implicit`) on port {server.port}."
    )
    assert run.wall_s < 10


def test_implicit_tls_client_to_plain_port(bad: BadFactory, certs: CertSet) -> None:
    server = bad("normal", cert="valid")
    run = check(
        server.target, "--tls", "implicit", "--cafile", str(certs.ca_pem), "--timeout", "tls=2"
    )
    assert run.doc["verdict"] == "failed"
    cause = run.cause("tls_mode_mismatch")
    assert cause["phase"] == "tls"
    assert run.endpoint["tls_mode"] == "implicit"
    assert run.phase("tls")["status"] == "tls_error"
    assert run.wall_s < 8


def test_implicit_tls_works_with_tls_implicit(bad: BadFactory, certs: CertSet) -> None:
    server = bad("implicit-tls", cert="valid")
    run = check(server.target, "--tls", "implicit", "--cafile", str(certs.ca_pem))
    assert run.doc["verdict"] == "ok", run.describe()
    assert run.phase("tls")["status"] == "ok"
    assert run.endpoint["tls"]["verified"] is True


def test_starttls_handshake_stall(bad: BadFactory, certs: CertSet) -> None:
    server = bad("starttls-stall", cert="valid")
    run = check(server.target, "--cafile", str(certs.ca_pem), "--timeout", "starttls=2")
    cause = run.cause("tls_handshake_timeout")
    assert cause["phase"] == "starttls"
    assert run.endpoint["failed_phase"] == "starttls"
    starttls = run.phase("starttls")
    assert starttls["status"] == "timeout"
    assert 1.8 < starttls["ms"] / 1000 < 3.5
    assert run.wall_s < 10


def test_implicit_tls_handshake_stall(bad: BadFactory, certs: CertSet) -> None:
    server = bad("implicit-tls-stall")
    run = check(
        server.target, "--tls", "implicit", "--cafile", str(certs.ca_pem), "--timeout", "tls=2"
    )
    assert run.codes == ["tls_handshake_timeout"]
    assert run.cause("tls_handshake_timeout")["phase"] == "tls"
    tls = run.phase("tls", run.doc["endpoints"][0])
    assert tls["status"] == "timeout"
    assert 1.8 < tls["ms"] / 1000 < 3.5
    assert run.wall_s < 10


def test_tls_failed(bad: BadFactory, certs: CertSet) -> None:
    server = bad("tls-fail")
    run = check(server.target, "--cafile", str(certs.ca_pem), "--timeout", "starttls=5")
    cause = run.cause("tls_failed")
    assert cause["phase"] == "starttls"
    assert run.phase("starttls")["status"] == "tls_error"
    assert cause["summary"].startswith(
        f"The TLS handshake with 127.0.0.1:{server.port} failed: TLS handshake failed: "
    )
    assert run.wall_s < 10


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("expired", ("expired",)),
        ("self-signed", ("self-signed", "self signed")),
        ("wrong-name", ("mismatch", "not valid for", "name")),
    ],
)
def test_tls_cert_invalid_and_the_check_goes_on(
    bad: BadFactory, certs: CertSet, kind: str, words: tuple[str, ...]
) -> None:
    server = bad("normal", cert=kind)
    run = check(server.target, "--cafile", str(certs.ca_pem))
    # Port 25 rules on a non-submission port: opportunistic TLS still delivers.
    assert run.doc["verdict"] == "degraded"
    cause = run.cause("tls_cert_invalid")
    assert cause["severity"] == "warning"
    said = (cause["summary"] + " " + " ".join(cause["evidence"])).lower()
    assert any(word in said for word in words), said
    # The fixes follow the evidence: only an expired certificate is told to renew.
    renew = any("certbot renew" in fix for fix in cause["fix"])
    assert renew is (kind == "expired"), cause["fix"]
    ep = run.endpoint
    assert ep["tls"] is not None
    assert ep["tls"]["verified"] is False
    assert ep["tls"]["verify_error"]
    # past TLS: EHLO again inside TLS, then the envelope
    after_tls = transcript_text(run).split("STARTTLS", 1)[1]
    assert "EHLO" in after_tls, after_tls
    assert run.phase("rcpt")["status"] == "ok"
    # The verifying handshake is refused, so the session is repeated without verification
    # (OpenSSL decides, as it does for MTAs): two STARTTLS, and EHLO before each plus once
    # after the second, verification-free handshake.
    assert server.server.commands.count("STARTTLS") == 2
    assert sum(c.upper().startswith("EHLO") for c in server.server.commands) == 3


def test_starttls_required_but_missing(bad: BadFactory) -> None:
    server = bad("no-starttls", cert="valid")
    run = check(server.target, "--starttls", "require")
    assert run.doc["verdict"] == "failed"
    cause = run.cause("starttls_missing")
    assert cause["severity"] == "error"
    assert cause["phase"] == "starttls"
    assert run.phase("starttls")["status"] == "not_offered"
    assert "STARTTLS" not in {k.upper() for k in run.endpoint["capabilities"]}


def test_starttls_never_skips_tls(bad: BadFactory) -> None:
    server = bad("normal", cert="valid")
    run = check(server.target, "--starttls", "never")
    assert run.doc["verdict"] == "ok", run.describe()
    assert "STARTTLS" not in server.server.commands
    assert run.endpoint["tls"] is None
