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


def stream_processes(server_pid: int, marker: bytes = b"strongbox.stream.child") -> list[int]:
    """The backup stream processes a Strongbox server runs now (its children whose command line
    names the stream module; the dump tools are their children, not the server's)."""
    found = []
    try:
        tasks = list(Path(f"/proc/{server_pid}/task").iterdir())
    except OSError:
        return []
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if marker in cmdline:
                found.append(int(child))
    return found


def own_cpu_of(pid: int) -> float:
    """CPU seconds of the process itself (utime + stime), without its children."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:13]) / CLK_TCK


class ServerAndStreamSampler(RssSampler):
    """`RssSampler` of a Strongbox server, plus its backup stream processes: the peak VmRSS of
    any one stream process, the peak of the server and its stream processes together, and the
    CPU seconds the stream processes used (last seen before each ended)."""

    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.peak_stream_kib = 0
        self.peak_sum_kib = 0
        self._stream_cpu: dict[int, float] = {}

    @property
    def stream_cpu(self) -> float:
        return sum(self._stream_cpu.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            server = proc_status_kib(self._pid, "VmRSS")
            streams = 0
            for child in stream_processes(self._pid):
                rss = proc_status_kib(child, "VmRSS")
                self.peak_stream_kib = max(self.peak_stream_kib, rss)
                streams += rss
                cpu = own_cpu_of(child)
                if cpu:
                    self._stream_cpu[child] = cpu
            self.peak_kib = max(self.peak_kib, server)
            self.peak_anon_kib = max(self.peak_anon_kib, proc_status_kib(self._pid, "RssAnon"))
            self.peak_sum_kib = max(self.peak_sum_kib, server + streams)
            self._stop.wait(RSS_INTERVAL)
