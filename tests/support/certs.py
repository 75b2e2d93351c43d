"""Certificates made at test time with trustme: a CA and leaves good and bad.

``make_certs(directory)`` writes a CA (``ca_pem``, the file for ``--cafile``) and
four server identities, each a PEM chain plus key:

- ``valid``: issued by the CA for localhost, 127.0.0.1 and ::1
- ``expired``: issued by the CA for the same names, expired a year ago
- ``wrong-name``: issued by the CA for wrong-name.example only
- ``self-signed``: its own issuer, for the right names, not signed by the CA
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

GOOD_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
WRONG_NAME = "wrong-name.example"
KINDS: tuple[str, ...] = ("valid", "expired", "wrong-name", "self-signed")


@dataclass(frozen=True)
class Identity:
    """One server certificate: the PEM chain file and its key file."""

    cert_pem: Path
    key_pem: Path


@dataclass(frozen=True)
class CertSet:
    """The CA and the server identities written under one directory."""

    ca_pem: Path
    identities: dict[str, Identity]

    def server_context(self, kind: str = "valid") -> ssl.SSLContext:
        """A server-side SSL context presenting the identity ``kind``."""
        identity = self.identities[kind]
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(identity.cert_pem), str(identity.key_pem))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client-side SSL context trusting only the CA."""
        return ssl.create_default_context(cafile=str(self.ca_pem))


def _write_leaf(leaf: trustme.LeafCert, directory: Path, kind: str) -> Identity:
    cert = directory / f"{kind}.crt"
    key = directory / f"{kind}.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    return Identity(cert, key)


def _self_signed(directory: Path) -> Identity:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "self-signed.crt"
    key_path = directory / "self-signed.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Identity(cert_path, key_path)


def make_certs(directory: Path) -> CertSet:
    """Make the CA and every identity in ``directory`` (which must exist)."""
    ca = trustme.CA(organization_name="smtpdoctor test CA")
    ca_pem = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    now = datetime.datetime.now(datetime.UTC)
    identities = {
        "valid": _write_leaf(ca.issue_cert(*GOOD_NAMES), directory, "valid"),
        "expired": _write_leaf(
            ca.issue_cert(
                *GOOD_NAMES,
                not_before=now - datetime.timedelta(days=730),
                not_after=now - datetime.timedelta(days=365),
            ),
            directory,
            "expired",
        ),
        "wrong-name": _write_leaf(ca.issue_cert(WRONG_NAME), directory, "wrong-name"),
        "self-signed": _self_signed(directory),
    }
    return CertSet(ca_pem=ca_pem, identities=identities)
