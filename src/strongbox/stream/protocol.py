"""What the server and a backup's stream process say to each other: one JSON object per line.

Server -> stream process (its stdin): first the job (`job_message`), then at any time
`{"type": "cancel"}` or `{"type": "kill", "reason": ...}` (a guard of the server's, such as the
MariaDB lock watcher, stops the dump with that reason).

Stream process -> server (its stdout): `started` (the dump program's pid), `progress` (raw bytes
read so far), `head` (the dump's first bytes, when the server reads a log position from them),
then exactly one of `done` (sizes, checksums, objects, the dump's stderr tail) or `failed` (the
error's class, words, code and kind, whether the dump was stopped on purpose, the stderr tail).

`StreamReport` turns the messages the server received, and how the process ended, back into
the `ArtifactResult` or the exception that the same dump run in the server would have given:
every failure keeps its words.
"""

from __future__ import annotations

import base64
import json
import signal
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from strongbox.errors import ErrorKind, StrongboxError
from strongbox.pipeline import (
    ArtifactResult,
    CanceledError,
    PipelineOptions,
    StoredObject,
)
from strongbox.process import TOOL_FAILED, ToolFailedError, tool_failure

# Classes of the error a `failed` message names.
TOOL = "tool"
CANCEL = "cancel"
STRONGBOX = "strongbox"
UNEXPECTED = "unexpected"
_ERROR_CLASSES = (TOOL, CANCEL, STRONGBOX, UNEXPECTED)

STREAM_DIED = "stream-process-died"
BAD_MESSAGE = "stream-process-bad-message"


class StreamProcessError(StrongboxError):
    """The stream process ended without a result, or said something that makes no sense."""


@dataclass(frozen=True)
class StreamJob:
    """One dump for the stream process: the program, where its output goes, and how."""

    argv: list[str]
    env: dict[str, str]
    storage: dict[str, Any]  # a `LightOpen.to_json()`
    key: str
    options: PipelineOptions
    expected_bytes: int | None
    wants_head: bool  # the server reads a log position from the dump's first bytes


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """One message; StreamProcessError when the line is not a JSON object with a `type`."""
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise _bad(f"a line that is not JSON ({line[:80]!r})") from exc
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise _bad(f"a message without a type ({line[:80]!r})")
    return message


def job_message(job: StreamJob) -> dict[str, Any]:
    return {"type": "job", **asdict(job)}


def job_from(message: dict[str, Any]) -> StreamJob:
    """The job in the first message; StreamProcessError when it is not one."""
    if message.get("type") != "job":
        raise _bad("the first message was not a job")
    fields = {k: v for k, v in message.items() if k != "type"}
    try:
        options = dict(fields["options"])
        # JSON has no tuples: the recipients come back as a list.
        options["age_recipients"] = tuple(options.get("age_recipients", ()))
        fields["options"] = PipelineOptions(**options)
        return StreamJob(**fields)
    except (KeyError, TypeError) as exc:
        raise _bad(f"a job that cannot be read: {exc}") from exc


def head_message(head: bytes) -> dict[str, Any]:
    return {"type": "head", "data": base64.b64encode(head).decode()}


def done_message(result: ArtifactResult, stderr_tail: str) -> dict[str, Any]:
    return {
        "type": "done",
        "raw_bytes": result.raw_bytes,
        "stored_bytes": result.stored_bytes,
        "sha256": result.sha256,
        "objects": [[o.key, o.stored_bytes, o.sha256] for o in result.objects],
        "stderr_tail": stderr_tail,
    }


def failed_message(exc: BaseException, *, killed: bool, stderr_tail: str) -> dict[str, Any]:
    """The words of `exc` as the server must repeat them; `killed`: the dump was stopped on
    purpose (a guard, the stall watchdog, a cancel), so its stderr is not explained again."""
    if isinstance(exc, ToolFailedError):
        error_class = TOOL
    elif isinstance(exc, CanceledError):
        error_class = CANCEL
    elif isinstance(exc, StrongboxError):
        error_class = STRONGBOX
    else:
        return {
            "type": "failed",
            "error": UNEXPECTED,
            "detail": repr(exc),
            "code": "error",
            "kind": ErrorKind.INTERNAL.value,
            "killed": killed,
            "stderr_tail": stderr_tail,
        }
    return {
        "type": "failed",
        "error": error_class,
        "detail": exc.detail,
        "code": exc.code,
        "kind": exc.kind.value,
        "killed": killed,
        "stderr_tail": stderr_tail,
    }


