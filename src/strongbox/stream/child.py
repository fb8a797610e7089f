"""The stream process of one backup dump: `python -m strongbox.stream.child`.

It imports only what the stream needs (the pipeline, zstd, the storage backend), reads its job
from stdin, runs the dump through `pipeline.dump_to_storage` and reports on stdout
(`strongbox.stream.protocol`). Messages after the job on stdin cancel the dump or stop it with
the server's reason; stdin closing means the server is gone, and the dump is stopped.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

from strongbox.malloc_arenas import limit_malloc_arenas, map_large_blocks, return_free_memory
from strongbox.pipeline import dump_to_storage
from strongbox.process import ToolProcess
from strongbox.storage.light_open import open_light
from strongbox.stream import protocol

PROGRESS_EVERY_SECONDS = 0.25
SERVER_GONE = "was stopped: the Strongbox server that ran the backup went away"


@dataclass(frozen=True)
class _ChildCommand:
    """The dump as the stream process runs it (`pipeline.StreamCommand`): the server keeps the
    engine's guard, and reads positions and explains failures from what is reported."""

    argv: list[str]
    env: dict[str, str] = field(repr=False)
    expected_bytes: int | None
    position_from_head: Any = None
    position_from_stderr: None = None
    explain_failure: None = None
    guard: None = None


class _Reporter:
    """Writes messages to the server, one whole line at a time, from any thread."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._last_progress = 0.0

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._out.write(protocol.encode(message))
            self._out.flush()

    def progress(self, raw_bytes: int) -> None:
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_EVERY_SECONDS:
            self._last_progress = now
            self.send({"type": "progress", "raw_bytes": raw_bytes})


class _Control:
    """Reads the server's messages after the job and acts on the running dump."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.cancel = threading.Event()
        self._tool: ToolProcess | None = None
        self._pending_kill: str | None = None
        self._lock = threading.Lock()

    def started(self, tool: ToolProcess) -> None:
        with self._lock:
            self._tool = tool
            if self._pending_kill is not None:
                tool.kill(self._pending_kill)

    @property
    def killed(self) -> bool:
        with self._lock:
            return self._tool is not None and self._tool.killed_because is not None

    def stderr_tail(self) -> str:
        with self._lock:
            tool = self._tool
        return tool.stderr_tail() if tool is not None else ""

    def run(self) -> None:
        for line in iter(self._source.readline, b""):
            message = protocol.decode(line)
            if message["type"] == "cancel":
                self.cancel.set()
                # At once: a dump that writes nothing (paused, or waiting on a lock) would keep
                # the stream waiting for its next byte before the flag is seen.
                self._kill("was canceled")
            elif message["type"] == "kill":
                self._kill(str(message.get("reason") or "was stopped"))
        self._kill(SERVER_GONE)  # stdin closed: nobody waits for this dump any more
        self.cancel.set()

    def _kill(self, reason: str) -> None:
        with self._lock:
            if self._tool is None:
                self._pending_kill = reason
            else:
                self._tool.kill(reason)


def main() -> int:
    limit_malloc_arenas()  # before any thread starts, as in the server
    map_large_blocks()
    # Only messages go to the real stdout; anything else a library prints lands on stderr.
    report_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    reporter = _Reporter(report_out)
    job = protocol.job_from(protocol.decode(sys.stdin.buffer.readline()))
    control = _Control(sys.stdin.buffer)
    threading.Thread(target=control.run, daemon=True).start()

    def started(tool: ToolProcess) -> None:
        control.started(tool)
        reporter.send({"type": "started", "tool_pid": tool.pid})

    command = _ChildCommand(
        argv=job.argv,
        env=job.env,
        expected_bytes=job.expected_bytes,
        position_from_head=_head_sender(reporter) if job.wants_head else None,
    )
    try:
        storage = open_light(job.storage)
        # What opening it parsed (botocore's models) is garbage now: give it back before the
        # parts are made, so they do not stack on it.
        return_free_memory()
        result = dump_to_storage(
            command,
            storage,
            job.key,
            job.options,
            on_raw_bytes=reporter.progress,
            cancel=control.cancel,
            on_started=started,
        )
    except BaseException as exc:  # every failure is reported in words, then the process ends
        reporter.send(
            protocol.failed_message(exc, killed=control.killed, stderr_tail=control.stderr_tail())
        )
        return 1
    reporter.send(protocol.done_message(result, control.stderr_tail()))
    return 0


def _head_sender(reporter: _Reporter) -> Any:
    sent = threading.Event()

    def send_head(head: bytes) -> None:
        # The pipeline asks again at the end when no position came of it: once is enough.
        if not sent.is_set():
            sent.set()
            reporter.send(protocol.head_message(head))

    return send_head


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    # Ended here, without the interpreter's shutdown: the control thread is blocked reading
    # stdin, which the server closes only once this process has ended, and the shutdown waited
    # a second for that thread's lock on stdin, then aborted (measured: every dump ended 1 s
    # late, by SIGABRT). Every message was flushed as it was sent; the dump program was
    # waited for and the upload ended with the stream.
    os._exit(status)
