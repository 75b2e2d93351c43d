"""The one adapter between the probe/diagnosis layers and the monitor: a check -> ProbeSample.

Nothing else in monitor/ imports probe/ or diagnose/, so when their types change only
this module follows.
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime

from smtpdoctor.diagnose.rules import diagnose
from smtpdoctor.exitcodes import UsageError
from smtpdoctor.monitor.module import ProbeModule
from smtpdoctor.monitor.sample import CauseLabel, ProbeSample
from smtpdoctor.probe.check import run_check
from smtpdoctor.probe.results import CheckResult, EndpointResult
from smtpdoctor.probe_options import check_options

# Past the budget the check owns, how long the monitor waits before it abandons a probe:
# the check keeps its own deadline, this only guards against a bug there.
GRACE_S = 2.0


def _reported(result: CheckResult, passed: tuple[str, ...]) -> EndpointResult | None:
    """The endpoint whose phases a sample reports: a passing one, else the one that got
    furthest (the most informative failure)."""
    explicit = [ep for ep in result.endpoints if ep.explicit and not ep.reference]
    for ep in explicit:
        if ep.label in passed:
            return ep
    if not explicit:
        return None
    return max(explicit, key=lambda ep: ep.last.phase.order if ep.last else -1)


def _cert_expiry(result: CheckResult) -> float | None:
    times = [
        datetime.fromisoformat(cert.not_after).timestamp()
        for ep in result.endpoints
        if ep.tls is not None
        for cert in ep.tls.chain
    ]
    return min(times) if times else None


def to_sample(
    name: str, module_name: str, result: CheckResult, started_at: float, duration_s: float
) -> ProbeSample:
    """Reduce a check and its diagnosis to a sample."""
    diagnosis = diagnose(result)
    ep = _reported(result, diagnosis.passed)
    status_code = None
    if ep is not None:
        replies = [p.reply.code for p in ep.phases if p.reply is not None]
        status_code = replies[-1] if replies else None
    causes = tuple(
        CauseLabel(
            cause=str(c.code.value),
            phase=c.phase.value if c.phase else "",
            severity=str(c.severity.value),
            summary=c.summary,
            fix=c.fixes[0] if c.fixes else "",
        )
        for c in diagnosis.findings
    )
    return ProbeSample(
        target=name,
        spec=result.target,
        module=module_name,
        verdict=diagnosis.verdict.value,
        started_at=started_at,
        duration_s=duration_s,
        phases=tuple((p.phase.value, round(p.elapsed_ms / 1000, 6)) for p in ep.phases)
        if ep
        else (),
        dns_s=None if result.resolve.is_literal else result.resolve.elapsed_ms / 1000,
        ip_protocol=(6 if ep.family == socket.AF_INET6 else 4) if ep else 0,
        endpoint=ep.label if ep else "",
        status_code=status_code,
        cert_expiry=_cert_expiry(result),
        causes=causes,
    )


def _failed(name: str, spec: str, module: str, started: float, why: str) -> ProbeSample:
    return ProbeSample(
        target=name,
        spec=spec,
        module=module,
        verdict="failed",
        started_at=started,
        duration_s=time.time() - started,
        error=why,
    )


async def probe(
    name: str, spec: str, module_name: str, module: ProbeModule, budget_s: float
) -> ProbeSample:
    """Probe one target within budget_s; always returns a sample, never raises."""
    started = time.time()
    clock = time.monotonic()
    try:
        options = check_options(spec, module, budget_s)
        result = await asyncio.wait_for(run_check(options), budget_s + GRACE_S)
    except UsageError as exc:
        return _failed(name, spec, module_name, started, str(exc))
    except TimeoutError:
        return _failed(name, spec, module_name, started, f"probe abandoned after {budget_s:g} s")
    except Exception as exc:  # a monitor must outlive any one probe's bug
        return _failed(name, spec, module_name, started, f"probe crashed: {exc!r}")
    return to_sample(name, module_name, result, started, time.monotonic() - clock)
