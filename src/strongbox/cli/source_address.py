"""`--backup-source HOST:PORT` for the CLI: split into the API's {"host", "port"}; the server
checks the host and that the address is a standby."""

from __future__ import annotations

from typing import Any

from strongbox.cli.client import CliError


def parse_backup_source(value: str | None) -> dict[str, Any] | None:
    """{"host": ..., "port": ...} from HOST:PORT ([IPv6]:PORT), or None when not given.

    >>> parse_backup_source("standby.internal:5433")
    {'host': 'standby.internal', 'port': 5433}
    >>> parse_backup_source("[fd00::2]:3306")
    {'host': 'fd00::2', 'port': 3306}
    """
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise CliError(
            f"--backup-source {value!r}: give HOST:PORT of the standby or replica, such as "
            "standby.internal:5432 ([address]:PORT for IPv6)"
        )
    return {"host": host, "port": int(port)}
