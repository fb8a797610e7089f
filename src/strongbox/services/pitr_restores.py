"""Restores to a point in time: the target checked against the true windows before anything
starts, the base chosen, the WAL files to stage chosen, and the recovery a new instance (or
the temporary instance of a transfer) runs with; the outcome is written on the restore.

The base is a physical backup like any other restore's (the restore's `backup` names it), so
that a base a restore reads is never deleted (`backup-in-use`) and keeps its WAL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update

from strongbox.catalog.models import Restore, WalSegment
from strongbox.domain.pitr_target import (
    TargetRefused,
    WalToStage,
    choose_window,
    utc_text,
    wal_to_stage,
)
from strongbox.domain.pitr_window import Window
from strongbox.domain.recovery import RecoverySettings
from strongbox.engines.postgresql.instance import InstanceFolder
from strongbox.engines.postgresql.recovery_watch import RecoveryOutcome
from strongbox.errors import conflict, invalid
from strongbox.services import databases, pitr, storages
from strongbox.services.context import Context
from strongbox.services.instance_build import PitrRecovery, WalSource, wal_fetch_command
from strongbox.services.schemas.restores import PointInTime, PointInTimePlanOut

TARGET_UNREACHABLE = "pitr-target-unreachable"


@dataclass(frozen=True)
class PitrChoice:
    """A checked point-in-time request: its window (and so its base) and the WAL to stage."""

    request: PointInTime
    window: Window
    stage: WalToStage
    rows: list[WalSegment]  # the index rows of `stage.files`, in the same order
    storage: str

    @property
    def base(self) -> str:
        return self.window.base_backup

    @property
    def target_time(self) -> datetime | None:
        """recovery_target_time: None when no stored commit follows the target (all the
        staged WAL is replayed, which is then exactly the target)."""
        return self.request.time if self.stage.stop_at_target else None


def choose(ctx: Context, database: str, request: PointInTime, backup: str | None) -> PitrChoice:
    """Check `request` against the windows of `database` (the storage listed, so a deleted
    object is a gap) and choose the base and the WAL; raises a 409 naming the valid windows
    when the target cannot be reached."""
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
    state = pitr.wal_state(ctx, database)
    try:
        window = choose_window(state.found, request.time, request.base_backup or backup)
    except TargetRefused as exc:
        asked = f"cannot restore {database} to {_asked(request)}"
        raise conflict(f"{asked}: {exc}", TARGET_UNREACHABLE) from exc
    except ValueError as exc:
        raise invalid(str(exc), "invalid", field_name="body.point_in_time.time") from exc
    base = next(b for b in state.bases if b.name == window.base_backup)
    wal = [pitr.stored_wal(r) for r in state.rows]
    stage = wal_to_stage(wal, base, request.time, missing=state.missing)
    by_name = {r.name: r for r in state.rows if r.name not in state.missing}
    rows = [by_name[w.name] for w in stage.files]
    places = sorted({r.storage for r in rows})
    if len(places) != 1:
        raise conflict(
            f"the WAL from base {base.name} is in the storages {', '.join(places)}: a "
            "point-in-time restore reads it from one; choose a base whose WAL is in one storage",
            TARGET_UNREACHABLE,
        )
    return PitrChoice(request, window, stage, rows, places[0])


def _asked(request: PointInTime) -> str:
    return "the latest stored commit" if request.latest else utc_text(request.time)


def request_facts(choice: PitrChoice) -> dict[str, Any]:
    """What the restore's row keeps of the request (read back by `from_row`)."""
    time = choice.request.time
    return {
        "time": utc_text(time) if time is not None else None,
        "latest": choice.request.latest,
        "base_backup": choice.base,
    }


def from_row(facts: dict[str, Any]) -> PointInTime:
    return PointInTime.model_validate(
        {
            "time": facts.get("time"),
            "latest": facts.get("latest", False),
            "base_backup": facts.get("base_backup"),
        }
    )


def settings_for(ctx: Context, choice: PitrChoice, folder: InstanceFolder) -> RecoverySettings:
    """The recovery settings an instance in `folder` starts with (for the plan)."""
    return _recovery(ctx, choice, None).settings(wal_fetch_command(ctx, folder))


def recovery_for_row(ctx: Context, restore_id: int, facts: dict[str, Any]) -> PitrRecovery:
    """The recovery of a queued point-in-time restore, checked again against the windows
    (the WAL may have changed since it was asked), reporting its outcome on the row."""
    with ctx.catalog.session() as session:
        row = session.get(Restore, restore_id)
        assert row is not None
        database = row.database
    choice = choose(ctx, database, from_row(facts), None)

    def report(outcome: RecoveryOutcome, reached: bool) -> None:
        commit = outcome.last_replayed_commit_at
        found = {
            **facts,
            "target_reached": reached,
            "last_replayed_commit_at": utc_text(commit) if commit is not None else None,
            "recovery_stopped": outcome.stopped,
            "wal_files": len(choice.rows),
        }
        with ctx.catalog.session() as session:
            session.execute(
                update(Restore).where(Restore.id == restore_id).values(point_in_time=found)
            )

    return _recovery(ctx, choice, report)


def _recovery(
    ctx: Context, choice: PitrChoice, report: Callable[[RecoveryOutcome, bool], None] | None
) -> PitrRecovery:
    storage, _prefix = storages.open_by_name(ctx, choice.storage)
    database = choice.rows[0].database if choice.rows else ""

    def reread(staged: str) -> WalSegment | None:
        return pitr.current_entry(ctx, database, choice.storage, staged)

    return PitrRecovery(
        WalSource(storage, choice.rows, reread),
        target_time=choice.target_time,
        timeline=choice.stage.timeline,
        last_commit_at_least=choice.stage.last_commit_at_least,
        report=report,
    )


def plan_out(choice: PitrChoice) -> PointInTimePlanOut:
    return PointInTimePlanOut(
        time=choice.request.time,
        latest=choice.request.latest,
        base_backup=choice.base,
        window_from=choice.window.start,
        window_to=choice.window.end,
        timeline=choice.stage.timeline,
        stops_at_target=choice.stage.stop_at_target,
        wal_files=[r.name for r in choice.rows],
        wal_file_count=len(choice.rows),
        wal_bytes=sum(r.size_bytes for r in choice.rows),
    )


def plan_steps(choice: PitrChoice, folder: InstanceFolder) -> list[str]:
    """The steps a point-in-time recovery adds to a restore's plan."""
    stored = sum(r.size_bytes for r in choice.rows)
    until = (
        f"stop at {utc_text(choice.request.time)} (inclusive)"
        if choice.target_time is not None
        else f"replay all of it (the last stored commit, {utc_text(choice.window.end)})"
    )
    return [
        f"fetch {len(choice.rows)} WAL files ({stored} stored bytes) from storage "
        f"{choice.storage} into {folder.wal_dir}, each verified against the index's SHA-256",
        f"recover from base {choice.base} through that WAL with strongbox wal-fetch as "
        f"restore_command and {until}; timeline {choice.stage.timeline}; then promote",
        "check that every stored commit up to the target was replayed, else fail naming the "
        "WAL that was not",
    ]
