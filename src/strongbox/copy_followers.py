"""Restore programs that read a local copy of an artifact while it is still being written.

A parallel PostgreSQL restore starts as the artifact streams: one thread downloads, verifies
and decompresses it into a local copy (`restore_pipeline.download`), and each program that
reads the archive from its start (its table of contents, the schema, shares of the rows) is
fed from that copy by a thread of its own, as far as the copy has grown. A program that is
slower than the others (loading a big table) falls behind on the copy without holding the
download or the other programs back, as one pipe shared by all would.

Every failure stops everything: a program that fails stops the download and the other
programs; a download that fails (a damaged object, a stalled storage, a full disk) stops the
programs, and its error is the one raised. The programs run on the caller's thread's tool
scope, so canceling the job stops them too.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from strongbox.engines.base import DataLoad, EarlyRestorePlan, RestoreCommand
from strongbox.pipeline import StallWatchdog
from strongbox.process import ToolProcess, ToolScope, current_scope
from strongbox.restore_pipeline import CHUNK, Flow

# How often a program waiting for the copy to grow checks that it should still wait.
WAIT_SECONDS = 0.5
# How often the caller looks whether one of several programs failed.
POLL_SECONDS = 0.1
_OUTPUT_FAILED = "was stopped: what it wrote could not be used"
_ENDING_SECONDS = 1.0  # for a tool whose output ended to exit


class Abandoned(Exception):
    """Raised in the download's thread when the restore gave up: the download stops."""


class GrowingCopy:
    """A local copy being written by one thread and read by others behind it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._changed = threading.Condition()
        self._written = 0
        self._done = False
        self._error: BaseException | None = None
        self._abandoned = False

    def grew(self, written: int) -> None:
        """The writer wrote (and flushed) `written` bytes in all. Raises Abandoned when the
        readers gave up, so that the writer stops."""
        with self._changed:
            if self._abandoned:
                raise Abandoned("the restore gave up")
            self._written = written
            self._changed.notify_all()

    def write_with(self, download: Callable[[Callable[[int], None]], int]) -> None:
        """Run `download(grew)` (on the writer's thread) and record how it ended."""
        try:
            written = download(self.grew)
        except BaseException as exc:  # any end of the writer must reach the readers
            self._end(exc)
        else:
            with self._changed:
                self._written = written
            self._end(None)

    def _end(self, error: BaseException | None) -> None:
        with self._changed:
            self._done = True
            self._error = error
            self._changed.notify_all()

    def abandon(self) -> None:
        """The readers gave up: the writer stops at its next chunk."""
        with self._changed:
            self._abandoned = True
            self._changed.notify_all()

    def available(self, position: int, alive: Callable[[], None]) -> int | None:
        """How far the copy is written, once it is beyond `position`; None when it is complete
        and `position` is its end. Raises the writer's error. `alive` is called while waiting."""
        with self._changed:
            while True:
                if self._error is not None:
                    raise self._error
                if self._written > position:
                    return self._written
                if self._done or self._abandoned:
                    return None
                self._changed.wait(WAIT_SECONDS)
                alive()

    @property
    def written(self) -> int:
        with self._changed:
            return self._written

    def error(self) -> BaseException | None:
        with self._changed:
            return self._error


def restore_while_copying(
    path: Path,
    download: Callable[[Callable[[int], None]], int],
    plan: EarlyRestorePlan,
    data_load: Callable[[str], DataLoad],
    stall_seconds: float,
) -> int:
    """Download the artifact into the new file `path` (`download(grew)`, which calls `grew`
    with the bytes written so far and returns the total once they are verified) while the
    plan's runs read it: the table of contents, then the schema, then the rows
    (`data_load(listing)`, its runs at once). Returns the bytes written once the download was
    verified and every run succeeded; the caller then runs `plan.rest` from the copy."""
    copy = GrowingCopy(path)
    scope = current_scope()
    writer = threading.Thread(
        target=_in_scope, args=(scope, copy.write_with, download), daemon=True, name="copy-writer"
    )
    writer.start()
    try:
        listing = run_followers(copy, [plan.listing], stall_seconds, capture=True)
        run_followers(copy, [plan.schema], stall_seconds)
        load = data_load(listing)
        run_followers(copy, load.commands, stall_seconds, read_output=load.read_output)
        writer.join()
        error = copy.error()
        if error is not None:
            raise error
        return copy.written
    except BaseException:
        copy.abandon()
        writer.join()
        raise


def _in_scope(
    scope: ToolScope | None,
    write_with: Callable[[Callable[[Callable[[int], None]], int]], None],
    download: Callable[[Callable[[int], None]], int],
) -> None:
    """Run the download on the job's tool scope (a dump program it starts is stopped by a
    cancel, like the restore's own programs)."""
    if scope is None:
        write_with(download)
        return
    with scope:
        write_with(download)


def run_followers(
    copy: GrowingCopy,
    commands: Sequence[RestoreCommand],
    stall_seconds: float,
    *,
    capture: bool = False,
    read_output: Callable[[IO[bytes], Callable[[], None]], None] | None = None,
) -> str:
    """Run `commands` at once, each fed the copy from its start as it grows, until each has
    ended; returns the first one's stdout when `capture`, or has `read_output` read it (see
    `_read_with`). Raises the writer's error when the
    download failed meanwhile, else ToolFailedError for the first program that failed (the
    others are stopped). A program may stop reading before the end: what it needs was read
    once it exits successfully."""
    tools: list[ToolProcess] = []
    pumps: list[threading.Thread] = []
    output = b""
    try:
        for index, command in enumerate(commands):
            tool = ToolProcess(
                command.argv,
                command.env,
                stdin=subprocess.PIPE,
                stdout=(
                    subprocess.PIPE
                    if index == 0 and (capture or read_output is not None)
                    else subprocess.DEVNULL
                ),
            )
            tools.append(tool)
            flow = Flow()
            watchdog = StallWatchdog(flow, tool, stall_seconds)
            pump = threading.Thread(
                target=_pump, args=(copy, tool, flow, watchdog), daemon=True, name="copy-follower"
            )
            pumps.append(pump)
            pump.start()
        if capture and tools:
            output = tools[0].stdout.read()
        if read_output is not None and tools:
            _read_with(tools[0], read_output, copy)
        _wait_all(tools, copy)
    finally:
        for tool in tools:
            tool.__exit__(None, None, None)  # stops what still runs, reaps it
        for pump in pumps:
            pump.join()
    return output.decode("utf-8", "replace")


def _read_with(
    tool: ToolProcess,
    read_output: Callable[[IO[bytes], Callable[[], None]], None],
    copy: GrowingCopy,
) -> None:
    """`read_output(tool's stdout, stop)`, where `stop` ends the tool. When it raises, the
    error reported is the download's if that failed, else the tool's if the tool failed on its
    own before (what it wrote was then cut short), else the reader's."""
    try:
        read_output(tool.stdout, lambda: tool.kill(_OUTPUT_FAILED))
    except BaseException:
        _raise_writer_error(copy)
        # A reader that failed at the end of the output: the tool is ending, maybe failing.
        deadline = time.monotonic() + _ENDING_SECONDS
        while tool.poll() is None and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS / 10)
        tool.kill(_OUTPUT_FAILED)
        if tool.killed_because != _OUTPUT_FAILED:
            tool.check()  # it ended on its own: a failure of its own is the error
        raise


