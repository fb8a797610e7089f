"""What a backup's stream process reports, turned back into the outcome the server records:
every failure keeps the words it would have had in the server's own process."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from strongbox.errors import ErrorKind, StrongboxError
from strongbox.pipeline import ArtifactResult, CanceledError, PipelineOptions, StoredObject
from strongbox.process import ToolFailedError, tool_failure
from strongbox.stream import protocol

RESULT = ArtifactResult(
    raw_bytes=100,
    stored_bytes=40,
    sha256="ab" * 32,
    log_position=None,
    objects=(StoredObject("p/db/b/app.zst", 30, "cd" * 32), StoredObject("p/x.2", 10, "ef" * 32)),
)


def through_the_pipe(message: dict[str, Any]) -> dict[str, Any]:
    return protocol.decode(protocol.encode(message))


def test_a_job_survives_the_pipe_whole() -> None:
    job = protocol.StreamJob(
        argv=["pg_dump", "-Fc", "app"],
        env={"PGPASSWORD": "s3cret"},
        storage={"function": "strongbox.storage.filesystem.backend:open_folder", "arguments": {}},
        key="prod/b/app.pgdump.zst",
        options=PipelineOptions(zstd_level=5, max_rate_bytes_per_second=1e6),
        expected_bytes=1234,
        wants_head=True,
    )
    assert protocol.job_from(through_the_pipe(protocol.job_message(job))) == job


def test_a_first_message_that_is_not_a_job_is_refused() -> None:
    with pytest.raises(protocol.StreamProcessError, match="was not a job"):
        protocol.job_from({"type": "progress", "raw_bytes": 1})


@pytest.mark.parametrize("line", [b"not json\n", b"[1, 2]\n", b'{"no": "type"}\n'])
def test_lines_that_are_not_messages_are_refused(line: bytes) -> None:
    with pytest.raises(protocol.StreamProcessError):
        protocol.decode(line)


def test_a_done_report_gives_the_same_result_and_the_progress_on_the_way() -> None:
    seen: list[int] = []
    report = protocol.StreamReport(on_raw_bytes=seen.append)
    report.take(through_the_pipe({"type": "started", "tool_pid": 4321}))
    report.take(through_the_pipe({"type": "progress", "raw_bytes": 50}))
    report.take(through_the_pipe({"type": "progress", "raw_bytes": 100}))
    report.take(through_the_pipe(protocol.done_message(RESULT, "")))
    assert (report.tool_pid, seen) == (4321, [50, 100])
    assert report.outcome(0, "") == RESULT


def test_the_log_position_is_read_in_the_server_from_the_head_or_the_stderr() -> None:
    heads: list[bytes] = []

    def from_head(head: bytes) -> dict[str, Any]:
        heads.append(head)
        return {"file": "bin.000001", "position": 4}

    report = protocol.StreamReport(position_from_head=from_head)
    report.take(through_the_pipe(protocol.head_message(b"-- CHANGE MASTER \x00\xff")))
    report.take(through_the_pipe(protocol.done_message(RESULT, "")))
    assert heads == [b"-- CHANGE MASTER \x00\xff"]
    assert report.outcome(0, "").log_position == {"file": "bin.000001", "position": 4}

    def from_stderr(tail: bytes) -> dict[str, Any]:
        return {"wal": tail.decode()}

    report = protocol.StreamReport(position_from_stderr=from_stderr)
    report.take(through_the_pipe(protocol.done_message(RESULT, "0/2000028")))
    assert report.outcome(0, "").log_position == {"wal": "0/2000028"}


def failed(exc: BaseException, *, killed: bool = False, tail: str = "") -> dict[str, Any]:
    return through_the_pipe(protocol.failed_message(exc, killed=killed, stderr_tail=tail))


def outcome_of(report: protocol.StreamReport, message: dict[str, Any]) -> BaseException:
    report.take(message)
    with pytest.raises(StrongboxError) as raised:
        report.outcome(1, "")
    return raised.value


def test_a_tool_failure_keeps_its_words_and_class() -> None:
    exc = tool_failure("pg_dump", "exited with status 1", "connection to server was lost")
    got = outcome_of(protocol.StreamReport(), failed(exc))
    assert isinstance(got, ToolFailedError)
    assert (got.detail, got.code, got.kind) == (exc.detail, exc.code, exc.kind)


def test_a_stall_stop_is_not_explained_again() -> None:
    exc = tool_failure("pg_dump", "stalled: no data for 301 s, so it was stopped", "")
    report = protocol.StreamReport(explain_failure=lambda _tail: "a lock, surely")
    got = outcome_of(report, failed(exc, killed=True))
    assert got.detail == "pg_dump stalled: no data for 301 s, so it was stopped"


def test_a_failure_the_engine_recognises_is_told_in_its_words() -> None:
    exc = tool_failure("pg_dump", "exited with status 1", "could not obtain lock on orders")

    def explain(tail: str) -> str | None:
        return "waited too long for a lock on orders" if "lock" in tail else None

    report = protocol.StreamReport(explain_failure=explain)
    got = outcome_of(report, failed(exc, tail="could not obtain lock on orders"))
    assert got.detail == "waited too long for a lock on orders"


def test_the_guards_reason_wins_when_its_action_ended_the_dump_first() -> None:
    """The MariaDB lock guard kills the dump's session on the server, which can end the
    program before the stop message reaches the stream process."""
    exc = tool_failure("mariadb-dump", "exited with status 2", "Lost connection (2013)")
    report = protocol.StreamReport()
    report.tool_name = "mariadb-dump"
    report.stopped_because = "waited more than 2 s for the metadata lock on table `orders`"
    got = outcome_of(report, failed(exc, tail="Lost connection (2013)"))
    assert got.detail == (
        "mariadb-dump waited more than 2 s for the metadata lock on table `orders`: "
        "Lost connection (2013)"
    )


def test_a_cancel_stays_a_cancel() -> None:
    got = outcome_of(
        protocol.StreamReport(),
        failed(CanceledError("the backup was canceled", "canceled", ErrorKind.CONFLICT)),
    )
    assert isinstance(got, CanceledError)
    assert (got.detail, got.kind) == ("the backup was canceled", ErrorKind.CONFLICT)


def test_a_storage_error_keeps_its_code() -> None:
    exc = StrongboxError("the bucket is gone", "storage-no-such-bucket", ErrorKind.REFUSED)
    got = outcome_of(protocol.StreamReport(), failed(exc))
    assert (got.detail, got.code, got.kind) == (exc.detail, exc.code, exc.kind)


def test_an_unexpected_error_is_named_as_such() -> None:
    got = outcome_of(protocol.StreamReport(), failed(MemoryError("out of memory")))
    assert got.detail == "unexpected error in the stream process: MemoryError('out of memory')"


def test_a_process_that_dies_without_a_word_fails_with_how_it_ended() -> None:
    report = protocol.StreamReport()
    report.take({"type": "progress", "raw_bytes": 10})
    with pytest.raises(protocol.StreamProcessError) as raised:
        report.outcome(-9, "")
    assert raised.value.detail == (
        "the stream process was killed by SIGKILL before the dump ended, so the backup is not kept"
    )
    assert raised.value.code == protocol.STREAM_DIED


def test_messages_after_the_end_or_of_unknown_types_are_refused() -> None:
    report = protocol.StreamReport()
    with pytest.raises(protocol.StreamProcessError, match="unknown message"):
        report.take({"type": "shrug"})
    report.take(protocol.done_message(RESULT, ""))
    with pytest.raises(protocol.StreamProcessError, match="after the end"):
        report.take({"type": "progress", "raw_bytes": 1})


@pytest.mark.parametrize(
    "bad",
    [
        {"objects": []},
        {"objects": [["k", "ten", "ab"]]},
        {"raw_bytes": -1},
        {"sha256": None},
    ],
)
def test_a_result_that_cannot_be_read_is_refused(bad: dict[str, Any]) -> None:
    report = protocol.StreamReport()
    report.take({**protocol.done_message(RESULT, ""), **bad})
    with pytest.raises(protocol.StreamProcessError):
        report.outcome(0, "")


def test_the_stream_process_imports_nothing_of_the_server() -> None:
    """Its memory is the point: no web framework, no catalog, no engine models, and no age
    library for a backup that is not encrypted (pyrage loads where age is used)."""
    import subprocess

    code = (
        "import sys, strongbox.stream.child, strongbox.storage.s3.light, "
        "strongbox.storage.filesystem.backend\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'sqlalchemy', 'pydantic', 'psycopg', 'pymysql', 'cryptography',"
        " 'pyrage')"
        " or m.startswith(('strongbox.catalog', 'strongbox.services', 'strongbox.engines',"
        " 'strongbox.api')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    assert out.stdout.strip() == ""
