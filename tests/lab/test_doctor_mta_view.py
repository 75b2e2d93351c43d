"""doctor compares the MTA's view with its own live check, on a real Postfix in the fault lab.

Postfix runs in the lab's client namespace with relayhost [s1.lab.test]:25; dnsmasq in
the lab serves s1.lab.test, and the client's /etc/resolv.conf (bind-mounted by
`ip netns exec`) points at it. A fault that only the MTA has (its chroot, its families, its
bind address) makes the queue and log say the relay fails while doctor's probe reaches it:
doctor must then name the reason, with the evidence and the fix.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.lab.topology import REPO, Lab, _env, exec_in, ip
from tests.support.netns import loopback_namespace
from tests.support.postfix import POSTCONF, PostfixInstance, postfix_instance

pytestmark = [pytest.mark.netns, pytest.mark.postfix]

RELAY = "[s1.lab.test]:25"
Starter = Callable[..., PostfixInstance]


@pytest.fixture
def lab_postfix(lab: Lab, tmp_path: Path) -> Iterator[Starter]:
    """`start(main_cf)`: a Postfix in the lab's client namespace relaying to s1.lab.test."""
    lab.start_smtp(lab.servers[0])
    with_stack: list[Any] = []

    def start(main_cf: dict[str, str], netns: str | None = None) -> PostfixInstance:
        settings = {
            "relayhost": RELAY,
            "smtp_connect_timeout": "2s",
            "smtp_dns_support_level": "enabled",
            "smtp_host_lookup": "dns",
            **main_cf,
        }
        manager = postfix_instance(tmp_path, settings, netns=netns or lab.client.ns)
        with_stack.append(manager)
        return manager.__enter__()

    try:
        yield start
    finally:
        for manager in reversed(with_stack):
            manager.__exit__(None, None, None)


def chroot_smtp(pf: PostfixInstance) -> None:
    """master.cf: the smtp client runs chrooted in the queue directory (as Debian ships it)."""
    subprocess.run(
        [POSTCONF, "-c", str(pf.config_dir), "-F", "smtp/unix/chroot = y"],
        check=True,
        capture_output=True,
        timeout=20,
    )
    pf.reload()


def doctor(lab: Lab, pf: PostfixInstance, *extra: str) -> tuple[int, dict[str, Any]]:
    argv = [*exec_in(lab.client.ns), sys.executable, "-m", "smtpdoctor", "doctor", "--json",
            "--postfix-config", str(pf.config_dir), "--log", str(pf.log_path),
            "--no-dns-query", "--probe-connect-timeout", "3", *extra]  # fmt: skip
    run = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, env=_env(), cwd=REPO, check=False
    )
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, json.loads(run.stdout)


def only_cause(doc: dict[str, Any], words: str) -> dict[str, Any]:
    """The one cause of doctor's JSON whose summary says words (fails on none or several)."""
    found = [c for c in doc["causes"] if words in c["summary"]]
    assert len(found) == 1, doc["causes"]
    cause: dict[str, Any] = found[0]
    return cause


def defer_one(pf: PostfixInstance, pattern: str) -> str:
    pf.sendmail("alice@example.org", ["bob@example.net"])
    try:
        return pf.wait_for_log(pattern, timeout=40)
    except RuntimeError:
        log = pf.log_path.read_text(errors="replace") if pf.log_path.exists() else "(no log)"
        raise AssertionError(f"{pattern!r} not logged:\n{log[-3000:]}") from None


