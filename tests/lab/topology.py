"""The fault lab: a per-test topology of network namespaces with real routers and faults.

    client ── r1 ── [r2] ── LAN bridge (in the last router) ── s1, s2, ... and dns

Addresses (documentation ranges only):

| link | IPv4 | IPv6 |
| --- | --- | --- |
| client - r1 | 198.51.100.2 / .1 (/28) | 2001:db8:1::2 / ::1 |
| r1 - r2 | 198.51.100.17 / .18 (/28) | 2001:db8:2::1 / ::2 |
| LAN (gateway = last router) | 203.0.113.1, servers .10+, dns .53 | 2001:db8:3::1, ::10+, ::53 |

Faults are nftables rules in the routers' `forward` / `output` chains, link MTUs, routes
removed from the client, and DNS servers stopped, blocked or replaced by a misbehaving
stub. `Lab.close()` removes every namespace, /etc/netns directory and process.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab.dnsmasq import REPO, Zone, start_dnsmasq, start_stub, stop

_counter = itertools.count()

CLIENT_V4, CLIENT_V6 = "198.51.100.2", "2001:db8:1::2"
LAN_V4_GW, LAN_V6_GW = "203.0.113.1", "2001:db8:3::1"
DNS_V4, DNS_V6 = "203.0.113.53", "2001:db8:3::53"
STUB_V4 = "203.0.113.54"  # where a misbehaving DNS stub listens (in the dns namespace)

# badsmtp (normal mode) that appends every command line it receives to a file, flushed at
# once, so a test can assert what a client sent (argv: listen address, port, log file).
_RECORDER = """
import asyncio, signal, sys
from tests.support.badsmtp import BadConfig, BadSMTP
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
log = open(path, "a", encoding="utf-8")
class Log(list):
    def append(self, line):
        super().append(line)
        log.write(line + "\\n")
        log.flush()
async def main():
    server = BadSMTP(BadConfig(), host, port)
    server.commands = Log()
    await server.start()
    print(server.port, flush=True)
    done = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
    await done.wait()
    await server.stop()
