"""Watching a new instance recover: start its server, follow its log and its answers until it
is promoted, with a deadline. A FATAL or PANIC line, a server that exits, or the deadline is a
failure carrying the log's tail; the caller stops the server and removes the folder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from strongbox.domain.recovery import END_OF_BASE, END_OF_WAL, TARGET_REACHED, read_recovery_log
from strongbox.engines.base import ConnectionInfo
from strongbox.engines.postgresql.connection import connect
from strongbox.engines.postgresql.instance import Server
from strongbox.errors import ErrorKind, StrongboxError

POLL_SECONDS = 0.5
RECOVERY_FAILED = "recovery-failed"
RECOVERY_TIMEOUT = "recovery-timeout"
# FATAL lines that are about a client that connected too early, not about the recovery.
_CLIENT_FATALS = ("the database system is starting up", "not yet accepting connections")


@dataclass(frozen=True)
class RecoveryOutcome:
    """How a recovery ended: `outcome` is END_OF_BASE, TARGET_REACHED or END_OF_WAL."""

    outcome: str
    last_replayed_commit_at: datetime | None
    stopped: str | None  # the server's "recovery stopping ..." line, when it wrote one
    last_commit_log_time: str | None  # its "last completed transaction was at log time"

    def facts(self) -> dict[str, object]:
        commit = self.last_replayed_commit_at
        return {
            "outcome": self.outcome,
            "last_replayed_commit_at": commit.isoformat() if commit is not None else None,
            "recovery_stopped": self.stopped,
            "last_commit_log_time": self.last_commit_log_time,
        }


def recover(
    server: Server, conn: ConnectionInfo, expected: str, deadline_seconds: float
) -> RecoveryOutcome:
    """Start `server` and wait until it is promoted (no longer in recovery), at most
    `deadline_seconds` in all. `conn` reaches it (the source's role and password). Raises
    StrongboxError (RECOVERY_FAILED or RECOVERY_TIMEOUT) with the log's tail."""
    deadline = time.monotonic() + deadline_seconds
    server.start(deadline_seconds)
    while True:
        log = read_recovery_log(server.log_text())
        fatal = [line for line in log.fatal if not any(c in line for c in _CLIENT_FATALS)]
        if fatal:
            raise _failed(server, f"the server reported {fatal[-1]}", RECOVERY_FAILED)
        # "ready to accept connections" (not "read-only connections") is written once the
        # recovery ended and the server was promoted; the server itself then confirms it.
        state = _recovery_state(conn) if log.ready else None
        if state is not None and not state[0]:
            outcome = _outcome(expected, log.stopped)
            return RecoveryOutcome(outcome, state[1], log.stopped, log.last_commit_log_time)
        if state is None and not server.running():
            raise _failed(server, "the server stopped during recovery", RECOVERY_FAILED)
        if time.monotonic() > deadline:
            raise _failed(
                server,
                f"recovery did not end within {int(deadline_seconds)} s "
                "(STRONGBOX_RECOVERY_TIMEOUT_SECONDS)",
                RECOVERY_TIMEOUT,
            )
        time.sleep(POLL_SECONDS)


def _outcome(expected: str, stopped: str | None) -> str:
    """What was reached: a point-in-time recovery that ran out of WAL before its target wrote
    no "recovery stopping" line and ended at the end of the WAL instead."""
    if expected == TARGET_REACHED and stopped is None:
        return END_OF_WAL
    return expected if expected in (END_OF_BASE, TARGET_REACHED, END_OF_WAL) else END_OF_WAL


def _recovery_state(conn: ConnectionInfo) -> tuple[bool, datetime | None] | None:
    """(in recovery, last replayed commit time), or None while the server does not answer."""
    try:
        with connect(conn, 5) as pg:
            row = pg.execute(
                "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()"
            ).fetchone()
    except StrongboxError:
        return None
    if row is None:
        return None
    return bool(row[0]), row[1]


def _failed(server: Server, reason: str, code: str) -> StrongboxError:
    tail = server.log_tail()
    return StrongboxError(
        f"{reason}; server log: {tail}" if tail else reason, code, ErrorKind.REFUSED
    )
