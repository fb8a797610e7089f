"""Replaying a range of binlog files into a database: `mariadb-binlog` (run with TZ=UTC, so
that `--stop-datetime` is UTC) piped into the `mariadb` client. The options come from
`domain.binlog_replay.reader_options`; the files are local copies Strongbox fetched."""

from __future__ import annotations

import subprocess
from pathlib import Path

from strongbox.engines.base import ConnectionInfo
from strongbox.engines.mysql.client_tools import binlog_tool, client_tool
from strongbox.engines.mysql.commands import restore_command
from strongbox.engines.mysql.connection import connect, server_info
from strongbox.process import ToolProcess


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
    reader = ToolProcess([reader_tool.path, *options, *map(str, files)], {"TZ": "UTC"})
    with reader:
        writer = ToolProcess(
            client.argv, client.env, stdin=reader.stdout, stdout=subprocess.DEVNULL
        )
        reader.stdout.close()  # the client holds it now: it sees the end when the reader ends
        with writer:
            writer.check()
        reader.check()
