"""The `smtpdoctor check` command that confirms a log group's cause live.

A function of the group's fields, compiled (setup.py): a report of 5,000 groups asks
it of each one when it is written as JSON.
"""

from __future__ import annotations

from typing import Final

from smtpdoctor.catalogue import CauseCode

_DNS_CAUSES: Final = (CauseCode.DNS_NXDOMAIN, CauseCode.DNS_TIMEOUT, CauseCode.DNS_NO_ADDRESS)


def check_command(cause: CauseCode, direction: str, destination: str, relay: str) -> str | None:
    """The check command for a group of failures with this cause, direction ("outbound"
    or "inbound"), destination domain and relay (`host[ip]:port`), if there is one."""
    if direction != "outbound":
        return None
    if cause in _DNS_CAUSES:
        if destination:
            return f"smtpdoctor check @{destination}"
        return f"smtpdoctor check {relay}" if relay else None
    if relay:
        host, _, rest = relay.partition("[")
        ip, _, port = rest.partition("]")
        port = port.lstrip(":") or "25"
        if host in ("", "unknown") and ip:
            host = f"[{ip}]" if ":" in ip else ip
        return f"smtpdoctor check {host}:{port}"
    return f"smtpdoctor check @{destination}" if destination else None
