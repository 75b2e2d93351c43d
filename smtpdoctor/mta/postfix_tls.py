"""The TLS level Postfix applies to its relay host: smtp_tls_policy_maps, else the global level.

The policy table is looked up the way the smtp client does for a next hop: the relayhost
value as written ('[relay.example]:587'), then without the port, then the bare host.
Only the first word of the answer (the level) matters here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from smtpdoctor.mta.postconf import PostfixSettings, PostfixTarget
from smtpdoctor.mta.postfix_audit import RelayHost
from smtpdoctor.mta.runner import ToolError, run

# Levels that refuse to send in clear text, and those that also verify the certificate.
ENCRYPTING = frozenset({"encrypt", "verify", "secure", "dane-only", "fingerprint"})
VERIFYING = frozenset({"verify", "secure"})

Lookup = Callable[[str, str], str | None]  # (key, table) -> the value, or None


@dataclass(frozen=True)
class TlsPolicy:
    """The TLS level Postfix applies to the relay, and where that level comes from."""

    level: str
    source: str  # "smtp_tls_security_level" or "smtp_tls_policy_maps (hash:/x, key [h]:25)"
    cafile: str = ""  # smtp_tls_CAfile: the trust anchors Postfix verifies with


def lookup_keys(relay: RelayHost) -> list[str]:
    """The keys Postfix tries for this next hop, most specific first."""
    if relay.bracketed:
        keys = [f"[{relay.host}]:{relay.port}", f"[{relay.host}]"]
    else:
        keys = [f"{relay.host}:{relay.port}", relay.host]
    return list(dict.fromkeys(keys))


def policy_for(settings: PostfixSettings, relay: RelayHost, lookup: Lookup) -> TlsPolicy:
    """The effective level for the relay host, and which setting gave it."""
    cafile = settings.get("smtp_tls_CAfile")
    for table in settings.get("smtp_tls_policy_maps").replace(",", " ").split():
        for key in lookup_keys(relay):
            value = lookup(key, table)
            if value and value.split():
                level = value.split()[0].lower()
                return TlsPolicy(level, f"smtp_tls_policy_maps ({table}, key {key})", cafile)
    level = settings.get("smtp_tls_security_level") or "none"
    return TlsPolicy(level.lower(), "smtp_tls_security_level", cafile)


def postmap_lookup(target: PostfixTarget) -> Lookup:
    """A lookup through `postmap -q` (which reads every Postfix table type)."""

    def lookup(key: str, table: str) -> str | None:
        try:
            postmap = target.tool("postmap")
            out = run([postmap, *target.config_args(), "-q", key, table], 10, check=False)
        except ToolError:
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    return lookup
