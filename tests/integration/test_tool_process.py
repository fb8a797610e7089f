"""`ToolProcess.kill` with real programs: the reason a failure reports, and the process group."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from strongbox.process import ToolFailedError, ToolProcess

pytestmark = pytest.mark.integration


def test_a_tool_stopped_while_it_runs_fails_with_the_reason_given() -> None:
    with ToolProcess(["sleep", "30"], {}) as tool:
        tool.kill("was stopped: the restore was canceled")
        with pytest.raises(ToolFailedError, match="the restore was canceled"):
            tool.check()


def test_a_tool_that_already_ended_keeps_its_own_exit_status() -> None:
    with ToolProcess(["sh", "-c", "echo 'archive damaged' >&2; exit 3"], {}) as tool:
        tool.wait()
        tool.kill("was stopped: what it wrote could not be used")
        with pytest.raises(ToolFailedError) as failed:
            tool.check()
    assert "status 3" in str(failed.value)
    assert "archive damaged" in str(failed.value)
    assert "could not be used" not in str(failed.value)


def test_what_an_ended_tool_started_is_stopped_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = f"sleep 30 </dev/null >/dev/null 2>&1 & echo $! > {pid_file}; exit 0"
    with ToolProcess(["sh", "-c", script], {}) as tool:
        tool.wait()
        child = int(pid_file.read_text())
        tool.kill("was stopped")
    deadline = time.monotonic() + 10
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _running(child)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
    return status != "Z"  # a zombie has exited; only its parent's reaping is left
