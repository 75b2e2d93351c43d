"""net/tls.client_context: one context per parameter set and CA file version, bounded."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from smtpdoctor.net import tls
from smtpdoctor.net.tls import CACHE_SIZE, client_context
from smtpdoctor.phases import Phase
from smtpdoctor.probe.check import CheckOptions, run_check_sync
from smtpdoctor.probe.results import PhaseStatus
from tests.support.certs import CertSet
from tests.support.servers import GoodSMTP


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    tls.clear_cache()
    yield
    tls.clear_cache()


def _ca_subjects(context: ssl.SSLContext) -> set[str]:
    return {
        value
        for cert in context.get_ca_certs()
        for rdn in cert["subject"]
        for key, value in rdn
        if key == "organizationName"
    }


def test_the_same_parameters_give_the_same_context() -> None:
    first = client_context(verify=True)
    assert client_context(verify=True) is first
    unverified = client_context(verify=False)
    assert unverified is not first
    assert client_context(verify=False) is unverified
    assert (first.verify_mode, first.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert (unverified.verify_mode, unverified.check_hostname) == (ssl.CERT_NONE, False)


def test_a_ca_file_is_read_again_when_it_changes_on_disk(tmp_path: Path) -> None:
    old_ca = trustme.CA(organization_name="Old CA")
    new_ca = trustme.CA(organization_name="New CA")
    path = tmp_path / "ca.pem"
    old_ca.cert_pem.write_to_path(str(path))
    before = client_context(verify=True, cafile=path)
    assert client_context(verify=True, cafile=path) is before
    assert _ca_subjects(before) == {"Old CA"}

    new_ca.cert_pem.write_to_path(str(path))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a later mtime
    after = client_context(verify=True, cafile=path)
    assert after is not before
    assert _ca_subjects(after) == {"New CA"}
    assert client_context(verify=True, cafile=path) is after
    # the other parameter set for the same file is its own entry
    assert client_context(verify=False, cafile=path) is not after


def test_a_missing_ca_file_still_fails_as_before_and_is_not_cached(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        client_context(verify=True, cafile=tmp_path / "absent.pem")
    assert tls._cached.cache_info().currsize == 0


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    ca = trustme.CA()
    for i in range(CACHE_SIZE + 5):
        path = tmp_path / f"ca{i}.pem"
        ca.cert_pem.write_to_path(str(path))
        client_context(verify=True, cafile=path)
    assert tls._cached.cache_info().currsize == CACHE_SIZE


def test_probes_share_one_context_across_sessions(good: GoodSMTP, certs: CertSet) -> None:
    # Two whole checks with STARTTLS against a real server: both handshakes verify with
    # the one cached context (one build), and both report the certificate.
    for _ in range(2):
        result = run_check_sync(CheckOptions(good.target, cafile=certs.ca_pem))
        (endpoint,) = result.endpoints
        starttls = endpoint.phase(Phase.STARTTLS)
        assert starttls is not None and starttls.status is PhaseStatus.OK
        assert endpoint.tls is not None and endpoint.tls.verified and endpoint.tls.chain
    info = tls._cached.cache_info()
    assert (info.misses, info.hits) == (1, 1)
