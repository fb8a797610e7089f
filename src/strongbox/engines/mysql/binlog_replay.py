"""Replaying a range of binlog files into a database: `mariadb-binlog` (run with TZ=UTC, so
that `--stop-datetime` is UTC) piped into the `mariadb` client. The options come from
`domain.binlog_replay.reader_options`; the files are local copies Strongbox fetched."""

from __future__ import annotations

import subprocess
from pathlib import Path

from strongbox.domain.binlog_replay import ReplayPlan, reader_options
from strongbox.engines.base import BinlogReplayCommand, ConnectionInfo
from strongbox.engines.mysql.client_tools import binlog_tool, client_tool
from strongbox.engines.mysql.commands import restore_command
from strongbox.engines.mysql.connection import connect, server_info
from strongbox.process import ToolProcess

# The reader reads `--stop-datetime` in its own time zone: UTC, whatever the host's.
READER_ENV = {"TZ": "UTC"}


def replay(
    conn: ConnectionInfo,
    target: str,
    files: list[Path],
    options: list[str],
    timeout: float,
    search_path: str | None,
) -> None:
    """Apply the events `options` select from `files` to database `target`; raises
    ToolFailedError with the failing program's stderr when either program fails."""
    with connect(conn, timeout) as db:
        server = server_info(db)
    reader_tool = binlog_tool(server, search_path)
    client = restore_command(client_tool(server, search_path), conn, target)
    run(BinlogReplayCommand([reader_tool.path, *options, *map(str, files)], READER_ENV, client))


def plan(
    conn: ConnectionInfo,
    replay_plan: ReplayPlan,
    source_db: str,
    target_db: str,
    files: list[Path],
    timeout: float,
    search_path: str | None,
) -> BinlogReplayCommand:
    """The reader and client that replay `replay_plan`'s events of `source_db` from `files`
    into `target_db` (renamed when the names differ), binary logging of the replay off.
    Raises ValueError for a database name the reader cannot be given, refused(CLIENT_MISSING)
    without the programs, and the connection errors of `check`."""
    with connect(conn, timeout) as db:
        server = server_info(db)
    reader_tool = binlog_tool(server, search_path)
    options = reader_options(replay_plan, source_db, target_db, mariadb=reader_tool.mariadb)
    client = restore_command(client_tool(server, search_path), conn, target_db)
    return BinlogReplayCommand(
        [reader_tool.path, *options, *map(str, files)], dict(READER_ENV), client
    )


def run(command: BinlogReplayCommand) -> None:
    """Pipe the reader into the client; raises ToolFailedError with the failing program's
    stderr when either fails."""
    reader = ToolProcess(command.reader, command.reader_env)
    with reader:
        writer = ToolProcess(
            command.client.argv, command.client.env, stdin=reader.stdout, stdout=subprocess.DEVNULL
        )
        reader.stdout.close()  # the client holds it now: it sees the end when the reader ends
        with writer:
            writer.check()
        reader.check()