asyncio.run(main())
"""


@dataclass
class Node:
    """One namespace and the addresses the lab gave it (the first is the main one)."""

    ns: str
    v4: str = ""
    v6: str = ""
    name: str = ""  # the DNS name in the lab's zone, for servers


@dataclass
class Lab:
    """A built topology; use the fault methods, then `close()` (the fixture does)."""

    tag: str
    n_routers: int = 1
    n_servers: int = 1
    zone: Zone | None = None
    client: Node = field(init=False)
    routers: list[Node] = field(init=False, default_factory=list)
    servers: list[Node] = field(init=False, default_factory=list)
    dns: Node = field(init=False)
    procs: list[subprocess.Popen[bytes]] = field(init=False, default_factory=list)
    dns_proc: subprocess.Popen[bytes] | None = field(init=False, default=None)
    _namespaces: list[str] = field(init=False, default_factory=list)
    _tmpdirs: list[Path] = field(init=False, default_factory=list)

    # ---- building ---------------------------------------------------------------

    def build(self) -> Lab:
        """Create namespaces, links, addresses, routes, forwarding and the DNS server."""
        t = self.tag
        self.client = Node(f"{t}c", CLIENT_V4, CLIENT_V6)
        self.routers = [Node(f"{t}r{i + 1}") for i in range(self.n_routers)]
        self.servers = [
            Node(
                f"{t}s{i + 1}", f"203.0.113.{10 + i}", f"2001:db8:3::{10 + i}", f"s{i + 1}.lab.test"
            )
            for i in range(self.n_servers)
        ]
        self.dns = Node(f"{t}d", DNS_V4, DNS_V6)
        everyone = [self.client, *self.routers, *self.servers, self.dns]
        for node in everyone:
            sh("ip", "netns", "add", node.ns)
            self._namespaces.append(node.ns)
            sh("ip", "-n", node.ns, "link", "set", "lo", "up")
            # no duplicate address detection: link-locals are usable at once
            sysctl(node.ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
        for router in self.routers:
            sysctl(router.ns, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")

        r1 = self.routers[0]
        self._link(self.client, "eth0", CLIENT_V4, CLIENT_V6, r1, "down0", "198.51.100.1",
                   "2001:db8:1::1", 28)  # fmt: skip
        ip(self.client.ns, "route", "add", "default", "via", "198.51.100.1")
        ip(self.client.ns, "-6", "route", "add", "default", "via", "2001:db8:1::1")
        last = r1
        if self.n_routers == 2:
            r2 = self.routers[1]
            self._link(r1, "up0", "198.51.100.17", "2001:db8:2::1", r2, "down0", "198.51.100.18",
                       "2001:db8:2::2", 28)  # fmt: skip
            ip(r1.ns, "route", "add", "203.0.113.0/24", "via", "198.51.100.18")
            ip(r1.ns, "-6", "route", "add", "2001:db8:3::/64", "via", "2001:db8:2::2")
            ip(r2.ns, "route", "add", "default", "via", "198.51.100.17")
            ip(r2.ns, "-6", "route", "add", "default", "via", "2001:db8:2::1")
            last = r2
        ip(last.ns, "link", "add", "br0", "type", "bridge")
        ip(last.ns, "link", "set", "br0", "up")
        ip(last.ns, "addr", "add", f"{LAN_V4_GW}/24", "dev", "br0")
        ip(last.ns, "-6", "addr", "add", f"{LAN_V6_GW}/64", "dev", "br0", "nodad")
        for i, node in enumerate([*self.servers, self.dns]):
            port = f"lan{i}"
            ip(
                last.ns,
                "link",
                "add",
                port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                node.ns,
            )
            ip(last.ns, "link", "set", port, "master", "br0", "up")
            ip(node.ns, "link", "set", "eth0", "up")
            ip(node.ns, "addr", "add", f"{node.v4}/24", "dev", "eth0")
            ip(node.ns, "-6", "addr", "add", f"{node.v6}/64", "dev", "eth0", "nodad")
            ip(node.ns, "route", "add", "default", "via", LAN_V4_GW)
            ip(node.ns, "-6", "route", "add", "default", "via", LAN_V6_GW)
        for router in self.routers:
            nft(router.ns, "add table inet lab")
            nft(router.ns, "add chain inet lab forward { type filter hook forward priority 0; }")
            nft(router.ns, "add chain inet lab output { type filter hook output priority 0; }")
        self._write_netns_files()
        self.start_dns(self.zone or self.default_zone())
        return self

    def _link(
        self, a: Node, a_if: str, a4: str, a6: str, b: Node, b_if: str, b4: str, b6: str,
        plen: int,
    ) -> None:  # fmt: skip
        ip(a.ns, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b.ns)
        for node, ifname, v4, v6 in ((a, a_if, a4, a6), (b, b_if, b4, b6)):
            # up first: an IPv6 address added to a down link misses its multicast
            # joins, and the first neighbour solicitation for it goes unanswered (1 s)
            ip(node.ns, "link", "set", ifname, "up")
            ip(node.ns, "addr", "add", f"{v4}/{plen}", "dev", ifname)
            ip(node.ns, "-6", "addr", "add", f"{v6}/64", "dev", ifname, "nodad")

    def default_zone(self) -> Zone:
        """s1.lab.test, s2.lab.test, ... with both families; lab.test MX -> s1."""
        hosts: dict[str, tuple[str, ...]] = {s.name: (s.v4, s.v6) for s in self.servers}
        hosts["v4only.lab.test"] = (self.servers[0].v4,)
        return Zone(
            domain="lab.test",
            hosts=hosts,
            mx={"lab.test": [(10, self.servers[0].name)]},
            null_mx=["nullmx.lab.test"],
            txt_only=["noaddr.lab.test"],
        )

    @property
    def netns_dir(self) -> Path:
        """/etc/netns/CLIENT: its files are bind-mounted over /etc by `ip netns exec`."""
        return Path("/etc/netns") / self.client.ns

    def _write_netns_files(self) -> None:
        self.netns_dir.mkdir(parents=True, exist_ok=True)
        (self.netns_dir / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")
        self.set_resolvers([DNS_V4])

    def set_resolvers(self, servers: list[str], options: str = "timeout:1 attempts:1") -> None:
        """Rewrite the client's resolv.conf (nameservers and options)."""
        lines = [f"nameserver {s}" for s in servers] + [f"options {options}"]
        (self.netns_dir / "resolv.conf").write_text("\n".join(lines) + "\n")

    # ---- processes --------------------------------------------------------------

    def start_dns(self, zone: Zone) -> None:
        """(Re)start dnsmasq in the dns namespace on DNS_V4 and DNS_V6, port 53."""
        self.stop_dns()
        self.zone = zone
        proc = start_dnsmasq(zone, DNS_V4, 53, netns=self.dns.ns, extra_listen=[DNS_V6])
        self.dns_proc = proc
        self.procs.append(proc)
        wait_udp(self.dns.ns, DNS_V4, 53)

    def stop_dns(self) -> None:
        """Stop dnsmasq: queries then get ICMP port-unreachable (or nothing)."""
        if self.dns_proc is not None:
            stop(self.dns_proc)
            self.dns_proc = None

    def dns_stub(self, mode: str, delay: float = 0.0) -> str:
        """A misbehaving DNS server (slow, servfail, refused, drop) in the dns namespace.

        It listens on STUB_V4 port 53 and forwards to dnsmasq in slow mode; the client's
        resolv.conf is pointed at it. Returns its address.
        """
        ip(self.dns.ns, "addr", "add", f"{STUB_V4}/24", "dev", "eth0")
        self.procs.append(
            start_stub(STUB_V4, 53, mode, delay=delay, upstream=f"{DNS_V4}:53", netns=self.dns.ns)
        )
        self.set_resolvers([STUB_V4])
        return STUB_V4

    def start_smtp(
        self, server: Node, *, port: int = 25, mode: str = "normal", family: int = 0,
        extra: list[str] | None = None,
    ) -> None:  # fmt: skip
        """badsmtp in SERVER's namespace on its IPv4 and IPv6 address (or one FAMILY: 4/6)."""
        addrs = [a for f, a in ((4, server.v4), (6, f"[{server.v6}]")) if family in (0, f)]
        for addr in addrs:
            argv = [*exec_in(server.ns), sys.executable, "-m", "tests.support.badsmtp",
                    "--listen", f"{addr}:{port}", "--mode", mode, *(extra or [])]  # fmt: skip
            proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=REPO
            )
            self.procs.append(proc)
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.strip().isdigit():
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"badsmtp did not start on {addr}:{port}: {err}")

    def record_smtp(self, server: Node, *, port: int = 25) -> Path:
        """A normal SMTP server on SERVER's v4 and v6 address that logs every command.

        Returns the log file: one command line per line (AUTH data redacted), written as
        each command arrives.
        """
        tmp = Path(tempfile.mkdtemp(prefix=f"{self.tag}-smtplog-"))
        self._tmpdirs.append(tmp)
        log = tmp / f"{server.name or server.ns}-{port}.log"
        log.touch()
        for addr in (server.v4, server.v6):
            argv = [*exec_in(server.ns), sys.executable, "-c", _RECORDER, addr, str(port),
                    str(log)]  # fmt: skip
            proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=REPO
            )
            self.procs.append(proc)
            assert proc.stdout is not None
            if not proc.stdout.readline().strip().isdigit():
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"recording server did not start on {addr}:{port}: {err}")
        return log

    def run_client(
        self, argv: list[str], timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ARGV (`["smtpdoctor", "check", ...]`) in the client namespace, as a user would."""
        if argv and argv[0] == "smtpdoctor":
            argv = [sys.executable, "-m", "smtpdoctor", *argv[1:]]
        return subprocess.run(
            [*exec_in(self.client.ns), *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_env(),
            cwd=REPO,
            check=False,
        )

    # ---- faults -----------------------------------------------------------------

    def router(self, index: int) -> Node:
        """Router 1 or 2 (1-based, like the namespace names)."""
        return self.routers[index - 1]

    def fault(self, router: int, rule: str, chain: str = "forward") -> None:
        """Add one nft rule (text after the chain name) to ROUTER's chain."""
        nft(self.router(router).ns, f"add rule inet lab {chain} {rule}")

    def drop(self, router: int = 1, *, dport: int | None = None, family: int = 0) -> None:
        """Silently drop TCP (to DPORT, or every port) toward the LAN."""
        self.fault(router, f"{_match(family)}{_tcp(dport)} drop")

    def drop_to(self, server: Node, router: int = 1, *, dport: int | None = None) -> None:
        """Silently drop TCP (to DPORT, or every port) toward SERVER's addresses only."""
        self.fault(router, f"ip daddr {server.v4} {_tcp(dport)} drop")
        self.fault(router, f"ip6 daddr {server.v6} {_tcp(dport)} drop")

    def reject_reset(self, router: int = 1, *, dport: int | None = None) -> None:
        """Answer the SYN with a TCP reset."""
        self.fault(router, f"{_tcp(dport) or 'meta l4proto tcp'} reject with tcp reset")

    def reject_icmp(self, router: int = 1, *, kind: str = "host-unreachable",
                    dport: int | None = None) -> None:  # fmt: skip
        """Answer with ICMP KIND (host-unreachable or admin-prohibited), ICMPv6 likewise."""
        v6 = {"host-unreachable": "addr-unreachable", "admin-prohibited": "admin-prohibited"}[kind]
        match = _tcp(dport) or "meta l4proto tcp"
        self.fault(router, f"meta nfproto ipv4 {match} reject with icmp type {kind}")
        self.fault(router, f"meta nfproto ipv6 {match} reject with icmpv6 type {v6}")

    def mtu_blackhole(self, router: int = 1, mtu: int = 1280) -> None:
        """Lower the MTU toward the client on ROUTER and drop the ICMP that would say so.

        Only the router's end of the link shrinks, so the client still advertises a full
        MSS and the server's big segments (the TLS certificate) vanish at the router.
        """
        node = self.router(router)
        ip(node.ns, "link", "set", "down0", "mtu", str(mtu))
        self.fault(router, "icmp type destination-unreachable icmp code frag-needed drop", "output")
        self.fault(router, "icmpv6 type packet-too-big drop", "output")

    def no_route(self, family: int = 4) -> None:
        """Remove the client's default route for FAMILY (4 or 6): network unreachable."""
        ip(self.client.ns, *(["-6"] if family == 6 else []), "route", "del", "default")

    def block_dns(self, router: int = 1) -> None:
        """Drop DNS queries on the way: resolvers time out."""
        self.fault(router, "udp dport 53 drop")
        self.fault(router, "tcp dport 53 drop")

    # ---- teardown ---------------------------------------------------------------

    def close(self) -> None:
        """Stop every process, delete every namespace and the client's /etc/netns files."""
        for proc in self.procs:
            try:
                stop(proc)
            except Exception:  # keep tearing down; the namespace kill below mops up
                proc.kill()
        self.procs.clear()
        for ns in self._namespaces:
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                                  check=False).stdout.split()  # fmt: skip
            for pid in pids:  # processes our commands left in the namespace
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        self._namespaces.clear()
        if hasattr(self, "client"):
            shutil.rmtree(self.netns_dir, ignore_errors=True)
        for tmp in self._tmpdirs:
            shutil.rmtree(tmp, ignore_errors=True)
        self._tmpdirs.clear()


