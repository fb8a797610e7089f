"""Where a backup reads, and what it may take there: the database's `backup_source` (a
standby or replica, checked before each use) and its limits."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from strongbox.catalog.models import Database
from strongbox.domain.pacing import BYTES_PER_MB
from strongbox.engines.base import ConnectionInfo, DumpLimits, Engine
from strongbox.services.context import Context


@dataclass(frozen=True)
class BackupSource:
    """The connection a dump reads from: the primary's, or a standby's (`standby`), with the
    standby's lag when it was checked."""

    conn: ConnectionInfo
    standby: bool
    lag_seconds: float | None = None

    def record(self, limits: DumpLimits) -> dict[str, Any]:
        """What the backup records of its source and the rate it read at (its `source` in
        the API)."""
        rate = limits.max_rate_bytes_per_second
        return {
            "kind": "standby" if self.standby else "primary",
            "host": self.conn.host,
            "port": self.conn.port,
            "lag_seconds": self.lag_seconds,
            "max_rate_mb_per_s": rate / BYTES_PER_MB if rate is not None else None,
        }


def dump_limits(row: Database) -> DumpLimits:
    rate = row.max_rate_mb_per_s
    return DumpLimits(
        lock_timeout_seconds=row.lock_timeout_seconds,
        max_rate_bytes_per_second=rate * BYTES_PER_MB if rate is not None else None,
    )


def read_from(
    ctx: Context, engine: Engine, primary: ConnectionInfo, address: dict[str, Any] | None
) -> BackupSource:
    """The primary when `address` is None; else the standby at `address` ({"host", "port"},
    reached with the primary's user, password and TLS), after the engine checked that it is a
    standby of the primary (raises refused(SOURCE_NOT_STANDBY) naming why not)."""
    if address is None:
        return BackupSource(primary, standby=False)
    source = replace(primary, host=str(address["host"]), port=int(address["port"]))
    state = engine.check_standby(primary, source, ctx.settings.check_timeout_seconds)
    return BackupSource(source, standby=True, lag_seconds=state.lag_seconds)
