"""Programs fed a local copy while it is being written (`copy_followers`), with real programs
(shell pipelines) and a writer thread standing in for the download."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from strongbox.copy_followers import Abandoned, GrowingCopy, restore_while_copying, run_followers
from strongbox.engines.base import DataLoad, EarlyRestorePlan, RestoreCommand
from strongbox.errors import StrongboxError
from strongbox.process import ToolFailedError

pytestmark = pytest.mark.integration

CHUNK = 64 * 1024
CONTENT = b"".join(f"{i:07d} some row of the dump\n".encode() for i in range(60_000))  # 1.7 MB


def sh(script: str) -> RestoreCommand:
    return RestoreCommand(["sh", "-c", script], dict(os.environ), None)


Download = Callable[[Callable[[int], None]], int]


def writer(path: Path, content: bytes = CONTENT, fail_at: int | None = None) -> Download:
    """A download: writes `content` in chunks, saying how far it got; raises at `fail_at`."""

    def download(grew: Callable[[int], None]) -> int:
        with open(path, "wb") as out:
            for at in range(0, len(content), CHUNK):
                if fail_at is not None and at >= fail_at:
                    raise StrongboxError("the object is damaged", "checksum-mismatch")
                out.write(content[at : at + CHUNK])
                out.flush()
                grew(at + len(content[at : at + CHUNK]))
                time.sleep(0.001)
        return len(content)

    return download


def started(copy: GrowingCopy, download: Download) -> threading.Thread:
    thread = threading.Thread(target=copy.write_with, args=(download,))
    thread.start()
    return thread


def test_a_slow_reader_does_not_hold_back_a_fast_one(tmp_path: Path) -> None:
    # The slow one reads nothing until the fast one has read everything: with one pipe shared
    # by both (or a writer waiting on the slowest), this could never end.
    copy = GrowingCopy(tmp_path / "copy")
    thread = started(copy, writer(copy.path))
    go = tmp_path / "go"
    slow = sh(f"while [ ! -f {go} ]; do sleep 0.05; done; cat > {tmp_path / 'slow'}")
    fast = sh(f"cat > {tmp_path / 'fast'}; touch {go}")
    run_followers(copy, [slow, fast], stall_seconds=60)
    thread.join()
    assert (tmp_path / "fast").read_bytes() == CONTENT
    assert (tmp_path / "slow").read_bytes() == CONTENT


def test_a_reader_that_needs_only_the_start_ends_early_and_its_output_is_kept(
    tmp_path: Path,
) -> None:
    copy = GrowingCopy(tmp_path / "copy")
    thread = started(copy, writer(copy.path))
    listing = run_followers(copy, [sh("head -c 16")], stall_seconds=60, capture=True)
    assert listing == CONTENT[:16].decode()
    thread.join()
    assert copy.error() is None


def test_a_failing_download_stops_the_readers_and_is_the_error_raised(tmp_path: Path) -> None:
    copy = GrowingCopy(tmp_path / "copy")
    thread = started(copy, writer(copy.path, fail_at=len(CONTENT) // 2))
    with pytest.raises(StrongboxError) as caught:
        run_followers(copy, [sh("cat > /dev/null"), sh("cat > /dev/null")], stall_seconds=60)
    assert caught.value.code == "checksum-mismatch"
    thread.join()


def test_a_failing_reader_stops_the_others_and_the_download(tmp_path: Path) -> None:
    downloaded: list[int] = []

    def slow_download(grew: Callable[[int], None]) -> int:
        with open(tmp_path / "copy", "wb") as out:
            for at in range(0, 100 * CHUNK, CHUNK):
                out.write(b"x" * CHUNK)
                out.flush()
                grew(at + CHUNK)
                downloaded.append(at + CHUNK)
                time.sleep(0.05)
        return 100 * CHUNK

    plan = EarlyRestorePlan(
        listing=sh("head -c 1"),
        schema=sh("head -c 1 > /dev/null"),
        data=sh("cat > /dev/null"),
        rest=sh("true"),
        data_script=sh("cat"),
    )
    # The second data run fails after a little of the input; the first would read it all.
    runs = [sh("cat > /dev/null"), sh("head -c 100000 > /dev/null; echo 'bad row' >&2; exit 3")]
    with pytest.raises(ToolFailedError) as caught:
        restore_while_copying(tmp_path / "copy", slow_download, plan, lambda _: DataLoad(runs), 60)
    assert "bad row" in str(caught.value)
    # The download stopped long before its end (100 chunks at 0.05 s each).
    assert downloaded[-1] < 100 * CHUNK


def test_the_whole_run_returns_the_bytes_written_once_every_step_succeeded(tmp_path: Path) -> None:
    seen: list[str] = []
    plan = EarlyRestorePlan(
        listing=sh("head -c 7"),
        schema=sh(f"head -c 100 > {tmp_path / 'schema'}"),
        data=sh("cat"),
        rest=sh("true"),
        data_script=sh("cat"),
    )

    def commands(listing: str) -> DataLoad:
        seen.append(listing)
        return DataLoad([sh(f"cat > {tmp_path / 'a'}"), sh(f"cat > {tmp_path / 'b'}")])

    written = restore_while_copying(
        tmp_path / "copy", writer(tmp_path / "copy"), plan, commands, 60
    )
    assert written == len(CONTENT)
    assert seen == [CONTENT[:7].decode()]
    assert (tmp_path / "schema").read_bytes() == CONTENT[:100]
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes() == CONTENT


def test_an_abandoned_copy_stops_its_writer(tmp_path: Path) -> None:
    copy = GrowingCopy(tmp_path / "copy")
    copy.abandon()
    thread = started(copy, writer(copy.path))
    thread.join()
    assert isinstance(copy.error(), Abandoned)


def test_what_a_program_writes_is_read_as_it_comes(tmp_path: Path) -> None:
    copy = GrowingCopy(tmp_path / "copy")
    thread = started(copy, writer(copy.path))
    read: list[bytes] = []

    def read_output(out: IO[bytes], stop: Callable[[], None]) -> None:
        read.append(out.read())

    run_followers(copy, [sh("tr a-z A-Z")], stall_seconds=60, read_output=read_output)
    thread.join()
    assert read == [CONTENT.upper()]


def test_a_reader_that_fails_stops_its_program_and_is_the_error_raised(tmp_path: Path) -> None:
    copy = GrowingCopy(tmp_path / "copy")
    thread = started(copy, writer(copy.path))

    def read_output(out: IO[bytes], stop: Callable[[], None]) -> None:
        out.read(1000)
        raise StrongboxError("the rows could not be loaded", "rows-load-failed")

    # `cat` would wait for its input to end; it is stopped instead.
    with pytest.raises(StrongboxError) as caught:
        run_followers(copy, [sh("cat")], stall_seconds=60, read_output=read_output)
    thread.join()
    assert caught.value.code == "rows-load-failed"


def test_a_program_that_fails_before_its_reader_notices_is_the_error_raised(
    tmp_path: Path,
) -> None:
    copy = GrowingCopy(tmp_path / "copy")
    thread = started(copy, writer(copy.path))

    def read_output(out: IO[bytes], stop: Callable[[], None]) -> None:
        out.read()
        raise StrongboxError("the script ended inside rows", "unreadable-data-section")

    failing = sh("head -c 500; echo 'archive damaged' >&2; exit 1")
    with pytest.raises(ToolFailedError) as caught:
        run_followers(copy, [failing], stall_seconds=60, read_output=read_output)
    thread.join()
    assert "archive damaged" in str(caught.value)
