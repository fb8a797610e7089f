"""Running a backup's stream in a child process (`stream_child`), seen from the parent.

The parent keeps what needs the engine (the log position read from the dump's head or the
tool's stderr, the words for a recognised failure, the guard) and the cancel event; the child
runs the dump tool, zstd, the hash and the upload. Secrets travel in the job on the child's
stdin, never on a command line. A child that dies is a failed backup with the reason; the
upload it left incomplete is aborted with the failed backup's folder (`backup_run`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Protocol, runtime_checkable

from strongbox.engines.base import DumpCommand
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.pipeline import (
    ArtifactResult,
    CanceledError,
    PipelineOptions,
    StoredObject,
    dump_to_storage,
    explained_failure,
)
from strongbox.process import TOOL_FAILED, ToolFailedError
from strongbox.storage.base import BackupStorage

STREAM_DIED = "stream-process-died"
# What the child inherits from the server's environment: none of its secrets.
_CHILD_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PGSSLROOTCERT", "MALLOC_ARENA_MAX")
_ERRORS: dict[str, type[StrongboxError]] = {
    "ToolFailedError": ToolFailedError,
    "CanceledError": CanceledError,
}


@runtime_checkable
class OpenableInChild(Protocol):
    """A storage a stream process can open again from a description (JSON, secret included)."""

    def stream_spec(self) -> dict[str, Any]: ...


def stream_artifact(
    command: DumpCommand,
    storage: BackupStorage,
    key: str,
    options: PipelineOptions,
    *,
    on_raw_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ArtifactResult:
    """`pipeline.dump_to_storage`, in a child process when the storage can be opened there (the
    built-in kinds); a storage kind from elsewhere streams in this process."""
    if isinstance(storage, OpenableInChild):
        spec = storage.stream_spec()
        return dump_in_child(command, spec, key, options, on_raw_bytes=on_raw_bytes, cancel=cancel)
    return dump_to_storage(command, storage, key, options, on_raw_bytes=on_raw_bytes, cancel=cancel)


def dump_in_child(
    command: DumpCommand,
    spec: dict[str, Any],
    key: str,
    options: PipelineOptions,
    *,
    on_raw_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ArtifactResult:
    """`pipeline.dump_to_storage` in a child process; `spec` is `storage.stream_spec()`."""
    job = {
        "argv": command.argv,
        "env": command.env,
        "key": key,
        "expected_bytes": command.expected_bytes,
        "want_head": command.position_from_head is not None,
        "want_stderr": command.position_from_stderr is not None,
        "storage": spec,
        "options": asdict(options),
    }
    env = {k: v for k, v in os.environ.items() if k in _CHILD_ENV}
    child = subprocess.Popen(
        [sys.executable, "-m", "strongbox.stream_child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        start_new_session=True,  # a Ctrl-C on the server reaches it through the pipe, not a signal
    )
    pipe = _Pipe(child)
    pipe.send(job)
    done = threading.Event()
    errors: list[str] = []
    watchers = [
        threading.Thread(target=_watch_cancel, args=(pipe, cancel, done), daemon=True),
        threading.Thread(target=_drain, args=(child, errors), daemon=True),
    ]
    if command.guard is not None:
        guard = command.guard
        watchers.append(
            threading.Thread(
                target=guard, args=(lambda reason: pipe.send({"kill": reason}), done), daemon=True
            )
        )
    for watcher in watchers:
        watcher.start()
    try:
        outcome = _read_outcome(child, on_raw_bytes)
    finally:
        done.set()
        pipe.close()
        _reap(child)
        for watcher in watchers:
            watcher.join(timeout=5)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    if outcome is None:
        # Its incomplete upload is aborted with the backup's folder (`backup_run`).
        raise StrongboxError(
            "the backup's stream process ended without a result "
            f"({_death(child.returncode)}){': ' + ''.join(errors)[-1000:] if errors else ''}",
            STREAM_DIED,
            ErrorKind.REFUSED,
        )
    if "error" in outcome:
        raise _error(command, outcome["error"])
    return _result(command, outcome["result"])


class _Pipe:
    def __init__(self, child: subprocess.Popen[str]) -> None:
        self._child = child
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):
            assert self._child.stdin is not None
            self._child.stdin.write(json.dumps(message) + "\n")
            self._child.stdin.flush()

    def close(self) -> None:
        with self._lock, contextlib.suppress(OSError):
            assert self._child.stdin is not None
            self._child.stdin.close()


def _watch_cancel(pipe: _Pipe, cancel: threading.Event | None, done: threading.Event) -> None:
    if cancel is None:
        return
    while not done.is_set():
        if cancel.wait(0.2):
            pipe.send({"cancel": True})
            return


def _read_outcome(
    child: subprocess.Popen[str], on_raw_bytes: Callable[[int], None] | None
) -> dict[str, Any] | None:
    assert child.stdout is not None
    for line in child.stdout:
        try:
            message = json.loads(line)
        except ValueError:
            continue  # not ours (a library printing): ignored
        if not isinstance(message, dict):
            continue
        if "raw_bytes" in message:
            if on_raw_bytes is not None:
                on_raw_bytes(int(message["raw_bytes"]))
        elif "result" in message or "error" in message:
            return message
    return None


def _reap(child: subprocess.Popen[str]) -> None:
    try:
        child.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _drain(child: subprocess.Popen[str], errors: list[str]) -> None:
    """Keep the last lines the child wrote on stderr (so that a full pipe never blocks it)."""
    assert child.stderr is not None
    with contextlib.suppress(OSError, ValueError):
        for line in child.stderr:
            errors.append(line)
            del errors[:-20]


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by signal {-code}"
    return f"exit status {code}"


def _error(command: DumpCommand, error: dict[str, Any]) -> StrongboxError:
    kind = _ERRORS.get(error.get("type", ""), StrongboxError)
    exc = kind(
        str(error.get("detail", "the backup's stream failed")),
        str(error.get("code", TOOL_FAILED)),
        ErrorKind(error.get("kind", ErrorKind.REFUSED)),
    )
    tail = error.get("stderr_tail")
    if isinstance(exc, ToolFailedError) and isinstance(tail, str):
        return explained_failure(command, tail, exc)
    return exc


def _result(command: DumpCommand, result: dict[str, Any]) -> ArtifactResult:
    position = result.get("log_position")
    if isinstance(position, dict) and "head" in position and command.position_from_head:
        position = command.position_from_head(base64.b64decode(position["head"]))
    elif isinstance(position, dict) and "stderr" in position and command.position_from_stderr:
        position = command.position_from_stderr(str(position["stderr"]).encode())
    return ArtifactResult(
        raw_bytes=int(result["raw_bytes"]),
        stored_bytes=int(result["stored_bytes"]),
        sha256=str(result["sha256"]),
        log_position=position,
        objects=tuple(StoredObject(str(k), int(n), str(s)) for k, n, s in result["objects"]),
    )
