"""The terminal report of `smtpdoctor check`: verdict, one line per endpoint, causes, fixes."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from smtpdoctor.diagnose.rules import Diagnosis
from smtpdoctor.finding import Finding, Severity, Verdict
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import (
    CheckResult,
    EndpointResult,
    PhaseResult,
    PhaseStatus,
    TlsMode,
)
from smtpdoctor.probe.timeouts import Profile

_VERDICT_STYLE = {Verdict.OK: "bold green", Verdict.DEGRADED: "bold yellow"}
_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f}s"
    return f"{value:.0f}ms" if value >= 1 else f"{value:.1f}ms"


@dataclass(frozen=True)
class _Group:
    first: Finding
    others: tuple[Finding, ...]


def _group(causes: tuple[Finding, ...]) -> list[_Group]:
    """Causes that share code, phase and severity, shown once with every place they hit."""
    order: list[tuple[object, ...]] = []
    members: dict[tuple[object, ...], list[Finding]] = {}
    for cause in causes:
        key = (cause.code, cause.phase, cause.severity, cause.host)
        if key not in members:
            order.append(key)
            members[key] = []
        members[key].append(cause)
    return [_Group(members[k][0], tuple(members[k][1:])) for k in order]


def _place(cause: Finding) -> str:
    if cause.address is None:
        return cause.host or ""
    addr = f"[{cause.address}]" if ":" in cause.address else cause.address
    return f"{addr}:{cause.port}" if cause.port else addr


def _phase_cell(p: PhaseResult) -> Text:
    if p.ok:
        return Text(f"{p.phase.value} {_ms(p.elapsed_ms)}", style="green")
    label = p.status.value.replace("_", " ")
    code = f" {p.reply.code}" if p.reply is not None else ""
    style = "yellow" if p.status is PhaseStatus.TEMP_FAIL else "bold red"
    return Text(f"{p.phase.value} ✗ {label}{code} after {_ms(p.elapsed_ms)}", style=style)


def _deferred(ep: EndpointResult) -> bool:
    """Mail was refused for now (4xx): it gets through only after a retry, if at all."""
    failed = ep.failed_phase
    return failed is not None and failed.status is PhaseStatus.TEMP_FAIL


def _mode_label(ep: EndpointResult) -> str:
    """How the session ran: implicit TLS, STARTTLS, or plain when STARTTLS was not there."""
    ehlo = ep.phase(Phase.EHLO)
    if (
        ep.tls_mode is TlsMode.STARTTLS
        and ep.tls is None
        and ehlo is not None
        and ehlo.ok
        and "STARTTLS" not in dict(ep.capabilities)
    ):
        return "plain"
    return ep.tls_mode.value


def _endpoint_line(ep: EndpointResult, passes: bool) -> Text:
    line = Text("  ")
    if passes and _deferred(ep):
        line.append("~ ", style="yellow")
    else:
        line.append("✓ " if passes else "✗ ", style="green" if passes else "red")
    line.append(f"{ep.label:<24}", style="bold")
    line.append(f" {_mode_label(ep):<9} ")
    for index, phase in enumerate(ep.phases):
        if index:
            line.append(" → ", style="dim")
        line.append_text(_phase_cell(phase))
    line.append(f"   (total {_ms(ep.total_ms)})", style="dim")
    return line


def _tls_line(ep: EndpointResult) -> Text | None:
    tls = ep.tls
    if tls is None:
        return None
    text = Text("      TLS ", style="dim")
    text.append(f"{tls.version} {tls.cipher}")
    if tls.chain:
        leaf = tls.chain[0]
        text.append(f"; certificate {leaf.subject}, valid until {leaf.not_after[:10]}")
        text.append(f" ({leaf.days_left} days)")
    if tls.verified:
        text.append("; verified", style="green")
    else:
        text.append(f"; NOT verified: {tls.verify_error}", style="red")
    return text


def _headline(result: CheckResult, diagnosis: Diagnosis) -> Text:
    """The verdict line: how many address/port pairs pass, and what it cost."""
    verdict = diagnosis.verdict
    # Counted as the report lists them: one per cause, however many addresses it hit.
    groups = _group(diagnosis.causes)
    errors = sum(1 for g in groups if g.first.severity is Severity.ERROR)
    warnings = sum(1 for g in groups if g.first.severity is Severity.WARNING)
    head = Text()
    head.append(f"{verdict.upper()} ", style=_VERDICT_STYLE.get(verdict, "bold red"))
    head.append(f" {result.target}: ")
    explicit = [ep for ep in result.endpoints if ep.explicit]
    if verdict is Verdict.OK:
        head.append(
            f"mail gets through on {len(diagnosis.passed)} of {len(explicit)} address/port pairs"
        )
    elif verdict is Verdict.DEGRADED:
        passed = set(diagnosis.passed)
        later = sum(1 for ep in explicit if ep.label in passed and _deferred(ep))
        retry = f" ({later} only after a retry)" if later else ""
        head.append(
            f"mail gets through on {len(passed)} of {len(explicit)} address/port pairs"
            f"{retry}, with {errors} error(s) and {warnings} warning(s)"
        )
    elif result.mx is not None and not explicit:
        head.append(_mx_failure(result))
    elif not result.resolve.addresses:
        head.append("the name did not resolve")
    else:
        head.append(f"mail does not get through on any of {len(explicit)} address/port pairs")
    head.append(f"   [{_ms(result.elapsed_ms)}, {result.profile} profile]", style="dim")
    return head


def _render_resolution(result: CheckResult, diagnosis: Diagnosis, console: Console) -> None:
    """How the name became addresses (or the MX plan)."""
    resolve = result.resolve
    if result.mx is not None:
        _render_mx(result, diagnosis, console)
    elif resolve.is_literal:
        console.print(f"Target {result.host} is an address: nothing to resolve.")
    elif resolve.addresses:
        from_files = {f"from {q.hosts_file}" for q in resolve.queries if q.hosts_file}
        servers = (
            ", ".join(sorted(from_files))
            if from_files
            else "resolver " + (", ".join(resolve.nameservers) or "of the system")
        )
        console.print(
            f"Resolved {resolve.name} → {', '.join(resolve.addresses)} in "
            f"{_ms(resolve.elapsed_ms)} ({servers})"
        )
    else:
        statuses = ", ".join(f"{q.rdtype} {q.status}" for q in resolve.queries) or "no answer"
        console.print(f"Resolving {resolve.name} failed: {statuses}")
    console.print()


def render(
    result: CheckResult, diagnosis: Diagnosis, console: Console, verbose: bool = False
) -> None:
    """Print the report."""
    explicit = [ep for ep in result.endpoints if ep.explicit]
    console.print(_headline(result, diagnosis))
    console.print()

    _render_resolution(result, diagnosis, console)
    if explicit:
        console.print(Text("Endpoints", style="bold underline"))
        passed = set(diagnosis.passed)
        for ep in explicit:
            console.print(_endpoint_line(ep, ep.label in passed))
            tls_line = _tls_line(ep)
            if tls_line is not None:
                console.print(tls_line)
        console.print()

    serious = tuple(c for c in diagnosis.causes if c.severity is not Severity.INFO)
    notes = tuple(c for c in diagnosis.causes if c.severity is Severity.INFO)
    if serious:
        console.print(Text("Causes", style="bold underline"))
        for number, group in enumerate(_group(serious), start=1):
            _render_cause(console, number, group)
    else:
        console.print(Text("No problems found.", style="green"))
    if notes:
        console.print(Text("Notes", style="bold underline"))
        for group in _group(notes):
            line = Text("  - ")
            line.append(group.first.code.value, style="cyan")
            line.append(f": {group.first.summary}")
            if group.others:
                line.append(f" (also on {', '.join(_place(c) for c in group.others)})")
            console.print(line)
        console.print(
            Text(
                "  (`smtpdoctor explain CODE` or --json show their evidence and fixes)", style="dim"
            )
        )
        console.print()
    if result.timeouts.profile is Profile.QUICK:
        console.print(
            Text(
                "Quick profile: shorter limits than RFC 5321 (use --rfc for the RFC's, "
                "or --timeout PHASE=SECONDS).",
                style="dim",
            )
        )
    if verbose:
        for ep in result.endpoints:
            _render_transcript(console, ep)


def _mx_failure(result: CheckResult) -> str:
    """Why an MX path has nothing to probe, in a few words."""
    mx = result.mx
    assert mx is not None
    if mx.null_mx:
        return "the domain accepts no mail (null MX)"
    if not mx.hosts:
        return f"the MX lookup failed ({mx.status})"
    names = ", ".join(h.host for h in mx.hosts)
    return f"no MX host has an address ({names})"


def _render_mx(result: CheckResult, diagnosis: Diagnosis, console: Console) -> None:
    mx = result.mx
    assert mx is not None
    if mx.null_mx:
        console.print(f"{mx.domain} publishes a null MX (RFC 7505): it accepts no mail.")
        return
    if not mx.hosts:
        console.print(f"MX lookup of {mx.domain} failed: {mx.status}")
        return
    how = "no MX: the domain itself (RFC 5321 5.1)" if mx.implicit else "MX records"
    console.print(Text(f"Mail for {mx.domain} ({how}, {_ms(mx.elapsed_ms)})", style="bold"))
    passed = set(diagnosis.passed)
    by_address: dict[tuple[str, str], list[EndpointResult]] = {}
    for ep in result.endpoints:
        if ep.explicit:
            by_address.setdefault((ep.host, ep.address), []).append(ep)
    for mx_host in mx.hosts:
        line = Text(f"  {mx_host.preference:>5}  {mx_host.host:<30} ")
        if not mx_host.addresses:
            line.append("no address", style="bold red")
        for index, address in enumerate(mx_host.addresses):
            if index:
                line.append("  ")
            eps = by_address.get((mx_host.host, address), [])
            good = bool(eps) and all(ep.label in passed for ep in eps)
            line.append(f"{address} ")
            line.append("✓" if good else "✗", style="green" if good else "red")
        console.print(line)


def _render_cause(console: Console, number: int, group: _Group) -> None:
    cause = group.first
    title = Text(f"{number}. ")
    title.append(f"{cause.severity.value.upper()} ", style=_SEVERITY_STYLE[cause.severity])
    title.append(f"{cause.code.value}", style="bold")
    phase = f" [{cause.phase.value}]" if cause.phase else ""
    title.append(f"{phase}: {cause.title}")
    console.print(title)
    console.print(Text(f"   {cause.summary}"))
    if group.others:
        places = ", ".join(_place(c) for c in group.others)
        console.print(Text(f"   Also on: {places}", style="dim"))
    if cause.evidence:
        console.print(Text("   Evidence:", style="bold"))
        for line in (e.text for e in cause.evidence):
            console.print(Text(f"     - {line}"))
    if cause.fixes:
        console.print(Text("   Fix:", style="bold"))
        for line in cause.fixes:
            console.print(Text(f"     - {line}"))
    console.print()


def _render_transcript(console: Console, ep: EndpointResult) -> None:
    console.print(Text(f"Transcript {ep.label} ({ep.tls_mode.value})", style="bold underline"))
    for line in ep.transcript:
        console.print(Text(f"  {line.at_ms:>9.1f}ms {line.direction.value}: {line.text}"))
    console.print()
