"""Waiting in integration tests: for a condition to hold, and for the processes a job started."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def wait_for(what: str, check: Callable[[], Any], timeout: float = 120) -> Any:
    """The first true answer of `check`, asked every 0.2 s; fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} did not happen"
        time.sleep(0.2)


def processes_running(marker: str) -> list[int]:
    """Live processes whose command line holds `marker` (the test's own tool wrapper path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if marker in cmdline and "State:\tZ" not in status:
            found.append(int(entry.name))
    return found


def files_under(folder: Path) -> list[Path]:
    """Files below `folder`, read safely while another process is removing them."""
    # os.walk skips a folder that disappears mid-walk, where Path.rglob raises.
    return [Path(root) / name for root, _dirs, names in os.walk(folder) for name in names]
