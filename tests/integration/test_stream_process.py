"""The stream process with a real program and a real folder: what the server asks of it (cancel,
a guard's stop, the stall watchdog) ends the dump with the words the server's own process gave,
and what it stores is what the program wrote."""

from __future__ import annotations

import hashlib
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import zstandard

from strongbox.pipeline import CanceledError, PipelineOptions
from strongbox.process import ToolFailedError
from strongbox.storage.light_open import LightOpen
from strongbox.stream import protocol
from strongbox.stream.runner import child_argv, child_env, dump_in_child

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    expected_bytes: int | None = None
    position_from_head: Callable[[bytes], dict[str, Any] | None] | None = None
    position_from_stderr: Callable[[bytes], dict[str, Any] | None] | None = None
    explain_failure: Callable[[str], str | None] | None = None
    guard: Callable[[Callable[[str], None], threading.Event], None] | None = None


def folder(path: Path) -> LightOpen:
    path.mkdir(exist_ok=True)
    return LightOpen("strongbox.storage.filesystem.backend:open_folder", {"path": str(path)})


def writes_then_waits(first_bytes: int) -> list[str]:
    """A dump program that writes `first_bytes` of incompressible bytes, then hangs."""
    return ["sh", "-c", f"head -c {first_bytes} /dev/urandom; sleep 60"]


def test_the_stored_object_is_the_programs_output_compressed(tmp_path: Path) -> None:
    source = tmp_path / "dump.bin"
    source.write_bytes(b"row,value\n" * 200_000 + bytes(range(256)) * 100)
    seen: list[int] = []
    result = dump_in_child(
        Command(["cat", str(source)], position_from_head=lambda head: {"first": head[:9].decode()}),
        folder(tmp_path / "store"),
        "db/b1/app.zst",
        PipelineOptions(),
        on_raw_bytes=seen.append,
    )
    stored = (tmp_path / "store" / "db" / "b1" / "app.zst").read_bytes()
    assert zstandard.ZstdDecompressor().decompressobj().decompress(stored) == source.read_bytes()
    assert result.raw_bytes == source.stat().st_size
    assert result.stored_bytes == len(stored)
    assert result.sha256 == hashlib.sha256(stored).hexdigest()
    assert result.log_position == {"first": "row,value"}  # read in the server, from the head
    assert seen
    assert seen[-1] <= result.raw_bytes


def test_a_cancel_reaches_the_stream_process_and_stays_a_cancel(tmp_path: Path) -> None:
    cancel = threading.Event()

    def cancel_once_moving(raw_bytes: int) -> None:
        if raw_bytes > 0:
            cancel.set()

    with pytest.raises(CanceledError, match="the backup was canceled"):
        dump_in_child(
            Command(writes_then_waits(2_000_000)),
            folder(tmp_path / "store"),
            "db/b1/app.zst",
            PipelineOptions(),
            on_raw_bytes=cancel_once_moving,
            cancel=cancel,
        )
    assert not (tmp_path / "store" / "db" / "b1" / "app.zst").exists()


def test_a_guards_stop_names_its_reason(tmp_path: Path) -> None:
    def guard(kill: Callable[[str], None], stop: threading.Event) -> None:
        kill("waited more than 2 s (lock_timeout_seconds) for the lock on table orders")

    with pytest.raises(ToolFailedError) as raised:
        dump_in_child(
            Command(writes_then_waits(1_000_000), guard=guard),
            folder(tmp_path / "store"),
            "db/b1/app.zst",
            PipelineOptions(),
        )
    assert raised.value.detail == (
        "sh waited more than 2 s (lock_timeout_seconds) for the lock on table orders"
    )


def test_a_stalled_program_is_stopped_as_stalled(tmp_path: Path) -> None:
    with pytest.raises(ToolFailedError, match=r"^sh stalled: no data for \d+ s, so it was stopped"):
        dump_in_child(
            Command(writes_then_waits(100_000)),
            folder(tmp_path / "store"),
            "db/b1/app.zst",
            PipelineOptions(stall_timeout_seconds=1.0),
        )


def test_a_failure_the_engine_recognises_is_told_in_its_words(tmp_path: Path) -> None:
    command = Command(
        ["sh", "-c", "echo 'could not obtain lock on relation orders' >&2; exit 1"],
        explain_failure=lambda tail: "orders was locked" if "lock" in tail else None,
    )
    with pytest.raises(ToolFailedError, match=r"^orders was locked$"):
        dump_in_child(command, folder(tmp_path / "store"), "db/b1/app.zst", PipelineOptions())


def test_the_stream_process_exits_cleanly_once_it_reported_its_result(tmp_path: Path) -> None:
    # As the server does: the job on stdin, which stays open until the process has ended.
    job = protocol.StreamJob(
        argv=["printf", "row\n"],
        env={},
        storage=folder(tmp_path / "store").to_json(),
        key="db/b1/app.zst",
        options=PipelineOptions(),
        expected_bytes=None,
        wants_head=False,
    )
    process = subprocess.Popen(
        child_argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env()
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(protocol.encode(protocol.job_message(job)))
        process.stdin.flush()
        types = [protocol.decode(line)["type"] for line in iter(process.stdout.readline, b"")]
        # Not killed on its way out (the interpreter's shutdown used to abort on the stdin lock
        # held by the thread that reads the server's messages).
        assert process.wait(timeout=60) == 0
    finally:
        process.stdin.close()
        process.stdout.close()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (types[0], types[-1]) == ("started", "done")
