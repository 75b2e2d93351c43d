"""Machine resources behind many server-side timeouts: load, memory, queue disk space."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from smtpdoctor.finding import Severity
from smtpdoctor.mta.findings import ConfigFinding


@dataclass(frozen=True)
class Resources:
    """What the machine has, read from /proc and statvfs."""

    load1: float | None
    cpus: int
    mem_available: int | None  # bytes
    mem_total: int | None
    disk_free: int | None  # bytes available to unprivileged users on the queue filesystem
    inodes_free: int | None
    inodes_total: int | None


def read_meminfo(text: str) -> tuple[int | None, int | None]:
    """MemAvailable and MemTotal in bytes from /proc/meminfo text."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        words = rest.split()
        if words and words[0].isdigit():
            values[name] = int(words[0]) * 1024
    return values.get("MemAvailable"), values.get("MemTotal")


def read_resources(queue_dir: Path | None) -> Resources:
    """Load, memory and the free space on the filesystem holding queue_dir."""
    try:
        load1: float | None = os.getloadavg()[0]
    except OSError:
        load1 = None
    try:
        avail, total = read_meminfo(Path("/proc/meminfo").read_text())
    except OSError:
        avail = total = None
    disk = inodes = inodes_total = None
    if queue_dir is not None:
        try:
            st = os.statvfs(queue_dir)
            disk, inodes, inodes_total = st.f_bavail * st.f_frsize, st.f_favail, st.f_files
        except OSError:
            pass
    return Resources(load1, os.cpu_count() or 1, avail, total, disk, inodes, inodes_total)


def audit_resources(res: Resources, queue_floor: int | None, queue_dir: str) -> list[ConfigFinding]:
    """Findings: overload, low memory, a queue filesystem under the MTA's floor."""
    out: list[ConfigFinding] = []
    if res.load1 is not None and res.load1 > 2 * res.cpus:
        out.append(
            ConfigFinding(
                "resources",
                "load",
                Severity.WARNING,
                None,
                f"load average {res.load1:.1f} on {res.cpus} CPUs",
                f"{res.load1:.1f}",
                f"< {res.cpus}",
                "an overloaded machine answers SMTP late: clients see greeting and command "
                "timeouts",
                "uptime; top -o %CPU",
            )
        )
    if res.mem_available is not None and res.mem_total and res.mem_available < 0.05 * res.mem_total:
        out.append(
            ConfigFinding(
                "resources",
                "memory",
                Severity.WARNING,
                None,
                f"only {res.mem_available // (1024 * 1024)} MiB of memory available",
                f"{res.mem_available // (1024 * 1024)} MiB",
                "> 5% of total",
                "swapping slows every daemon; content filters time out first",
                "free -m; ps aux --sort=-rss | head",
            )
        )
    if res.disk_free is not None and queue_floor is not None and res.disk_free < queue_floor:
        out.append(
            ConfigFinding(
                "resources",
                "queue disk",
                Severity.ERROR,
                None,
                f"{res.disk_free // (1024 * 1024)} MiB free on the queue filesystem, below "
                f"the MTA's floor of {queue_floor // (1024 * 1024)} MiB",
                f"{res.disk_free} bytes",
                f">= {queue_floor} bytes",
                "Postfix refuses new mail with 452 'Insufficient system storage' below "
                "max(queue_minfree, 1.5 x message_size_limit)",
                f"df -h {queue_dir}; du -sh {queue_dir}/*",
            )
        )
    if (
        res.inodes_free is not None
        and res.inodes_total
        and res.inodes_free < 0.05 * res.inodes_total
    ):
        out.append(
            ConfigFinding(
                "resources",
                "queue inodes",
                Severity.WARNING,
                None,
                f"only {res.inodes_free} inodes free on the queue filesystem",
                str(res.inodes_free),
                "> 5% of total",
                "each queued message is a file: without inodes no mail can be queued",
                f"df -i {queue_dir}",
            )
        )
    return out