def test_chroot_without_resolv_conf_is_named(lab: Lab, lab_postfix: Starter) -> None:
    pf = lab_postfix({})
    chroot_smtp(pf)
    assert not (pf.queue_dir / "etc" / "resolv.conf").exists()
    line = defer_one(pf, r"status=deferred .*Host or domain name not found")
    assert "s1.lab.test" in line

    rc, doc = doctor(lab, pf)

    assert rc == 1
    probe = doc["probes"][0]
    assert probe["target"] == "s1.lab.test:25" and probe["verdict"] == "ok"
    first = doc["causes"][0]
    assert first["code"] == "dns_timeout"
    assert f"chrooted in {pf.queue_dir}" in first["summary"]
    assert "/etc/resolv.conf" in first["summary"] and "missing" in first["summary"]
    assert {"config", "queue", "logs"} <= set(first["sources"])
    texts = [e["text"] for e in first["evidence"]]
    assert any("smtp/unix runs chrooted (chroot column y)" in t for t in texts)
    assert sum("the queue says" in t for t in texts) == 0  # not restated: the queue's own is there
    assert first["fixes"][0].startswith(f"mkdir -p {pf.queue_dir}/etc && cp -p /etc/resolv.conf")
    assert first["fixes"][0].endswith(f"postfix -c {pf.config_dir} reload")

    # the fix works: with the copy in the jail, the mail goes out
    (pf.queue_dir / "etc").mkdir(exist_ok=True)
    resolv = Path("/etc/netns") / lab.client.ns / "resolv.conf"
    (pf.queue_dir / "etc" / "resolv.conf").write_bytes(resolv.read_bytes())
    pf.reload()  # as the fix says: running smtp processes keep the resolver they started with
    pf.flush()
    pf.wait_for_log(r"status=sent", timeout=30)


def test_chroot_with_stale_resolv_conf_is_named(lab: Lab, lab_postfix: Starter) -> None:
    pf = lab_postfix({})
    (pf.queue_dir / "etc").mkdir()
    # a copy from before the resolver moved: that server does not exist any more
    (pf.queue_dir / "etc" / "resolv.conf").write_text(
        "nameserver 203.0.113.99\noptions timeout:1 attempts:1\n"
    )
    chroot_smtp(pf)
    defer_one(pf, r"status=deferred .*Host or domain name not found")

    rc, doc = doctor(lab, pf)

    assert rc == 1
    first = doc["causes"][0]
    assert first["code"] == "dns_timeout"
    assert "/etc/resolv.conf is stale" in first["summary"]


def test_unchrooted_dns_failure_gets_no_chroot_reason(lab: Lab, lab_postfix: Starter) -> None:
    """A relay that fails for the probe too: they agree, so no chroot reason is invented."""
    pf = lab_postfix({"relayhost": "[nosuch.lab.test]:25"})
    (pf.queue_dir / "etc").mkdir()
    (pf.queue_dir / "etc" / "resolv.conf").write_text("nameserver 203.0.113.99\n")
    defer_one(pf, r"status=deferred .*(Host or domain name not found|Host not found)")

    _, doc = doctor(lab, pf)

    assert all("chroot" not in c["summary"] for c in doc["causes"])


def test_bind_address_the_path_drops_is_named(lab: Lab, lab_postfix: Starter) -> None:
    """Postfix sends from a second address of this machine, which the router drops."""
    ip(lab.client.ns, "addr", "add", "198.51.100.3/28", "dev", "eth0")
    lab.fault(1, "ip saddr 198.51.100.3 drop")
    pf = lab_postfix({"smtp_bind_address": "198.51.100.3"})
    defer_one(pf, r"status=deferred .*timed out")

    rc, doc = doctor(lab, pf)

    assert rc == 1
    cause = only_cause(doc, "smtp_bind_address")
    assert cause["code"] == "connect_timeout" and cause["severity"] == "error"
    assert "Postfix sends from 198.51.100.3" in cause["summary"]
    assert any("-e 'smtp_bind_address ='" in fix for fix in cause["fixes"])


def test_bind_address_not_on_this_machine_is_not_blamed(lab: Lab, lab_postfix: Starter) -> None:
    """Postfix 3.7 only warns about a bind address it lacks and connects anyway."""
    pf = lab_postfix({"smtp_bind_address": "192.0.2.77"})
    defer_one(pf, r"bind 192.0.2.77: Cannot assign requested address")
    pf.wait_for_log(r"status=sent")


def test_inet_protocols_without_the_family_that_works_is_named(
    lab: Lab, lab_postfix: Starter
) -> None:
    pf = lab_postfix({"inet_protocols": "ipv4", "relayhost": "[s1.lab.test]:2526"})
    lab.start_smtp(lab.servers[0], port=2526, family=6)  # the relay answers on IPv6 only
    defer_one(pf, r"status=deferred .*Connection refused")

    rc, doc = doctor(lab, pf)

    assert rc == 1
    cause = only_cause(doc, "inet_protocols")
    assert "Postfix uses only IPv4 (inet_protocols = ipv4)" in cause["summary"]
    assert "answers only over IPv6" in cause["summary"]
    assert f"postconf -c {pf.config_dir} -e 'inet_protocols = ipv4, ipv6'" in cause["fixes"]


