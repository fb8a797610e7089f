"""The one wrapper around the external tools Strongbox runs (pg_dump, mariadb-dump, pg_restore...).

It starts the program with a clean environment plus the extra variables given (passwords travel
only there), keeps the tail of its stderr for error messages, and stops it without leaving a zombie.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections import deque
from typing import IO

from strongbox.errors import ErrorKind, StrongboxError

STDERR_TAIL_BYTES = 4096
# Variables a tool may need from the server's own environment; everything else is left out so
# that no unrelated secret reaches a child process.
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PGSSLROOTCERT")

TOOL_FAILED = "tool-failed"


class ToolFailedError(StrongboxError):
    """A tool exited with an error; the detail holds its name, exit status and stderr tail."""


def tool_failure(name: str, why: str, stderr_tail: str) -> ToolFailedError:
    """The error of tool `name` that `why` ("exited with status 2", or the reason it was
    stopped), with the end of what it wrote to stderr."""
    detail = f"{name} {why}"
    if stderr_tail:
        detail += f": {stderr_tail[-1500:]}"
    return ToolFailedError(detail, TOOL_FAILED, ErrorKind.REFUSED)


class ToolScope:
    """The tools one job started, so that canceling the job stops them wherever they are
    (blocked on a pipe, paused by a rate cap, waiting on a lock). A job's thread enters its
    scope (`with scope:`); every ToolProcess started on that thread joins it, and one started
    after `stop` is stopped at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tools: list[ToolProcess] = []
        self.stopped_because: str | None = None

    def add(self, tool: ToolProcess) -> None:
        with self._lock:
            self._tools = [t for t in self._tools if t.poll() is None]
            self._tools.append(tool)
            reason = self.stopped_because
        if reason is not None:
            tool.kill(reason)

    def stop(self, reason: str) -> None:
        """Kill every tool of the job that still runs, and any it starts from now on."""
        with self._lock:
            self.stopped_because = reason
            tools = list(self._tools)
        for tool in tools:
            if tool.poll() is None:
                tool.kill(reason)

    def __enter__(self) -> ToolScope:
        _current.scope = self
        return self

    def __exit__(self, *exc: object) -> None:
        _current.scope = None


_current = threading.local()


def current_scope() -> ToolScope | None:
    """The tool scope of the calling thread's job, for a thread it starts to enter."""
    scope: ToolScope | None = getattr(_current, "scope", None)
    return scope


class ToolProcess:
    """A running tool whose stdout (or stdin) the caller streams.

    Use as a context manager: leaving it kills the program if it still runs and reaps it.
    """

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        *,
        stdin: int | IO[bytes] | None = subprocess.DEVNULL,
        stdout: int | IO[bytes] | None = subprocess.PIPE,
    ) -> None:
        self.argv = argv
        self.name = os.path.basename(argv[0])
        child_env = {k: v for k, v in os.environ.items() if k in _PASSED_ENV}
        child_env.update(env)
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
                env=child_env,
                start_new_session=True,  # a Ctrl-C on the server does not hit the tool directly
            )
        except OSError as exc:
            raise StrongboxError(
                f"could not start {self.name}: {exc.strerror}; is it installed?",
                "tool-missing",
                ErrorKind.REFUSED,
            ) from exc
        self._stderr_tail: deque[bytes] = deque()
        self._stderr_size = 0
        self._stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_reader.start()
        self.killed_because: str | None = None
        scope: ToolScope | None = getattr(_current, "scope", None)
        if scope is not None:
            scope.add(self)

    @property
    def stdout(self) -> IO[bytes]:
        assert self._proc.stdout is not None
        return self._proc.stdout

    @property
    def stdin(self) -> IO[bytes]:
        assert self._proc.stdin is not None
        return self._proc.stdin

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _drain_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in iter(lambda: self._proc.stderr.readline(), b""):  # type: ignore[union-attr]
            self._stderr_tail.append(line)
            self._stderr_size += len(line)
            while self._stderr_size > STDERR_TAIL_BYTES and len(self._stderr_tail) > 1:
                self._stderr_size -= len(self._stderr_tail.popleft())

    def stderr_tail(self) -> str:
        self._stderr_reader.join(timeout=5)
        return b"".join(self._stderr_tail).decode("utf-8", "replace").strip()

    def kill(self, reason: str) -> None:
        """Stop the tool (and its process group) now; `reason` goes into the error message.
        A tool that already ended keeps its own exit status as the reason (what it started may
        still run, and is stopped all the same)."""
        if self._proc.poll() is None:
            self.killed_because = reason
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)

    def poll(self) -> int | None:
        """The exit status, or None while the tool runs."""
        return self._proc.poll()

    def wait(self) -> int:
        return self._proc.wait()

    def check(self) -> None:
        """Wait for the exit; raise ToolFailedError unless the tool exited 0 and was not killed."""
        code = self.wait()
        if code == 0 and self.killed_because is None:
            return
        why = self.killed_because or f"exited with status {code}"
        raise tool_failure(self.name, why, self.stderr_tail())

    def __enter__(self) -> ToolProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc.poll() is None:
            self.kill(self.killed_because or "was stopped")
        self._proc.wait()
        for pipe in (self._proc.stdout, self._proc.stdin):
            if pipe is not None:
                pipe.close()
        self._stderr_reader.join(timeout=5)
        if self._proc.stderr is not None:
            self._proc.stderr.close()
