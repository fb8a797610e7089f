"""The machine and its processes: CPU seconds, resident memory sampled during a run, and a
description of the machine for the results."""

from __future__ import annotations

import os
import platform
import re
import resource
import subprocess
import threading
from pathlib import Path

import boto3
import zstandard

from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer

RSS_INTERVAL = 0.05
CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """CPU seconds of a process and of its children it has already waited for."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    # Fields 14-17 of proc(5) (utime, stime, cutime, cstime); index 0 here is field 3.
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def machine_busy_cpu() -> float:
    """CPU seconds all cores of the machine have been busy since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def own_cpu() -> tuple[float, float]:
    """(this process, its waited-for children) CPU seconds."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def proc_status_kib(pid: int, key: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


class RssSampler:
    """Samples one process's VmRSS every RSS_INTERVAL in a thread; `peak_kib` is the highest.

    Sampling the resident set (rather than reading VmHWM alone) gives the peak of each backup,
    not of the process's whole life. `peak_anon_kib` is the highest RssAnon: the private heap,
    without the shared-library pages that VmRSS also counts."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_kib = 0
        self.peak_anon_kib = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, proc_status_kib(self._pid, "VmRSS"))
            self.peak_anon_kib = max(self.peak_anon_kib, proc_status_kib(self._pid, "RssAnon"))
            self._stop.wait(RSS_INTERVAL)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def describe_machine(weed: SeaweedServer, pg: PostgresServer) -> None:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = proc_meminfo_gib()
    pg_version = pg.query("SHOW server_version")[0][0]
    zstd = subprocess.run(["zstd", "-V"], capture_output=True, text=True).stdout.strip()
    weed_version = subprocess.run(
        [str(weed.weed), "version"], capture_output=True, text=True
    ).stdout.strip()
    print(f"machine: {os.cpu_count()} cores, {model.group(1) if model else '?'}, {mem:.0f} GiB")
    print(f"python {platform.python_version()}; PostgreSQL {pg_version}; {zstd}")
    print(
        f"python-zstandard {zstandard.__version__} "
        f"(libzstd {'.'.join(map(str, zstandard.ZSTD_VERSION))}); boto3 {boto3.__version__}"
    )
    print(f"SeaweedFS: {weed_version}")
    strongbox_env = {k: v for k, v in os.environ.items() if k.startswith(("STRONGBOX_", "MALLOC_"))}
    print(f"Strongbox settings from the environment: {strongbox_env or 'defaults'}")


def proc_meminfo_gib() -> float:
    text = Path("/proc/meminfo").read_text()
    found = re.search(r"^MemTotal:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024 / 1024 if found else 0.0
