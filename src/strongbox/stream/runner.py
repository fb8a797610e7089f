"""Starting a backup dump's stream process and waiting for its outcome, in the server.

The server keeps what needs its own imports (the engine's lock guard, reading log positions,
explaining failures) and the process streams: its memory is its own, so the server stays near
its idle size whatever the dump. The process is started per dump, by whichever server or worker
runs the backup, and ends with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import IO, Any

from strongbox.pipeline import ArtifactResult, PipelineOptions, StreamCommand
from strongbox.storage.light_open import LightOpen
from strongbox.stream import protocol

STDERR_TAIL_LINES = 40
CANCEL_POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 10.0
# The stream process's environment: the tools' (process._PASSED_ENV), Python's own, and what
# boto3 reads for proxies and its configuration; no other secret of the server's reaches it.
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PGSSLROOTCERT", "NO_PROXY")
_PASSED_PREFIXES = ("PYTHON", "AWS_", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


def child_argv() -> list[str]:
    return [sys.executable, "-m", "strongbox.stream.child"]


def child_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k in _PASSED_ENV or k.startswith(_PASSED_PREFIXES) or k == "no_proxy"
    }


def dump_in_child(
    command: StreamCommand,
    storage: LightOpen,
    key: str,
    options: PipelineOptions,
    *,
    on_raw_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ArtifactResult:
    """`pipeline.dump_to_storage`, streamed by a process of its own: the same result, and the
    same exceptions with the same words. A process that dies is a StreamProcessError naming how
    it ended; its dump program is stopped, and the caller removes what it left (incomplete
    uploads included) as after any failed dump."""
    job = protocol.StreamJob(
        argv=command.argv,
        env=command.env,
        storage=storage.to_json(),
        key=key,
        options=options,
        expected_bytes=command.expected_bytes,
        wants_head=command.position_from_head is not None,
    )
    report = protocol.StreamReport(
        on_raw_bytes=on_raw_bytes,
        position_from_head=command.position_from_head,
        position_from_stderr=command.position_from_stderr,
        explain_failure=command.explain_failure,
    )
    process = subprocess.Popen(
        child_argv(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        start_new_session=True,  # a Ctrl-C on the server reaches it only through the server
    )
    report.tool_name = os.path.basename(command.argv[0])
    channel = _Channel(process, report)
    stderr = _StderrTail(process.stderr)
    stop = threading.Event()
    helpers = [threading.Thread(target=stderr.drain, daemon=True)]
    if cancel is not None:
        helpers.append(threading.Thread(target=_forward_cancel, args=(cancel, stop, channel)))
    if command.guard is not None:
        helpers.append(threading.Thread(target=command.guard, args=(channel.kill, stop)))
    try:
        channel.send(protocol.job_message(job))
        for helper in helpers:
            helper.start()
        assert process.stdout is not None
        for line in iter(process.stdout.readline, b""):
            report.take(protocol.decode(line))
        status = process.wait()
    finally:
        stop.set()
        _end(process, channel, report)
        for helper in helpers:
            if helper.is_alive():
                helper.join()
    return report.outcome(status, stderr.tail())


class _Channel:
    """Messages to the stream process's stdin, from any thread; a gone process is ignored."""

    def __init__(self, process: subprocess.Popen[bytes], report: protocol.StreamReport) -> None:
        assert process.stdin is not None
        self._report = report
        self._stdin = process.stdin
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._stdin.write(protocol.encode(message))
            self._stdin.flush()

    def kill(self, reason: str) -> None:
        """Stop the dump with `reason` (the signature of `DumpCommand.guard`'s `kill`)."""
        self._report.stopped_because = reason
        self.send({"type": "kill", "reason": reason})

    def close(self) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._stdin.close()


def _forward_cancel(cancel: threading.Event, stop: threading.Event, channel: _Channel) -> None:
    while not stop.is_set():
        if cancel.wait(CANCEL_POLL_SECONDS):
            channel.send({"type": "cancel"})
            return


def _end(
    process: subprocess.Popen[bytes], channel: _Channel, report: protocol.StreamReport
) -> None:
    """Leave no process behind: closing stdin asks the stream process to stop its dump; one that
    does not end in time is killed, and so is a dump program whose stream process died."""
    channel.close()
    try:
        process.wait(timeout=STOP_GRACE_SECONDS if process.poll() is None else None)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.returncode != 0 and not report.ended and report.tool_pid is not None:
        # The dump runs in its own process group (process.ToolProcess): stop all of it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(report.tool_pid, signal.SIGKILL)
    if process.stdout is not None:
        process.stdout.close()


class _StderrTail:
    """The last lines the stream process wrote to stderr (its tracebacks, its warnings)."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        self._stream = stream
        self._lines: deque[bytes] = deque(maxlen=STDERR_TAIL_LINES)
        self._done = threading.Event()

    def drain(self) -> None:
        assert self._stream is not None
        try:
            for line in iter(self._stream.readline, b""):
                self._lines.append(line)
        finally:
            self._stream.close()
            self._done.set()

    def tail(self) -> str:
        self._done.wait(timeout=5)
        return b"".join(self._lines).decode("utf-8", "replace").strip()