def _pump(copy: GrowingCopy, tool: ToolProcess, flow: Flow, watchdog: StallWatchdog) -> None:
    """Feed the copy into the tool's stdin as it grows. Waiting for the writer counts as
    movement (a stalled download is the writer's to report); a tool that stops reading while
    there is more is stopped by the watchdog after the stall timeout."""

    def alive() -> None:
        if tool.poll() is not None:
            raise _ToolEnded
        flow.moved()

    position = 0
    source: int | None = None
    stdin = tool.stdin.fileno()  # written to directly, never through the file object's buffer
    try:
        with watchdog:
            while (end := copy.available(position, alive)) is not None:
                if source is None:
                    source = os.open(copy.path, os.O_RDONLY)
                while position < end:
                    # From the page cache into the pipe in the kernel: the bytes never pass
                    # through Python (several runs read the whole copy each).
                    sent = os.sendfile(stdin, source, position, min(CHUNK, end - position))
                    if sent == 0:
                        raise OSError(f"{copy.path} is shorter than was written")
                    flow.moved()
                    position += sent
            tool.stdin.close()
    except (BrokenPipeError, _ToolEnded):
        pass  # the tool stopped reading: its exit status says whether it had what it needed
    except BaseException as exc:  # the writer failed or gave up, or the copy went: stop it
        tool.kill(f"was stopped: {getattr(exc, 'code', None) or 'its input ended'}")
    finally:
        if source is not None:
            os.close(source)


class _ToolEnded(Exception):
    """The tool exited while its feeder waited for the copy to grow."""


def _wait_all(tools: list[ToolProcess], copy: GrowingCopy) -> None:
    """Wait until every tool ended. The writer's error comes first (the programs were stopped
    because of it); then the first tool that failed."""
    running = list(tools)
    while running:
        for tool in list(running):
            if tool.poll() is None:
                continue
            running.remove(tool)
            if tool.poll() != 0 or tool.killed_because is not None:
                _raise_writer_error(copy)
                tool.check()  # the caller stops the others
        if running:
            time.sleep(POLL_SECONDS)
    _raise_writer_error(copy)
    for tool in tools:
        tool.check()


def _raise_writer_error(copy: GrowingCopy) -> None:
    error = copy.error()
    if error is not None and not isinstance(error, Abandoned):
        raise error
