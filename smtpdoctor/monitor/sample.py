"""What one probe of one target leaves behind: the only input of the monitor's parts."""

from __future__ import annotations

from dataclasses import dataclass

VERDICTS = ("ok", "degraded", "failed")


@dataclass(frozen=True)
class CauseLabel:
    """One diagnosed cause, reduced to what may become a metric label (bounded values)."""

    cause: str  # a catalogue code
    phase: str  # a phase name, or "" when the cause has none
    severity: str  # error | warning | info
    summary: str = ""  # prose for the status page and hooks, never a label
    fix: str = ""  # the first fix, for the status page and hooks


@dataclass(frozen=True)
class ProbeSample:
    """The outcome of one probe: verdict, timings and causes of one target."""

    target: str  # the name shown in labels: the config's `name`, else the target
    spec: str  # the TARGET string probed
    module: str
    verdict: str  # one of VERDICTS
    started_at: float  # Unix time
    duration_s: float
    phases: tuple[tuple[str, float], ...] = ()  # (phase, seconds) of the endpoint reported
    dns_s: float | None = None
    ip_protocol: int = 0  # 4, 6 or 0 when no address was reached
    endpoint: str = ""  # address:port whose phases are reported
    status_code: int | None = None  # the last SMTP reply code seen
    cert_expiry: float | None = None  # Unix time the earliest certificate expires
    causes: tuple[CauseLabel, ...] = ()
    error: str = ""  # set when the probe itself could not run (bad target, budget spent)

    @property
    def up(self) -> bool:
        """Mail gets through this way (ok or degraded)."""
        return self.verdict != "failed"

    @property
    def main_cause(self) -> CauseLabel | None:
        """The most severe cause, which names the state."""
        return self.causes[0] if self.causes else None

    @property
    def state(self) -> str:
        """The verdict and its main cause: what a state change is about."""
        main = self.main_cause
        if self.verdict == "ok" or main is None:
            return self.verdict
        return f"{self.verdict}:{main.cause}"
