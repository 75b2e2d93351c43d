"""Pure rules from a recorded check to causes and a verdict. No IO.

The rules live by subject: diagnose/endpoint.py (one address and port), dns.py (names
and MX records), network.py (across endpoints: IPv6, port 25, MTU), mx_partial.py and
traced.py (`--trace` evidence); this module puts them together and gives the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.dns import dns_causes, mx_causes
from smtpdoctor.diagnose.endpoint import EndpointRules, endpoint_passes
from smtpdoctor.diagnose.mx_partial import mx_partial
from smtpdoctor.diagnose.network import network_causes, with_port25_evidence
from smtpdoctor.diagnose.slow import SlowLimits
from smtpdoctor.diagnose.traced import with_trace
from smtpdoctor.finding import Finding, Verdict, decide_verdict
from smtpdoctor.probe.results import CheckResult

__all__ = ["Diagnosis", "diagnose"]


@dataclass(frozen=True)
class Diagnosis:
    """The verdict and the findings, most severe first."""

    verdict: Verdict
    findings: tuple[Finding, ...]
    passed: tuple[str, ...]  # labels of endpoints where mail would get through

    @property
    def causes(self) -> tuple[Finding, ...]:
        """The findings (check's reports call them causes)."""
        return self.findings


def _dns_causes(result: CheckResult) -> list[Finding]:
    if result.mx is not None:
        return mx_causes(result.mx)
    return dns_causes(result.resolve)


_EXPLAINED_BY: dict[CauseCode, frozenset[CauseCode]] = {
    CauseCode.PORT25_BLOCKED: frozenset({CauseCode.CONNECT_TIMEOUT}),
    CauseCode.MTU_BLACKHOLE: frozenset(
        {CauseCode.TLS_HANDSHAKE_TIMEOUT, CauseCode.COMMAND_TIMEOUT, CauseCode.DATA_TIMEOUT}
    ),
}


def _drop_explained(causes: list[Finding]) -> list[Finding]:
    explained: set[tuple[CauseCode, str | None, int | None]] = set()
    for cause in causes:
        for code in _EXPLAINED_BY.get(cause.code, frozenset()):
            explained.add((code, cause.address, cause.port))
    return [c for c in causes if (c.code, c.address, c.port) not in explained]


def diagnose(result: CheckResult, slow: SlowLimits | None = None) -> Diagnosis:
    """Findings and verdict for a whole check (pure: recorded results in, no IO).

    ``slow``: when a phase that succeeded counts as slow (the defaults of
    `smtpdoctor.diagnose.slow`).
    """
    causes: list[Finding] = _dns_causes(result)
    explicit = [ep for ep in result.endpoints if ep.explicit]
    passing_ports = {ep.port for ep in explicit if ep.completed}
    for ep in explicit:
        causes.extend(EndpointRules(result, ep, passing_ports, slow).run())
    causes.extend(network_causes(result))
    causes = [with_trace(c, result) for c in _drop_explained(causes)]
    causes = with_port25_evidence(result, causes)
    causes.extend(mx_partial(result, causes))
    causes.sort(key=lambda c: c.severity.rank)
    passed = tuple(ep.label for ep in explicit if endpoint_passes(ep, causes))
    verdict = decide_verdict(causes, mail_flows=bool(passed))
    return Diagnosis(verdict=verdict, findings=tuple(causes), passed=passed)
