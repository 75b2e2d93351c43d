"""One network namespace with addresses on its loopback and an nftables ruleset.

Most single-host faults need no routers: the "remote" addresses live on the namespace's
own loopback and an nftables rule drops or rejects the traffic to them. The lab in
tests/lab builds whole topologies; this is the small case the other test folders share.
Everything (the namespace, its /etc/netns files) is removed on exit, also on failure.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path


def run(*argv: str, stdin: str | None = None, timeout: float = 15) -> None:
    """Run a set-up command; raises with its stderr when it fails."""
    subprocess.run(
        argv,
        input=stdin.encode() if stdin is not None else None,
        check=True,
        capture_output=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def loopback_namespace(
    prefix: str,
    addresses: Iterable[str] = (),
    ruleset: str | None = None,
    resolv_conf: str | None = None,
) -> Iterator[str]:
    """A fresh namespace named PREFIX + random hex; yields its name.

    ADDRESSES go on its loopback (IPv4 as /32 and IPv6 as /128 unless they carry a
    prefix length); RULESET is loaded with `nft -f -`; RESOLV_CONF becomes the
    namespace's /etc/resolv.conf under `ip netns exec`.
    """
    name = f"{prefix}{secrets.token_hex(3)}"
    etc = Path("/etc/netns") / name
    run("ip", "netns", "add", name)
    try:
        if resolv_conf is not None:
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "resolv.conf").write_text(resolv_conf)
        run("ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0")
        run("ip", "-n", name, "link", "set", "lo", "up")
        for address in addresses:
            if ":" in address:
                with_len = address if "/" in address else f"{address}/128"
                run("ip", "-n", name, "-6", "addr", "add", with_len, "dev", "lo", "nodad")
            else:
                with_len = address if "/" in address else f"{address}/32"
                run("ip", "-n", name, "addr", "add", with_len, "dev", "lo")
        if ruleset is not None:
            run("ip", "netns", "exec", name, "nft", "-f", "-", stdin=ruleset)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=15, check=False)
        shutil.rmtree(etc, ignore_errors=True)


def output_ruleset(table: str, *rules: str) -> str:
    """An nftables table with one output-hook chain holding RULES."""
    body = "".join(f"  {rule}\n" for rule in rules)
    return (
        f"table inet {table} {{\n chain out {{\n  type filter hook output priority 0;\n"
        f"{body} }}\n}}\n"
    )
