"""How to probe a target: a module's knobs, the ones failover's relays share
(`smtpdoctor.probe_knobs`, kept apart from the TOML parsing of the monitor's own settings)."""

from __future__ import annotations

from smtpdoctor.probe_knobs import ProbeKnobs

ProbeModule = ProbeKnobs  # monitor calls a named set of knobs a module

__all__ = ["ProbeModule"]
