"""Choosing an engine by its name."""

from __future__ import annotations

from pathlib import Path

from strongbox.engines.base import Engine
from strongbox.engines.mysql import MySQLEngine
from strongbox.engines.postgresql import PostgresEngine
from strongbox.errors import invalid

ENGINE_NAMES = ("postgresql", "mysql")


def engine_for(name: str, *, pg_bin_dir: Path | None = None) -> Engine:
    """The engine called `name` ("mysql" covers MariaDB too). `pg_bin_dir` is a preferred
    folder of PostgreSQL client programs. Raises StrongboxError (INVALID, code
    "unknown-engine") for any other name."""
    if name == "postgresql":
        return PostgresEngine(pg_bin_dir)
    if name == "mysql":
        return MySQLEngine()
    raise invalid(
        f"unknown engine {name!r}: use one of {', '.join(ENGINE_NAMES)}",
        "unknown-engine",
        field_name="engine",
    )