def new_tag() -> str:
    """A short unique prefix for this test's namespaces (pid and a counter)."""
    return f"sdl{os.getpid() % 100000}x{next(_counter)}"


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")


def _match(family: int) -> str:
    return {0: "", 4: "meta nfproto ipv4 ", 6: "meta nfproto ipv6 "}[family]


def _tcp(dport: int | None) -> str:
    return f"tcp dport {dport}" if dport is not None else "meta l4proto tcp"


def exec_in(ns: str) -> list[str]:
    """argv prefix running a command in namespace NS."""
    return ["ip", "netns", "exec", ns]


def sh(*argv: str) -> None:
    """Run a command; raise with its stderr when it fails."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")


def ip(ns: str, *args: str) -> None:
    """`ip -n NS ARGS`."""
    sh("ip", "-n", ns, *args)


def nft(ns: str, command: str) -> None:
    """`nft COMMAND` inside NS."""
    sh(*exec_in(ns), "nft", command)


def sysctl(ns: str, *settings: str) -> None:
    """`sysctl -w` inside NS."""
    sh(*exec_in(ns), "sysctl", "-qw", *settings)


def wait_udp(ns: str, host: str, port: int, timeout: float = 5.0) -> None:
    """Wait until a DNS server answers on HOST:PORT inside NS."""
    script = (
        "import sys,dns.message,dns.query;"
        "dns.query.udp(dns.message.make_query('probe.invalid','A'),sys.argv[1],"
        "port=int(sys.argv[2]),timeout=0.3)"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        argv = [*exec_in(ns), sys.executable, "-c", script, host, str(port)]
        if subprocess.run(argv, capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"DNS server on {host}:{port} in {ns} did not come up")
