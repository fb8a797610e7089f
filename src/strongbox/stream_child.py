"""The backup stream in a process of its own: `python -m strongbox.stream_child`.

The server (or worker) that runs a backup starts one per artifact (`stream_process`), so that the
stream's buffers, zstd's workers and boto3's upload threads never grow the long-lived process.
It imports only what the stream needs.

Protocol, one JSON object per line. On stdin: first the job (the dump's argv and environment,
the storage to open with its secret, the key and the options), then `{"kill": reason}` (the
command's guard in the parent stops the tool) or `{"cancel": true}`. The end of stdin means the
parent is gone: the tool is stopped and the upload aborted. On stdout: `{"raw_bytes": n}` now
and then, and last `{"result": ...}` or `{"error": ...}`.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from strongbox.engines.base import DumpCommand
from strongbox.errors import StrongboxError
from strongbox.pipeline import ArtifactResult, PipelineOptions, dump_to_storage
from strongbox.storage.base import BackupStorage

PROGRESS_SECONDS = 0.5
GONE_GRACE_SECONDS = 30.0  # after the parent is gone, how long the abort may take


def open_storage(spec: dict[str, Any]) -> BackupStorage:
    """The storage a parent described with its `stream_spec()`."""
    if spec["kind"] == "s3":
        from strongbox.storage.s3.client import S3Settings
        from strongbox.storage.s3.storage import S3Storage

        return S3Storage(
            S3Settings(**spec["settings"]),
            upload_concurrency=spec["upload_concurrency"],
            parts_per_object=spec["parts_per_object"],
        )
    if spec["kind"] == "filesystem":
        from strongbox.storage.filesystem.backend import FilesystemSettings, FilesystemStorage

        return FilesystemStorage(FilesystemSettings(path=spec["path"]))
    raise ValueError(f"unknown storage kind {spec['kind']!r}")


class _Parent:
    """The pipe to the parent: messages out, kill and cancel requests in."""

    def __init__(self, out: IO[str], inp: IO[str]) -> None:
        self._out = out
        self._inp = inp
        self._lock = threading.Lock()
        self.cancel = threading.Event()
        self.kills: queue.Queue[str] = queue.Queue()

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._out.write(json.dumps(message) + "\n")
            self._out.flush()

    def listen(self) -> None:
        for line in self._inp:
            message = json.loads(line)
            if "kill" in message:
                self.kills.put(str(message["kill"]))
            if message.get("cancel"):
                self.cancel.set()
        # The parent is gone (or closed the pipe): stop the tool, abort, and leave in time.
        self.kills.put("was stopped because the server that ran the backup stopped")
        self.cancel.set()
        threading.Timer(GONE_GRACE_SECONDS, os._exit, args=(1,)).start()

    def guard(self, kill: Callable[[str], None], done: threading.Event) -> None:
        """The command's guard in the child: passes the parent's kill requests to the tool."""
        while not done.is_set():
            try:
                kill(self.kills.get(timeout=0.2))
                return
            except queue.Empty:
                continue


def run(job: dict[str, Any], parent: _Parent) -> dict[str, Any]:
    captured: dict[str, Any] = {}

    def head(data: bytes) -> dict[str, Any]:
        return {"head": base64.b64encode(data).decode()}

    def stderr(data: bytes) -> dict[str, Any]:
        return {"stderr": data.decode(errors="replace")}

    def failure(tail: str) -> None:
        captured["stderr_tail"] = tail

    command = DumpCommand(
        artifact_name=job["key"],
        kind="",
        dbname=None,
        format="",
        argv=job["argv"],
        env=job["env"],
        expected_bytes=job["expected_bytes"],
        position_from_head=head if job["want_head"] else None,
        position_from_stderr=stderr if job["want_stderr"] else None,
        explain_failure=failure,
        guard=parent.guard,
    )
    last = 0.0

    def progress(raw: int) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_SECONDS:
            last = time.monotonic()
            parent.send({"raw_bytes": raw})

    try:
        result = dump_to_storage(
            command,
            open_storage(job["storage"]),
            job["key"],
            PipelineOptions(**job["options"]),
            on_raw_bytes=progress,
            cancel=parent.cancel,
        )
    except StrongboxError as exc:
        return {"error": _error(exc) | captured}
    return {"result": _result(result)}


def _error(exc: StrongboxError) -> dict[str, Any]:
    return {"type": type(exc).__name__, "detail": exc.detail, "code": exc.code, "kind": exc.kind}


def _result(result: ArtifactResult) -> dict[str, Any]:
    return {
        "raw_bytes": result.raw_bytes,
        "stored_bytes": result.stored_bytes,
        "sha256": result.sha256,
        "log_position": result.log_position,
        "objects": [[o.key, o.stored_bytes, o.sha256] for o in result.objects],
    }


def main() -> int:
    job = json.loads(sys.stdin.readline())
    parent = _Parent(sys.stdout, sys.stdin)
    threading.Thread(target=parent.listen, daemon=True).start()
    try:
        parent.send(run(job, parent))
    except Exception as exc:  # reported, not a traceback the parent must parse
        parent.send({"error": {"type": type(exc).__name__, "detail": str(exc)}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
