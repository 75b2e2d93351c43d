"""Parsing what the user names as TARGET: host, host:port, [v6]:port, @domain, user@domain."""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from smtpdoctor.exitcodes import UsageError

# RFC 1123 host names; underscores are tolerated because internal names use them.
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)"
    r"(\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$"
)


@functools.cache
def _local_part() -> re.Pattern[str]:
    """RFC 5321 4.1.2 Dot-string (quoted local parts are not accepted), plus UTF-8 (RFC 6531).

    Compiled on first use: its Unicode ranges cost ~7 ms of CPU, which every check would
    pay at start-up although only user@domain, --from and --to are mailboxes.
    """
    return re.compile(
        r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+)*$"
    )


DEFAULT_PORTS: tuple[int, ...] = (25, 465, 587)


@dataclass(frozen=True)
class Target:
    """A parsed TARGET."""

    host: str  # a host name or an IP address (without brackets); the domain for MX targets
    port: int | None = None
    is_address: bool = False
    mx_domain: str | None = None  # set for @domain and user@domain
    mailbox: str | None = None  # the full address for user@domain

    @property
    def is_mx(self) -> bool:
        """True for targets that name a mail domain rather than a host."""
        return self.mx_domain is not None


def parse_port(text: str) -> int:
    """A TCP port number 1..65535, or UsageError."""
    if not text.isdigit():
        raise UsageError(f"bad port {text!r}: a port is a number from 1 to 65535")
    port = int(text)
    if not 1 <= port <= 65535:
        raise UsageError(f"bad port {port}: a port is a number from 1 to 65535")
    return port


_CONTROLS = {"\r": "CR", "\n": "LF", "\0": "NUL"}


def reject_controls(text: str, option: str) -> str:
    """text, or UsageError when it holds CR, LF or NUL (they would end or split an SMTP line)."""
    found = [name for char, name in _CONTROLS.items() if char in text]
    if found:
        raise UsageError(
            f"{option} {text!r}: contains {'/'.join(found)}; SMTP commands are one line"
        )
    return text


def _check_hostname(host: str, original: str, what: str = "cannot parse target") -> str:
    if not _HOSTNAME.match(host):
        raise UsageError(f"{what} {original!r}: {host!r} is not a host name")
    return host.rstrip(".").lower()


def parse_target(text: str) -> Target:
    """Parse TARGET; raises UsageError with a one-line explanation."""
    original = text
    text = text.strip()
    if not text:
        raise UsageError("empty target: name a host, host:port or @domain")
    if "@" in text:
        local, _, domain = text.rpartition("@")
        if not domain or "@" in local or ":" in domain:
            raise UsageError(f"cannot parse target {original!r}: expected @domain or user@domain")
        domain = _check_hostname(domain, original)
        if local and not _local_part().match(local):
            raise UsageError(
                f"cannot parse target {original!r}: {local!r} is not a mailbox name "
                "(RFC 5321 dot-string: letters, digits and !#$%&'*+-/=?^_`{|}~.)"
            )
        mailbox = f"{local}@{domain}" if local else None
        return Target(host=domain, mx_domain=domain, mailbox=mailbox)
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise UsageError(f"cannot parse target {original!r}: missing ']'")
        inner, rest = text[1:end], text[end + 1 :]
        try:
            address = ipaddress.ip_address(inner)
        except ValueError:
            raise UsageError(
                f"cannot parse target {original!r}: {inner!r} is not an IP address"
            ) from None
        if rest and not rest.startswith(":"):
            raise UsageError(f"cannot parse target {original!r}: expected ':PORT' after ']'")
        port = parse_port(rest[1:]) if rest else None
        return Target(host=str(address), port=port, is_address=True)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return Target(host=str(address), is_address=True)
    if text.count(":") > 1:
        raise UsageError(
            f"cannot parse target {original!r}: write an IPv6 address with a port as [ADDRESS]:PORT"
        )
    host, sep, port_text = text.partition(":")
    port = parse_port(port_text) if sep else None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return Target(host=_check_hostname(host, original), port=port)
    return Target(host=str(address), port=port, is_address=True)


_ROLE = {"--to": "bad recipient", "--from": "bad sender"}


def parse_mailbox(text: str, option: str) -> str:
    """An envelope address local@domain for --from / --to; raises UsageError."""
    what = f"{_ROLE.get(option, 'bad address')} ({option})"
    reject_controls(text, what)
    local, sep, domain = text.strip().rpartition("@")
    if not sep or not local or not _local_part().match(local):
        raise UsageError(f"{what} {text!r}: not a mail address (want local@domain)")
    if domain.startswith("[") and domain.endswith("]"):
        return f"{local}@{domain}"  # an address literal, RFC 5321 4.1.3
    return f"{local}@{_check_hostname(domain, text, what)}"


def postmaster_domain(host: str) -> str:
    """The domain to ask for postmaster@ when the user names no recipient.

    mail.example.com -> example.com; an IP address or a single label -> the host itself,
    as a domain literal for addresses (RFC 5321 4.1.3).
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        labels = host.rstrip(".").split(".")
        return ".".join(labels[1:]) if len(labels) > 2 else host
    prefix = "IPv6:" if address.version == 6 else ""
    return f"[{prefix}{address}]"
