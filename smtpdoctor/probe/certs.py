"""Certificate facts for the report, parsed with the cryptography package."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509

from smtpdoctor.probe.results import CertificateInfo


def describe_certificate(der: bytes, now: datetime | None = None) -> CertificateInfo | None:
    """Subject, issuer, validity and names of one DER certificate (None if unparsable)."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    now = now or datetime.now(UTC)
    not_after = cert.not_valid_after_utc
    names = _names(cert)
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=not_after.isoformat(),
        days_left=(not_after - now).days,
        names=tuple(names),
    )


def describe_chain(chain_der: tuple[bytes, ...]) -> tuple[CertificateInfo, ...]:
    """Every parsable certificate of a chain, leaf first."""
    infos = (describe_certificate(der) for der in chain_der)
    return tuple(info for info in infos if info is not None)


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        *san.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
    ]
