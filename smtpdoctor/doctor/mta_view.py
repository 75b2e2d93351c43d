"""When the MTA fails where the live probe works: the reasons, with evidence and the fix. Pure.

doctor's live check runs as this process, in this network namespace, with the system's
/etc and no bind address; Postfix's smtp client may run chrooted (its own etc/ copies), with
other address families, a fixed source address, in another network namespace, or towards
another next hop (transport maps). Each of those makes the MTA's evidence (queue, log) and
the probe disagree; `explain` names the ones that apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.finding import Evidence, Finding, Severity, Source
from smtpdoctor.mta.postfix_jail import FileState, Jail, JailFile
from smtpdoctor.phases import Phase

DNS_CODES = frozenset(
    {
        CauseCode.DNS_TIMEOUT,
        CauseCode.DNS_SERVFAIL,
        CauseCode.DNS_NXDOMAIN,
        CauseCode.DNS_NO_ADDRESS,
    }
)
CONNECT_CODES = frozenset(
    {
        CauseCode.CONNECT_TIMEOUT,
        CauseCode.CONNECT_REFUSED,
        CauseCode.HOST_UNREACHABLE,
        CauseCode.NETWORK_UNREACHABLE,
        CauseCode.PORT25_BLOCKED,
        CauseCode.IPV6_BROKEN,
        CauseCode.LOCAL_ADDRESS,
    }
)
TLS_CODES = frozenset({CauseCode.TLS_CERT_INVALID, CauseCode.TLS_FAILED})
_RESOLVER_FILES = ("etc/resolv.conf", "etc/hosts", "etc/nsswitch.conf")
_FAMILIES = {"ipv4": "ipv4", "ipv6": "ipv6"}


@dataclass(frozen=True)
class MtaFailure:
    """What the MTA's queue or log says about one next hop."""

    code: CauseCode
    host: str  # the next hop's host (lower case, no brackets or port); "" when not named
    source: Source  # QUEUE or LOGS
    text: str  # a sample reason, as the MTA wrote it


@dataclass(frozen=True)
class ProbeView:
    """What the live check of one target showed."""

    target: str
    host: str  # its host, as host_key gives it
    passed: bool  # at least one address and port went through every phase
    families_ok: frozenset[str] = frozenset()  # ipv4 / ipv6 of the endpoints that passed
    families_failed: frozenset[str] = frozenset()  # of the endpoints that did not
    tls_verified: bool = False  # a passing endpoint verified the certificate


@dataclass(frozen=True)
class PostfixView:
    """The Postfix facts that can make its view differ from the probe's."""

    relayhost: str  # the relay host's host ("" when mail goes by MX)
    relayhost_text: str  # relayhost as main.cf writes it
    settings: Mapping[str, str]
    config_args: str = ""  # " -c DIR" for commands, or ""
    jail: Jail | None = None
    local_addresses: frozenset[str] = frozenset()  # addresses configured on this machine
    mta_netns: str | None = None  # the master's network namespace, when not ours
    own_netns: str = ""


def _transport_service(transport: str) -> str:
    return transport.split(":", 1)[0].strip()


def _delivery_service(view: PostfixView, jail: Jail) -> tuple[str, str] | None:
    """(service name, its master.cf line) of the chrooted smtp client relay mail goes through."""
    wanted = [_transport_service(view.settings.get("default_transport", "smtp") or "smtp")]
    wanted.append(_transport_service(view.settings.get("relay_transport", "relay") or "relay"))
    for name in wanted:
        for svc in jail.services:
            if svc.name == name and svc.type == "unix" and svc.command in ("smtp", "lmtp"):
                if svc.chroot:
                    column = "-, the default" if svc.chroot_column == "-" else svc.chroot_column
                    return svc.name, f"{svc.name}/{svc.type} runs chrooted (chroot column {column})"
                return None
    return None


def _mta_evidence(failures: list[MtaFailure]) -> tuple[Evidence, ...]:
    seen: set[tuple[Source, CauseCode]] = set()
    out = []
    for f in failures:
        if (f.source, f.code) in seen:
            continue
        seen.add((f.source, f.code))
        where = "queue" if f.source is Source.QUEUE else "log"
        out.append(Evidence(f.source, f"the {where} says {f.code.value}: {f.text[:160]}"))
    return tuple(out)


