"""doctor: Postfix's TLS security level against what the relay really offers.

A real Postfix relays to tests/support/badsmtp.py on loopback: a relay without STARTTLS
under `encrypt`, a relay whose certificate does not verify under `verify`, and the same
relay under `encrypt` (which does not verify, so no conflict), plus a per-destination
level from smtp_tls_policy_maps.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mta.cli import smtpdoctor
from tests.support.badsmtp import BadConfig, BadSMTPServer
from tests.support.certs import CertSet, make_certs
from tests.support.postfix import PostfixInstance

pytestmark = [pytest.mark.postfix]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertSet:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def relay(request: pytest.FixtureRequest, certs: CertSet) -> Iterator[BadSMTPServer]:
    mode, kind = request.param
    tls = certs.server_context(kind) if kind else None
    with BadSMTPServer(BadConfig(mode=mode, tls=tls)) as server:
        yield server


def _doctor(pf: PostfixInstance, tmp_path: Path) -> dict[str, Any]:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    proc = smtpdoctor(
        "doctor",
        "--json",
        "--postfix-config",
        str(pf.config_dir),
        "--resolv-conf",
        str(resolv),
        "--log",
        str(pf.log_path),
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    doc["exit"] = proc.returncode
    return doc


def _stuck(
    factory: Callable[..., PostfixInstance], server: BadSMTPServer, main_cf: dict[str, str]
) -> PostfixInstance:
    pf = factory({"relayhost": f"[127.0.0.1]:{server.port}", **main_cf})
    pf.sendmail("app@example.org", ["user@example.com"])
    pf.wait_for_log(r"status=deferred", timeout=30)
    return pf


@pytest.mark.parametrize("relay", [("no-starttls", None)], indirect=True)
def test_encrypt_against_a_relay_without_starttls(
    relay: BadSMTPServer, postfix_factory: Callable[..., PostfixInstance], tmp_path: Path
) -> None:
    pf = _stuck(postfix_factory, relay, {"smtp_tls_security_level": "encrypt"})
    doc = _doctor(pf, tmp_path)
    assert doc["exit"] == 1 and doc["verdict"] == "failed"
    top = doc["causes"][0]
    assert top["code"] == "starttls_missing", doc["causes"]
    assert "127.0.0.1" in top["subject"]
    assert {"config", "probe", "queue"} <= set(top["sources"])
    texts = {e["source"]: [] for e in top["evidence"]}
    for e in top["evidence"]:
        texts[e["source"]].append(e["text"])
    assert any("smtp_tls_security_level: encrypt" in t for t in texts["config"])
    assert any("offered no STARTTLS" in t for t in texts["probe"])
    assert any("TLS is required" in t for t in texts["queue"])
    assert any("smtp_tls_security_level = may" in f for f in top["fixes"])


@pytest.mark.parametrize("relay", [("normal", "wrong-name")], indirect=True)
def test_verify_against_a_certificate_for_another_name(
    relay: BadSMTPServer,
    certs: CertSet,
    postfix_factory: Callable[..., PostfixInstance],
    tmp_path: Path,
) -> None:
    pf = _stuck(
        postfix_factory,
        relay,
        {"smtp_tls_security_level": "verify", "smtp_tls_CAfile": str(certs.ca_pem)},
    )
    doc = _doctor(pf, tmp_path)
    assert doc["exit"] == 1
    top = doc["causes"][0]
    assert top["code"] == "tls_cert_invalid", doc["causes"]
    assert {"config", "probe"} <= set(top["sources"])
    text = " ".join(e["text"] for e in top["evidence"])
    assert "smtp_tls_security_level: verify" in text
    assert f"must verify against {certs.ca_pem}" in text
    assert "certificate does not verify: " in text and "127.0.0.1" in text, text


@pytest.mark.parametrize("relay", [("normal", "self-signed")], indirect=True)
def test_policy_map_level_for_the_relay(
    relay: BadSMTPServer, postfix_factory: Callable[..., PostfixInstance], tmp_path: Path
) -> None:
    """Global level may; the policy table says secure for this relay: the table wins."""
    pf = postfix_factory(
        {"relayhost": f"[127.0.0.1]:{relay.port}", "smtp_tls_security_level": "may"}
    )
    table = pf.config_dir / "tls_policy"
    table.write_text(f"[127.0.0.1]:{relay.port} secure\n")
    subprocess.run(["postmap", f"hash:{table}"], check=True, capture_output=True, timeout=30)
    pf.postconf(f"smtp_tls_policy_maps = hash:{table}")
    doc = _doctor(pf, tmp_path)
    top = doc["causes"][0]
    assert top["code"] == "tls_cert_invalid", doc["causes"]
    text = " ".join(e["text"] for e in top["evidence"])
    assert f"smtp_tls_policy_maps (hash:{table}, key [127.0.0.1]:{relay.port}): secure" in text


@pytest.mark.parametrize("relay", [("normal", "self-signed")], indirect=True)
def test_encrypt_does_not_verify_so_no_conflict(
    relay: BadSMTPServer, postfix_factory: Callable[..., PostfixInstance], tmp_path: Path
) -> None:
    """The same bad certificate under `encrypt`: Postfix sends, doctor blames no TLS level."""
    pf = postfix_factory(
        {"relayhost": f"[127.0.0.1]:{relay.port}", "smtp_tls_security_level": "encrypt"}
    )
    pf.sendmail("app@example.org", ["user@example.com"])
    pf.wait_for_log(r"status=sent", timeout=30)
    doc = _doctor(pf, tmp_path)
    for cause in doc["causes"]:
        assert "Postfix verifies" not in cause["summary"]
        assert "Postfix requires TLS" not in cause["summary"]
