"""Postfix's TLS security level against what the live probe saw the relay offer. Pure.

`smtp_tls_security_level = encrypt` (or verify, secure, dane-only, fingerprint) makes
Postfix defer every message to a relay that offers no STARTTLS; verify and secure also
defer when the relay's certificate does not verify against `smtp_tls_CAfile`. The live
probe of doctor sees both from the outside; this module puts the two side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.mta.postfix_tls import ENCRYPTING, VERIFYING, TlsPolicy
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import CheckResult, PhaseStatus, TlsMode


@dataclass(frozen=True)
class RelayTls:
    """What one live session with the relay showed about TLS."""

    endpoint: str
    starttls_offered: bool
    capabilities: tuple[str, ...]
    handshake_ok: bool
    verified: bool | None  # None: no handshake, nothing to verify
    verify_error: str
    certificate: str  # the leaf's subject and issuer, in words


def observe(result: CheckResult) -> RelayTls | None:
    """The first STARTTLS session whose EHLO completed; None if none got that far."""
    for ep in result.endpoints:
        if ep.reference or ep.tls_mode is not TlsMode.STARTTLS:
            continue
        ehlo = ep.phase(Phase.EHLO)
        if ehlo is None or not ehlo.ok:
            continue
        caps = tuple(name for name, _ in ep.capabilities)
        starttls = ep.phase(Phase.STARTTLS)
        handshake = ep.tls is not None and (starttls is None or starttls.ok)
        leaf = ep.tls.chain[0] if ep.tls is not None and ep.tls.chain else None
        return RelayTls(
            endpoint=ep.label,
            starttls_offered="STARTTLS" in caps
            or (starttls is not None and starttls.status is not PhaseStatus.NOT_OFFERED),
            capabilities=caps,
            handshake_ok=handshake,
            verified=ep.tls.verified if ep.tls is not None else None,
            verify_error=(ep.tls.verify_error or "") if ep.tls is not None else "",
            certificate=f"subject {leaf.subject}, issuer {leaf.issuer}" if leaf else "",
        )
    return None


@dataclass(frozen=True)
class TlsConflict:
    """A cause found by comparing the policy with the relay, with both sides' evidence."""

    code: CauseCode
    summary: str
    config_evidence: str
    probe_evidence: str
    fixes: tuple[str, ...]


def compare(
    policy: TlsPolicy, relay: RelayTls, relay_name: str, config_args: str = ""
) -> TlsConflict | None:
    """The conflict between what Postfix demands and what the relay offers, if any."""
    level = policy.level.lower()
    config = f"{policy.source}: {level} for {relay_name}"
    postconf = f"postconf{config_args} -e"
    if level in ENCRYPTING and not relay.starttls_offered:
        caps = ", ".join(relay.capabilities) or "none"
        return TlsConflict(
            CauseCode.STARTTLS_MISSING,
            f"Postfix requires TLS to {relay_name} (level {level}) but the relay does not "
            "offer STARTTLS: every message to it is deferred",
            config + " (TLS is mandatory: Postfix will not send in clear text)",
            f"live EHLO to {relay.endpoint} just now offered no STARTTLS (capabilities: {caps})",
            (
                f"enable STARTTLS on the relay {relay_name} (it needs a certificate)",
                f"or, if clear text to this relay is acceptable: {postconf} "
                "'smtp_tls_security_level = may'",
            ),
        )
    if level in VERIFYING and relay.handshake_ok and relay.verified is False:
        trust = f" against {policy.cafile}" if policy.cafile else " against the system CAs"
        return TlsConflict(
            CauseCode.TLS_CERT_INVALID,
            f"Postfix verifies the certificate of {relay_name} (level {level}) but it does "
            f"not verify: {relay.verify_error or 'untrusted'}; every message is deferred",
            config + f" (the certificate must verify{trust})",
            f"live STARTTLS to {relay.endpoint} just now: certificate does not verify: "
            f"{relay.verify_error or 'untrusted'}"
            + (f" ({relay.certificate})" if relay.certificate else ""),
            (
                f"give the relay {relay_name} a certificate for its name from a CA in "
                + (policy.cafile or "the system trust store"),
                f"or add the relay's CA: {postconf} 'smtp_tls_CAfile = /path/to/ca.pem'",
                f"or encrypt without verifying: {postconf} 'smtp_tls_security_level = encrypt'",
            ),
        )
    return None