def _probe_evidence(probe: ProbeView, what: str) -> Evidence:
    return Evidence(Source.PROBE, f"live check of {probe.target} from here {what}")


def _contrast(
    failures: list[MtaFailure],
    probe: ProbeView,
    *,
    severity: Severity,
    summary: str,
    subject: str,
    config: str,
    probe_saw: str,
    fixes: tuple[str, ...],
    phase: Phase | None = None,
) -> Finding:
    """The shape of every finding here: what the MTA's config says, what the MTA reported
    (the cause of its first failure), what the live check from here saw instead."""
    return Finding(
        code=failures[0].code,
        severity=severity,
        summary=summary,
        subject=subject,
        phase=phase,
        evidence=(
            Evidence(Source.CONFIG, config),
            *_mta_evidence(failures),
            _probe_evidence(probe, probe_saw),
        ),
        fixes=fixes,
    )


def _states(files: list[JailFile]) -> str:
    """'/etc/resolv.conf is stale; /etc/hosts and /etc/nsswitch.conf are missing'."""
    parts = []
    for state in (FileState.STALE, FileState.MISSING):
        names = [str(f.system) for f in files if f.state is state]
        if names:
            listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
            parts.append(f"{listed} {'is' if len(names) == 1 else 'are'} {state.value}")
    return "; ".join(parts)


def _jail_findings(
    view: PostfixView, failures: list[MtaFailure], probe: ProbeView
) -> list[Finding]:
    jail = view.jail
    if jail is None:
        return []
    service = _delivery_service(view, jail)
    if service is None:
        return []
    name, line = service
    out = []
    dns = [f for f in failures if f.code in DNS_CODES]
    bad = [
        f
        for f in jail.files
        if f.state in (FileState.MISSING, FileState.STALE)
        and str(f.jail.relative_to(jail.root)) in _RESOLVER_FILES
    ]
    if dns and bad:
        words = ", ".join(f"{f.jail} {f.state.value}" for f in bad)
        etc = jail.root / "etc"
        copies = " ".join(str(f.system) for f in bad)
        fixes = [
            f"mkdir -p {etc} && cp -p {copies} {etc}/ && postfix{view.config_args} reload",
            f"or run {name} outside the chroot: "
            f"postconf{view.config_args} -F '{name}/unix/chroot = n' && "
            f"postfix{view.config_args} reload",
        ]
        out.append(
            _contrast(
                dns,
                probe,
                severity=Severity.ERROR,
                summary=(
                    f"Postfix's {name} client runs chrooted in {jail.root}, where "
                    + _states(bad)
                    + ": it cannot resolve "
                    f"{view.relayhost or 'the next hop'}, though this machine can"
                ),
                subject=view.relayhost_text or view.relayhost,
                phase=Phase.RESOLVE,
                config=f"master.cf: {line}; in its jail: {words}",
                probe_saw="resolved and reached it (with the system's /etc)",
                fixes=tuple(fixes),
            )
        )
    tls = [f for f in failures if f.code in TLS_CODES]
    capath_value = view.settings.get("smtp_tls_CApath", "")
    capath = [
        f for f in jail.files if f.state is FileState.MISSING and str(f.system) == capath_value
    ]
    if tls and probe.tls_verified and capath:
        ca = capath[0]
        out.append(
            _contrast(
                tls,
                probe,
                severity=Severity.ERROR,
                summary=(
                    f"Postfix's {name} client runs chrooted in {jail.root}, where "
                    f"smtp_tls_CApath {ca.system} does not exist: it cannot verify "
                    f"{view.relayhost or 'the next hop'}, though this machine can"
                ),
                subject=view.relayhost_text or view.relayhost,
                phase=Phase.STARTTLS,
                config=f"master.cf: {line}; {ca.jail} is missing",
                probe_saw="verified its certificate",
                fixes=(
                    f"mkdir -p {ca.jail.parent} && cp -a {ca.system} {ca.jail}",
                    "or use smtp_tls_CAfile (read before the chroot): "
                    f"postconf{view.config_args} -e "
                    "'smtp_tls_CAfile = /etc/ssl/certs/ca-certificates.crt'",
                    f"postfix{view.config_args} reload",
                ),
            )
        )
    return out


