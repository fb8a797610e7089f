"""Finding the PostgreSQL client programs (pg_dump, pg_dumpall, pg_restore, psql) and choosing
the installation that fits a server."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from strongbox.engines.base import CLIENT_MISSING, ServerInfo
from strongbox.engines.tools import find_programs, path_dirs, probe
from strongbox.errors import refused

DEBIAN_CLIENT_DIRS = Path("/usr/lib/postgresql")
_TOOL_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)((?:\.\d+)*)([a-z]+\d*)?")


def parse_tool_version(output: str) -> tuple[str, int] | None:
    """The version and major of a PostgreSQL client program from its `--version` output, or
    None when the output is not a PostgreSQL program's.

    >>> parse_tool_version("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)")
    ('15.20', 15)
    >>> parse_tool_version("pg_dump (PostgreSQL) 17beta1")
    ('17beta1', 17)
    >>> parse_tool_version("bash: pg_dump: command not found") is None
    True
    """
    found = _TOOL_VERSION.search(output)
    if found is None:
        return None
    return found.group(1) + found.group(2) + (found.group(3) or ""), int(found.group(1))


@dataclass(frozen=True)
class ClientTool:
    """A PostgreSQL client program found on this machine."""

    path: Path
    version: str
    major: int


def choose_pg_dump(
    found: Sequence[ClientTool], server_major: int, preferred_dir: Path | None = None
) -> ClientTool | None:
    """The pg_dump to back up a server of `server_major`, or None when none is recent enough.

    pg_dump reads servers of its own major and older only. A suitable one in `preferred_dir`
    wins (the person chose it). Otherwise the lowest suitable major wins, not the newest:
    the archive format of a newer pg_dump can be unreadable to the server's own pg_restore
    ("unsupported version in file header"), so a matching pg_dump keeps the backup
    restorable with the tools that come with the server. Ties go to the first found.
    """
    suitable = [tool for tool in found if tool.major >= server_major]
    if not suitable:
        return None
    preferred = [
        t for t in suitable if preferred_dir is not None and t.path.parent == preferred_dir
    ]
    if preferred:
        return preferred[0]
    return min(suitable, key=lambda tool: tool.major)


def client_missing_message(
    server_version: str, server_major: int, found: Sequence[ClientTool]
) -> str:
    """Why no pg_dump fits, and what to install: "pg_dump 16 or newer is needed to back up
    PostgreSQL 16.2; found pg_dump 15.20: install postgresql-client-16"."""
    seen = ", ".join(f"pg_dump {tool.version}" for tool in found) or "no pg_dump"
    return (
        f"pg_dump {server_major} or newer is needed to back up PostgreSQL {server_version}; "
        f"found {seen}: install postgresql-client-{server_major}"
    )


def default_search_dirs() -> list[Path]:
    """Where client programs are looked for after the preferred folder: Debian's versioned
    folders (/usr/lib/postgresql/N/bin, newest first), then PATH."""
    versioned = sorted(
        (d for d in DEBIAN_CLIENT_DIRS.glob("*/bin") if d.parent.name.isdigit()),
        key=lambda d: int(d.parent.name),
        reverse=True,
    )
    return versioned + path_dirs()


def find_client_tools(program: str, dirs: Iterable[Path]) -> list[ClientTool]:
    """Every runnable `program` in `dirs`, in that order, with its version."""
    tools: list[ClientTool] = []
    for path in find_programs(program, dirs):
        # Debian's pg_wrapper picks a version per call from the arguments and environment, so
        # the version it reports need not be the one that would run; the real programs it
        # wraps are in /usr/lib/postgresql/N/bin, which is searched anyway.
        if path.resolve().name == "pg_wrapper":
            continue
        tool = probe(path, parse_tool_version)
        if tool is not None:
            tools.append(ClientTool(path, *tool))
    return tools


def pick_pg_dump(
    server: ServerInfo, bin_dir: Path | None, search_dirs: Sequence[Path] | None
) -> ClientTool:
    """The pg_dump `choose_pg_dump` picks for `server` among those in `bin_dir` and then
    `search_dirs` (default: `default_search_dirs()`). Raises refused(CLIENT_MISSING) naming
    the package to install when none fits."""
    dirs = [bin_dir] if bin_dir is not None else []
    dirs += search_dirs if search_dirs is not None else default_search_dirs()
    found = find_client_tools("pg_dump", dirs)
    chosen = choose_pg_dump(found, server.major, bin_dir)
    if chosen is None:
        raise refused(
            client_missing_message(server.version, server.major, found),
            CLIENT_MISSING,
        )
    return chosen


def sibling(tool: ClientTool, program: str, server: ServerInfo) -> ClientTool:
    """`program` from the same folder as `tool`, so both come from one installation. Raises
    refused(CLIENT_MISSING) when it is not there."""
    found = find_client_tools(program, [tool.path.parent])
    if not found:
        raise refused(
            f"{program} is missing next to {tool.path}: install postgresql-client-{server.major}",
            CLIENT_MISSING,
        )
    return found[0]
