"""The check --json document pinned on representative servers (issue 8: the seam refactor
must not change what check reports). Regenerate with SMTPDOCTOR_UPDATE_GOLDEN=1 only when
a change of output is intended, and say so in the commit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.check.helpers import BadFactory, check
from tests.golden.normalise import compare, normalise
from tests.support.certs import CertSet
from tests.support.servers import GoodSMTP

HELO = ("--helo", "golden.test")
SEND = ("--send", "--from", "probe@example.org", "--to", "postmaster@example.net")

# name: (badsmtp mode, its options, TLS certificate, check options)
SCENARIOS: dict[str, tuple[str, dict[str, Any], str | None, tuple[str, ...]]] = {
    "no-greeting": ("no-greeting", {}, None, ("--timeout", "greeting=2")),
    "stall-mail": ("stall-after", {"after": "MAIL"}, None, ("--timeout", "mail=1")),
    "stall-eod": ("stall-after", {"after": "EOD"}, None, (*SEND, "--timeout", "eod=1")),
    "drop-rcpt": ("drop-after", {"after": "RCPT"}, None, ()),
    "greylist": ("greylist", {}, None, ()),
    "reject-rcpt": ("reject-rcpt", {}, None, ()),
    "busy-421": ("busy-421", {}, None, ()),
    "endless-line": ("endless-line", {}, None, ("--timeout", "greeting=3")),
    "starttls-stall": ("starttls-stall", {}, "valid", ("--timeout", "starttls=1")),
    "tls-fail": ("tls-fail", {}, "valid", ()),
    "cert-expired": ("normal", {}, "expired", ()),
    "plain-on-implicit": (
        "implicit-tls",
        {},
        "valid",
        ("--tls", "plain", "--timeout", "greeting=2", "--timeout", "tls=2"),
    ),
    "implicit-on-plain": ("normal", {}, "valid", ("--tls", "implicit", "--timeout", "tls=2")),
    "starttls-required": ("normal", {}, None, ("--starttls", "require")),
}


def _golden(name: str, doc: dict[str, Any], port: int) -> None:
    compare(f"check-{name}", normalise(doc, {str(port): "PORT"}))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_check_json_unchanged(name: str, bad: BadFactory, certs: CertSet) -> None:
    mode, options, cert, args = SCENARIOS[name]
    server = bad(mode, cert=cert, **options)
    cafile = ("--cafile", str(certs.ca_pem)) if cert else ()
    run = check(server.target, *HELO, *cafile, *args)
    _golden(name, run.doc, server.port)


def test_check_json_unchanged_good_server(good: GoodSMTP, certs: CertSet) -> None:
    run = check(good.target, *HELO, "--cafile", str(certs.ca_pem))
    _golden("good", run.doc, good.port)


def test_check_json_unchanged_refused(closed_port: int) -> None:
    run = check(f"127.0.0.1:{closed_port}", *HELO)
    _golden("refused", run.doc, closed_port)