class StreamReport:
    """What the server learnt from one stream process, and the outcome it makes."""

    def __init__(
        self,
        *,
        on_raw_bytes: Callable[[int], None] | None = None,
        position_from_head: Callable[[bytes], dict[str, Any] | None] | None = None,
        position_from_stderr: Callable[[bytes], dict[str, Any] | None] | None = None,
        explain_failure: Callable[[str], str | None] | None = None,
    ) -> None:
        self._on_raw_bytes = on_raw_bytes
        self._position_from_head = position_from_head
        self._position_from_stderr = position_from_stderr
        self._explain_failure = explain_failure
        self.tool_pid: int | None = None
        # Why the server stopped the dump (its guard's reason), set from the guard's thread.
        self.stopped_because: str | None = None
        self.tool_name = "the dump program"
        self.raw_bytes = 0
        self._log_position: dict[str, Any] | None = None
        self._final: dict[str, Any] | None = None

    @property
    def ended(self) -> bool:
        """A `done` or `failed` message arrived."""
        return self._final is not None

    def take(self, message: dict[str, Any]) -> None:
        """One message from the stream process; StreamProcessError for one that makes no sense."""
        kind = message["type"]
        if self._final is not None:
            raise _bad(f"a '{kind}' message after the end")
        if kind == "started":
            self.tool_pid = _int(message, "tool_pid")
        elif kind == "progress":
            self.raw_bytes = _int(message, "raw_bytes")
            if self._on_raw_bytes is not None:
                self._on_raw_bytes(self.raw_bytes)
        elif kind == "head":
            if self._position_from_head is not None:
                self._log_position = self._position_from_head(_base64(message, "data"))
        elif kind in ("done", "failed"):
            self._final = message
        else:
            raise _bad(f"an unknown message '{kind}'")

    def outcome(self, exit_status: int, stderr_tail: str) -> ArtifactResult:
        """The result, once the process ended with `exit_status` (negative: the signal that
        ended it) and wrote `stderr_tail` of its own; raises what failed."""
        final = self._final
        if final is None:
            raise StreamProcessError(
                f"the stream process {_how_it_ended(exit_status)} before the dump ended, so the "
                f"backup is not kept{': ' + stderr_tail[-500:] if stderr_tail else ''}",
                STREAM_DIED,
                ErrorKind.INTERNAL,
            )
        if final["type"] == "failed":
            raise self._error(final)
        log_position = self._log_position
        if self._position_from_stderr is not None:
            log_position = self._position_from_stderr(_str(final, "stderr_tail").encode())
        objects = final.get("objects")
        if not isinstance(objects, list) or not objects:
            raise _bad("a result without objects")
        return ArtifactResult(
            raw_bytes=_int(final, "raw_bytes"),
            stored_bytes=_int(final, "stored_bytes"),
            sha256=_str(final, "sha256"),
            log_position=log_position,
            objects=tuple(_stored_object(o) for o in objects),
        )

    def _error(self, final: dict[str, Any]) -> StrongboxError:
        error_class = final.get("error")
        if error_class not in _ERROR_CLASSES:
            raise _bad(f"a failure of unknown class {error_class!r}")
        detail, code = _str(final, "detail"), _str(final, "code")
        try:
            kind = ErrorKind(str(final.get("kind")))
        except ValueError as exc:
            raise _bad(f"a failure of unknown kind {final.get('kind')!r}") from exc
        if error_class == TOOL:
            stderr_tail = _str(final, "stderr_tail")
            if final.get("killed"):
                return ToolFailedError(detail, code, kind)
            if self.stopped_because is not None:
                # The guard's own action (ending the dump's session on the server) can end
                # the program before the stop message reaches the stream process: the reason
                # is still the guard's.
                return tool_failure(self.tool_name, self.stopped_because, stderr_tail)
            reason = None
            if self._explain_failure is not None:
                reason = self._explain_failure(stderr_tail)
            if reason is not None:
                return ToolFailedError(reason, TOOL_FAILED, ErrorKind.REFUSED)
            return ToolFailedError(detail, code, kind)
        if error_class == CANCEL:
            return CanceledError(detail, code, kind)
        if error_class == UNEXPECTED:
            detail = f"unexpected error in the stream process: {detail}"
            return StreamProcessError(detail, code, kind)
        return StrongboxError(detail, code, kind)


def _how_it_ended(exit_status: int) -> str:
    """
    >>> _how_it_ended(-9)
    'was killed by SIGKILL'
    >>> _how_it_ended(1)
    'exited with status 1'
    """
    if exit_status < 0:
        try:
            name = signal.Signals(-exit_status).name
        except ValueError:
            name = f"signal {-exit_status}"
        return f"was killed by {name}"
    return f"exited with status {exit_status}"


def _stored_object(value: Any) -> StoredObject:
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not isinstance(value[0], str)
        or not isinstance(value[1], int)
        or not isinstance(value[2], str)
    ):
        raise _bad(f"an object that cannot be read: {value!r}")
    return StoredObject(value[0], value[1], value[2])


def _int(message: dict[str, Any], name: str) -> int:
    value = message.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _bad(f"'{name}' is not a count: {value!r}")
    return value


def _str(message: dict[str, Any], name: str) -> str:
    value = message.get(name)
    if not isinstance(value, str):
        raise _bad(f"'{name}' is not text: {value!r}")
    return value


def _base64(message: dict[str, Any], name: str) -> bytes:
    try:
        return base64.b64decode(_str(message, name), validate=True)
    except ValueError as exc:
        raise _bad(f"'{name}' is not base64") from exc


def _bad(what: str) -> StreamProcessError:
    return StreamProcessError(
        f"the stream process sent {what}; the backup is not kept", BAD_MESSAGE, ErrorKind.INTERNAL
    )
