"""AUTH: refused credentials (kept secret) and AUTH not on offer."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.check.helpers import BadFactory, check
from tests.support.certs import CertSet
from tests.support.servers import TEST_USER, GoodSMTP

WRONG = "Wr0ng-S3cret-pa55word"


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_auth_failed_and_the_password_stays_secret(
    good: GoodSMTP, certs: CertSet, password_file: Callable[[str], Path], mech: str
) -> None:
    run = check(
        good.target,
        "--cafile", str(certs.ca_pem),
        "--user", TEST_USER,
        "--password-file", str(password_file(WRONG)),
        "--auth-mech", mech,
    )  # fmt: skip
    assert run.doc["verdict"] == "failed"
    cause = run.cause("auth_failed")
    assert cause["phase"] == "auth"
    assert cause["severity"] == "error"
    auth = run.phase("auth")
    assert auth["status"] == "perm_fail"
    assert auth["reply"]["code"] == 535
    secrets = [
        WRONG,
        base64.b64encode(WRONG.encode()).decode().rstrip("="),
        base64.b64encode(f"\0{TEST_USER}\0{WRONG}".encode()).decode().rstrip("="),
    ]
    for secret in secrets:
        assert secret not in run.stdout
        assert secret not in run.stderr


def test_auth_password_from_environment(
    good: GoodSMTP, certs: CertSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = check(
        good.target,
        "--cafile", str(certs.ca_pem),
        "--user", TEST_USER,
        "--password-env", "SD_TEST_PW",
        env={"SD_TEST_PW": WRONG},
    )  # fmt: skip
    run.cause("auth_failed")
    assert WRONG not in run.stdout + run.stderr


def test_auth_unavailable(bad: BadFactory, password_file: Callable[[str], Path]) -> None:
    server = bad("normal")  # no user configured: no AUTH in EHLO
    run = check(server.target, "--user", "alice", "--password-file", str(password_file("pw")))
    assert run.doc["verdict"] == "failed"
    cause = run.cause("auth_unavailable")
    assert cause["phase"] == "auth"
    assert run.phase("auth")["status"] == "not_offered"


def test_auth_only_after_tls_without_starttls(
    bad: BadFactory, password_file: Callable[[str], Path]
) -> None:
    server = bad("auth-only-after-tls", cert="valid", user="alice", password="pw")
    run = check(
        server.target, "--starttls", "never", "--user", "alice",
        "--password-file", str(password_file("pw")),
    )  # fmt: skip
    cause = run.cause("auth_unavailable")
    assert "starttls" in (cause["summary"] + " ".join(cause["fix"])).lower()


def test_auth_ok_on_badsmtp_after_tls(
    bad: BadFactory, certs: CertSet, password_file: Callable[[str], Path]
) -> None:
    server = bad("auth-only-after-tls", cert="valid", user="alice", password="pw")
    run = check(
        server.target, "--cafile", str(certs.ca_pem), "--user", "alice",
        "--password-file", str(password_file("pw")),
    )  # fmt: skip
    assert run.doc["verdict"] == "ok", run.describe()
    assert run.phase("auth")["reply"]["code"] == 235