def test_transport_map_to_another_next_hop_is_named(lab: Lab, lab_postfix: Starter) -> None:
    pf = lab_postfix({"transport_maps": "inline:{ example.net=smtp:[203.0.113.10]:2527 }"})
    defer_one(pf, r"status=deferred .*Connection refused")

    rc, doc = doctor(lab, pf)

    assert rc == 1
    cause = only_cause(doc, "transport_maps")
    assert "Postfix sends this mail to 203.0.113.10" in cause["summary"]
    assert "not to relayhost [s1.lab.test]:25" in cause["summary"]
    assert "smtpdoctor check 203.0.113.10 (the next hop the MTA really uses)" in cause["fixes"]


def test_mta_in_another_network_namespace_is_named(lab: Lab, lab_postfix: Starter) -> None:
    with loopback_namespace("sdmv") as other:  # no route, no resolver: the MTA is cut off
        pf = lab_postfix({}, netns=other)
        defer_one(pf, r"status=deferred")

        rc, doc = doctor(lab, pf)

    assert rc == 1
    cause = only_cause(doc, "network namespace")
    assert f"({other})" in cause["summary"]
    assert f"({lab.client.ns})" in cause["summary"]


def test_chroot_without_capath_is_named(lab: Lab, lab_postfix: Starter, tmp_path: Path) -> None:
    """smtp_tls_CApath = /etc/ssl/certs (a common Debian setting) and a chrooted smtp.

    The relay's certificate is issued by a CA that this machine's trust store holds (the
    client namespace's /etc/ssl, bind-mounted by `ip netns exec`): the live check verifies
    it, the chrooted smtp client finds no /etc/ssl/certs in its jail and cannot.
    """
    ca = trustme.CA()
    leaf = ca.issue_cert("s1.lab.test")
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    leaf.private_key_pem.write_to_path(str(key))
    chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    certs = Path("/etc/netns") / lab.client.ns / "ssl" / "certs"
    certs.mkdir(parents=True)
    ca.cert_pem.write_to_path(str(certs / "smtpdoctor-lab-ca.pem"))
    ca.cert_pem.write_to_path(str(certs / "ca-certificates.crt"))
    subprocess.run(["openssl", "rehash", str(certs)], check=True, capture_output=True, timeout=20)
    lab.start_smtp(lab.servers[0], port=2525, extra=["--cert", str(chain), "--key", str(key)])
    pf = lab_postfix(
        {
            "relayhost": "[s1.lab.test]:2525",
            "smtp_tls_security_level": "verify",
            "smtp_tls_CApath": "/etc/ssl/certs",
            "smtp_tls_loglevel": "1",
        }
    )
    (pf.queue_dir / "etc").mkdir()  # the resolver files are there: only the CApath is not
    for name in ("resolv.conf", "hosts"):
        (pf.queue_dir / "etc" / name).write_bytes((certs.parents[1] / name).read_bytes())
    chroot_smtp(pf)
    defer_one(pf, r"status=deferred .*[Cc]ertificate")

    rc, doc = doctor(lab, pf)

    assert rc == 1
    cause = only_cause(doc, "smtp_tls_CApath")
    assert cause["code"] == "tls_cert_invalid"
    assert "smtp_tls_CApath /etc/ssl/certs does not exist" in cause["summary"]
    assert any("verified its certificate" in e["text"] for e in cause["evidence"])


def test_address_preference_for_the_broken_family_is_named(lab: Lab, lab_postfix: Starter) -> None:
    """IPv6 to the relay is dropped on the way; Postfix tries IPv6 first, then IPv4."""
    lab.drop(1, dport=25, family=6)
    pf = lab_postfix({"inet_protocols": "all", "smtp_address_preference": "ipv6"})
    defer_one(pf, r"connect to s1\.lab\.test\[2001:db8:3::10\]:25: Connection timed out")
    pf.wait_for_log(r"status=sent")  # over IPv4, late

    rc, doc = doctor(lab, pf)

    assert rc == 1
    cause = only_cause(doc, "smtp_address_preference")
    assert cause["severity"] == "warning"
    assert "Postfix tries IPv6 first (smtp_address_preference = ipv6)" in cause["summary"]
    assert cause["fixes"][0].startswith(
        f"postconf -c {pf.config_dir} -e 'smtp_address_preference = ipv4'"
    )
