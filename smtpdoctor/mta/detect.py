"""Which MTA is installed, and reading its queue: the IO edge the CLI calls."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from smtpdoctor.mta import exim_queue, postfix_queue, sendmail_queue
from smtpdoctor.mta.model import Mta, QueueSnapshot
from smtpdoctor.mta.postconf import PostfixTarget, read_settings, with_queue_dir
from smtpdoctor.mta.runner import ToolError, find_tool


@dataclass(frozen=True)
class MtaOptions:
    """Where to look: an explicit MTA, a Postfix config directory, a PATH for the tools."""

    mta: Mta | None = None
    postfix_config: Path | None = None
    queue_dir: Path | None = None
    path: str | None = None
    exim_config: Path | None = None  # exim -C FILE

    def exim_args(self) -> list[str]:
        """`-C FILE` when a non-default Exim configuration is asked for."""
        return ["-C", str(self.exim_config)] if self.exim_config is not None else []

    def postfix_target(self) -> PostfixTarget:
        """The Postfix instance these options point at."""
        return PostfixTarget(self.postfix_config, self.path, self.queue_dir)


def detect(options: MtaOptions) -> Mta | None:
    """The MTA to read: the one asked for, else the first installed (Postfix, Exim, Sendmail)."""
    if options.mta is not None:
        return options.mta
    if options.exim_config is not None:
        return Mta.EXIM
    if options.postfix_config is not None or find_tool("postconf", options.path):
        return Mta.POSTFIX
    if exim_queue.exim_binary(options.path):
        return Mta.EXIM
    if find_tool("mailq", options.path):
        return Mta.SENDMAIL
    return None


def not_found_reason(options: MtaOptions) -> str:
    """One line saying where no MTA was found."""
    where = options.path if options.path is not None else "PATH"
    return f"no MTA found: none of postconf, exim4/exim or mailq in {where}"


def read_queue(options: MtaOptions, mta: Mta) -> QueueSnapshot:
    """The queue of the given MTA; ToolError when it cannot be read."""
    if mta is Mta.POSTFIX:
        target = options.postfix_target()
        if target.queue_dir is None:
            target = with_queue_dir(target, read_settings(target))
        return postfix_queue.read_queue(target)
    if mta is Mta.EXIM:
        binary = exim_queue.exim_binary(options.path)
        if binary is None:
            raise ToolError("exim: not installed (not found in PATH)")
        return exim_queue.read_queue(binary, options.exim_args())
    binary = find_tool("mailq", options.path)
    if binary is None:
        raise ToolError("mailq: not installed (not found in PATH)")
    return sendmail_queue.read_queue(binary)
