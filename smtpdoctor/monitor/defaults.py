"""What `smtpdoctor monitor` watches with no config: the relay host and the local MTA.

The same targets `doctor` would probe: Postfix's relayhost when one is set, and the
local MTA's own port 25 when an MTA is installed.
"""

from __future__ import annotations

from smtpdoctor.monitor.config import TargetSpec
from smtpdoctor.mta.detect import MtaOptions, detect
from smtpdoctor.mta.model import Mta
from smtpdoctor.mta.postconf import read_settings
from smtpdoctor.mta.postfix_audit import parse_relayhost
from smtpdoctor.mta.runner import ToolError


def default_targets(options: MtaOptions | None = None) -> tuple[tuple[TargetSpec, ...], str]:
    """(targets, what was found) for a monitor started without a config."""
    options = options or MtaOptions()
    mta = detect(options)
    if mta is None:
        return (), "no MTA found on this machine"
    targets: list[TargetSpec] = []
    found = [f"{mta.value} installed"]
    if mta is Mta.POSTFIX:
        try:
            settings = read_settings(options.postfix_target())
        except ToolError as exc:
            found.append(f"relayhost unknown ({exc})")
        else:
            relay = parse_relayhost(settings.get("relayhost"))
            if relay is not None:
                targets.append(TargetSpec(relay.target, "relay"))
                found.append(f"relay host {relay.target}")
            else:
                found.append("no relayhost (mail goes straight to MX hosts)")
    targets.append(TargetSpec("127.0.0.1:25", "local-mta"))
    return tuple(targets), "; ".join(found)