def _allowed_families(inet_protocols: str) -> frozenset[str]:
    words = {w.strip().lower() for w in inet_protocols.replace(",", " ").split()}
    if not words or "all" in words:
        return frozenset({"ipv4", "ipv6"})
    return frozenset(w for w in words if w in _FAMILIES)


def _family_findings(
    view: PostfixView, failures: list[MtaFailure], probe: ProbeView
) -> list[Finding]:
    connect = [f for f in failures if f.code in CONNECT_CODES or f.code in DNS_CODES]
    if not connect or not probe.families_ok:
        return []
    value = view.settings.get("inet_protocols", "all")
    allowed = _allowed_families(value)
    if probe.families_ok & allowed:
        return []
    works = "/".join(sorted(probe.families_ok)).replace("ipv", "IPv")
    uses = "/".join(sorted(allowed)).replace("ipv", "IPv") or "no address family"
    want = " ".join(sorted(allowed | probe.families_ok))
    return [
        _contrast(
            connect,
            probe,
            severity=Severity.ERROR,
            summary=(
                f"Postfix uses only {uses} "
                f"(inet_protocols = {value}), but {view.relayhost or probe.target} answers only "
                f"over {works}"
            ),
            subject=view.relayhost_text or probe.target,
            phase=Phase.CONNECT,
            config=f"inet_protocols = {value}",
            probe_saw=f"passed over {works} only",
            fixes=(
                f"postconf{view.config_args} -e 'inet_protocols = {want.replace(' ', ', ')}'",
                f"postfix{view.config_args} stop && postfix{view.config_args} start "
                "(inet_protocols needs a restart, not a reload)",
            ),
        )
    ]


def _preference_findings(
    view: PostfixView, failures: list[MtaFailure], probe: ProbeView
) -> list[Finding]:
    """smtp_address_preference puts first the family that fails from here."""
    connect = [f for f in failures if f.code in CONNECT_CODES]
    allowed = _allowed_families(view.settings.get("inet_protocols", "all"))
    if not connect or allowed != {"ipv4", "ipv6"} or len(probe.families_ok) != 1:
        return []
    works = next(iter(probe.families_ok))
    broken = "ipv6" if works == "ipv4" else "ipv4"
    if broken not in probe.families_failed:
        return []  # the relay has no such address: nothing to try first
    value = view.settings.get("smtp_address_preference", "any").strip().lower() or "any"
    if value not in (broken, "any"):
        return []
    first = "first" if value == broken else "first in about half of the attempts"
    timeout = view.settings.get("smtp_connect_timeout", "30s")
    return [
        _contrast(
            connect,
            probe,
            severity=Severity.WARNING,
            summary=(
                f"Postfix tries {broken.replace('ipv', 'IPv')} {first} "
                f"(smtp_address_preference = {value}), and {broken.replace('ipv', 'IPv')} to "
                f"{view.relayhost or probe.target} fails from here: each delivery can wait "
                f"smtp_connect_timeout ({timeout}) before {works.replace('ipv', 'IPv')}"
            ),
            subject=view.relayhost_text or probe.target,
            phase=Phase.CONNECT,
            config=f"smtp_address_preference = {value}",
            probe_saw=f"passed over {works.replace('ipv', 'IPv')} only",
            fixes=(
                f"postconf{view.config_args} -e 'smtp_address_preference = {works}' && "
                f"postfix{view.config_args} reload",
                f"and repair {broken.replace('ipv', 'IPv')} to the relay "
                f"(`smtpdoctor check {probe.target}` shows where it fails)",
            ),
        )
    ]


def _bind_findings(
    view: PostfixView, failures: list[MtaFailure], probe: ProbeView
) -> list[Finding]:
    connect = [f for f in failures if f.code in CONNECT_CODES]
    if not connect:
        return []
    out = []
    for name in ("smtp_bind_address", "smtp_bind_address6"):
        value = view.settings.get(name, "").strip()
        if not value or (":" in value) != name.endswith("6"):
            continue
        if value not in view.local_addresses:
            continue  # Postfix warns, then connects without binding: not why it fails
        out.append(
            _contrast(
                connect,
                probe,
                severity=Severity.ERROR,
                summary=(
                    f"Postfix sends from {value} ({name}); the live check, from this "
                    "machine's default source address, got through: the path or a filter "
                    f"treats {value} differently"
                ),
                subject=view.relayhost_text or probe.target,
                phase=Phase.CONNECT,
                config=f"{name} = {value}",
                probe_saw="connected without a bind address",
                fixes=(
                    f"find what treats {value} differently: `ip route get ADDRESS from {value}` "
                    "(ADDRESS: the relay's) and the firewalls on the path",
                    f"or send from the default address: postconf{view.config_args} -e '{name} ='"
                    f" && postfix{view.config_args} reload",
                ),
            )
        )
    return out


