"""The MTA's own flush for one domain: the only thing smtpdoctor runs that acts on mail.

It asks the MTA to retry now; it never deletes, holds or changes a message.
"""

from __future__ import annotations

import re

from smtpdoctor.mta.detect import MtaOptions
from smtpdoctor.mta.exim_queue import exim_binary
from smtpdoctor.mta.model import Mta
from smtpdoctor.mta.runner import ToolError, find_tool, run

_DOMAIN = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def valid_domain(text: str) -> bool:
    """True for a plain domain name (no spaces, no options, no shell characters)."""
    return bool(_DOMAIN.match(text)) and ".." not in text


def flush_command(options: MtaOptions, mta: Mta, domain: str) -> list[str]:
    """The argv that retries the mail for domain now; ToolError when the tool is missing."""
    if mta is Mta.POSTFIX:
        target = options.postfix_target()
        return [target.tool("postqueue"), *target.config_args(), "-s", domain]
    if mta is Mta.EXIM:
        binary = exim_binary(options.path)
        if binary is None:
            raise ToolError("exim: not installed (not found in PATH)")
        return [binary, *options.exim_args(), "-Rff", domain]
    binary = find_tool("sendmail", options.path)
    if binary is None:
        raise ToolError("sendmail: not installed (not found in PATH)")
    return [binary, f"-qR{domain}"]


def flush(argv: list[str]) -> str:
    """Run the flush; its output (often empty); ToolError on failure."""
    out = run(argv, timeout=60.0)
    return (out.stdout + out.stderr).strip()