def _netns_findings(
    view: PostfixView, failures: list[MtaFailure], probe: ProbeView
) -> list[Finding]:
    if view.mta_netns is None or not failures:
        return []
    return [
        _contrast(
            failures,
            probe,
            severity=Severity.WARNING,
            summary=(
                f"Postfix runs in another network namespace ({view.mta_netns}) than this "
                f"check ({view.own_netns or 'this one'}): its routes, firewall and resolver "
                "differ, so the live check does not test the MTA's path"
            ),
            subject=view.relayhost_text or probe.target,
            config=(
                f"the master process is in network namespace {view.mta_netns}, "
                f"smtpdoctor in {view.own_netns or 'another'}"
            ),
            probe_saw="passed",
            fixes=(
                f"run the check where the MTA runs: nsenter --net=/proc/$(cat "
                f"{view.settings.get('queue_directory', '/var/spool/postfix')}/pid/master.pid)"
                f"/ns/net smtpdoctor doctor{view.config_args.replace(' -c', ' --postfix-config')}",
            ),
        )
    ]


def _route_findings(
    view: PostfixView, failures: list[MtaFailure], probe: ProbeView
) -> list[Finding]:
    """Failures at a next hop that is not main.cf's relayhost: the maps send mail elsewhere."""
    maps = [
        (name, view.settings.get(name, "").strip())
        for name in ("transport_maps", "sender_dependent_relayhost_maps", "relay_transport")
    ]
    maps = [(n, v) for n, v in maps if v and not (n == "relay_transport" and v == "relay")]
    elsewhere: dict[str, list[MtaFailure]] = {}
    for f in failures:
        at_relay = view.relayhost and view.relayhost in f.text.lower()  # one of its addresses
        if f.host and f.host not in (view.relayhost, "none") and not at_relay:
            elsewhere.setdefault(f.host, []).append(f)
    if not maps or not elsewhere:
        return []
    configured = "; ".join(f"{n} = {v}" for n, v in maps)
    out = []
    for host, found in elsewhere.items():
        out.append(
            _contrast(
                found,
                probe,
                severity=Severity.ERROR,
                summary=(
                    f"Postfix sends this mail to {host} ({configured}), not to relayhost "
                    f"{view.relayhost_text}: the live check of the relay host passed, the "
                    f"next hop that fails is {host}"
                ),
                subject=host,
                config=f"{configured}; relayhost = {view.relayhost_text}",
                probe_saw="passed",
                fixes=(
                    f"smtpdoctor check {host} (the next hop the MTA really uses)",
                    f"postmap{view.config_args} -q DOMAIN MAP: which entry sends DOMAIN to {host}",
                ),
            )
        )
    return out


def explain(
    failures: list[MtaFailure], probes: list[ProbeView], view: PostfixView
) -> tuple[Finding, ...]:
    """The reasons the MTA fails where the live check of its relay host passed.

    Nothing when the MTA reports no failure, or the relay host's live check failed too
    (then they agree and the ordinary ranking explains it).
    """
    relay_probe = next((p for p in probes if p.host == view.relayhost and p.passed), None)
    if relay_probe is None or not view.relayhost:
        return ()
    at_relay = [
        f
        for f in failures
        if f.host in (view.relayhost, "", "none") or view.relayhost in f.text.lower()
    ]
    found: list[Finding] = []
    if at_relay:
        found += _jail_findings(view, at_relay, relay_probe)
        found += _family_findings(view, at_relay, relay_probe)
        found += _preference_findings(view, at_relay, relay_probe)
        found += _bind_findings(view, at_relay, relay_probe)
        found += _netns_findings(view, at_relay, relay_probe)
    found += _route_findings(view, failures, relay_probe)
    return tuple(found)
