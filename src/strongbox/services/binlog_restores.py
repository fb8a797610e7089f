"""Restores of a MySQL/MariaDB database to a point in time (the binlog sibling of
`pitr_restores`): the target checked against the true binlog windows before anything starts,
the base logical backup chosen, and for each database it holds the binlog range to replay.

Each database of a logical backup is dumped in its own snapshot and records its own binlog
position (`ManifestArtifact.log_position`); its replay starts there. The base is the restore's
`backup` like any other restore's, so that it is never deleted while it is read, and keeps its
binlog. The files are fetched and verified by `binlog_replays` before any target is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strongbox.catalog.models import WalSegment
from strongbox.domain.binlog import parse_binlog_name
from strongbox.domain.binlog_replay import ReplayPlan, plan_replay
from strongbox.domain.binlog_target import choose_binlog_window
from strongbox.domain.binlog_window import BinlogBase
from strongbox.domain.pitr_target import TargetRefused, utc_text
from strongbox.domain.pitr_window import Window
from strongbox.engines.base import BinlogReplayingEngine
from strongbox.errors import conflict, invalid
from strongbox.services import backups, databases, pitr, pitr_binlog, pitr_restores
from strongbox.services.context import Context
from strongbox.services.pitr_restores import PitrChoice
from strongbox.services.schemas.restores import PointInTime, PointInTimePlanOut, RestorePlanOut

if TYPE_CHECKING:
    from strongbox.services.restore_inputs import Prepared

TARGET_UNREACHABLE = "pitr-target-unreachable"


@dataclass(frozen=True)
class BinlogChoice:
    """A checked point-in-time request of a MySQL/MariaDB database: its window (and so its
    base), and for each database of the base the replay that takes it to the target."""

    request: PointInTime
    window: Window
    until: datetime  # the target; with `latest`, the last stored event
    plans: dict[str, ReplayPlan]  # source database -> its replay
    rows: list[WalSegment]  # the index rows of the files to fetch, in order
    storage: str

    @property
    def base(self) -> str:
        return self.window.base_backup

    @property
    def stops_at_target(self) -> bool:
        """False with `latest`: every stored event is replayed."""
        return self.request.time is not None


def choose_any(
    ctx: Context, database: str, request: PointInTime, backup: str | None
) -> PitrChoice | BinlogChoice:
    """The point-in-time choice of either engine: binlog for MySQL/MariaDB, else WAL."""
    if pitr.streams_binlog(ctx, database):
        return choose(ctx, database, request, backup)
    return pitr_restores.choose(ctx, database, request, backup)


def request_facts_any(choice: PitrChoice | BinlogChoice | None) -> dict[str, Any] | None:
    if isinstance(choice, BinlogChoice):
        return request_facts(choice)
    return pitr_restores.request_facts(choice) if choice is not None else None


def refuse_new_instance(choice: PitrChoice | BinlogChoice | None) -> PitrChoice | None:
    """The choice of a restore into a new instance, which starts from a physical base; a
    binlog replays into a registered database instead (refused)."""
    if isinstance(choice, BinlogChoice):
        raise invalid(
            "a MySQL/MariaDB point in time is restored into a registered database: give "
            "target / database_map instead of new_instance",
            "new-instance-unsupported",
            field_name="body.new_instance",
        )
    return choice


def choose(ctx: Context, database: str, request: PointInTime, backup: str | None) -> BinlogChoice:
    """Check `request` against the binlog windows of `database` (the storage listed, so a
    deleted object is a gap), choose the base and each database's replay; raises a 409 naming
    the valid windows when the target cannot be reached."""
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
    found = pitr_binlog.windows_for(ctx, database)
    asked = f"cannot restore {database} to {_asked(request)}"
    try:
        window = choose_binlog_window(found, request.time, request.base_backup or backup)
    except TargetRefused as exc:
        raise conflict(f"{asked}: {exc}", TARGET_UNREACHABLE) from exc
    except ValueError as exc:
        raise invalid(str(exc), "invalid", field_name="body.point_in_time.time") from exc
    until = request.time if request.time is not None else window.end
    with ctx.catalog.session() as session:
        base = backups.get_row(session, database, window.base_backup)
        starts = database_starts(
            base.name, base.log_position, base.artifacts, base.started_at or base.created_at
        )
        rows = pitr_binlog.index_rows(session, database)
        session.expunge_all()
    stored = [pitr_binlog.stored_file(r) for r in rows]
    plans: dict[str, ReplayPlan] = {}
    for source, start in starts.items():
        if start is None:
            raise conflict(
                f"{asked}: backup {base.name} recorded one binlog position for several "
                f"databases (it was taken before each database's own was recorded), so "
                f"{source} cannot be replayed exactly: choose a newer base",
                TARGET_UNREACHABLE,
            )
        try:
            plans[source] = plan_replay(start, stored, until)
        except ValueError as exc:
            raise conflict(f"{asked}: {exc}", TARGET_UNREACHABLE) from exc
    needed = _in_order({name for plan in plans.values() for name in plan.files})
    by_name = _stored_rows(rows)
    picked = [by_name[name] for name in needed]
    places = sorted({r.storage for r in picked})
    if len(places) > 1:
        raise conflict(
            f"{asked}: the binlog from backup {base.name} is in the storages "
            f"{', '.join(places)}: a point-in-time restore reads it from one; choose a base "
            "whose binlog is in one storage",
            TARGET_UNREACHABLE,
        )
    storage = places[0] if places else base.storage
    return BinlogChoice(request, window, until, plans, picked, storage)


def database_starts(
    backup: str, position: dict[str, Any] | None, artifacts: list[Any], taken_at: datetime
) -> dict[str, BinlogBase | None]:
    """Where each database's replay starts: its dump's own recorded position, or, for a
    backup made before those were recorded, the backup's position for its first database
    (the one it was read from); None for the others (they cannot be replayed exactly).

    >>> from datetime import UTC
    >>> at = datetime(2026, 11, 29, tzinfo=UTC)
    >>> arts = [{"kind": "database", "dbname": "a", "log_position": {"file": "b.000002",
    ...     "position": 10}}, {"kind": "database", "dbname": "z"}]
    >>> found = database_starts("b1", {"file": "b.000002", "position": 9}, arts, at)
    >>> found["a"].position, found["z"]
    (10, None)
    >>> database_starts("b1", {"file": "b.000002", "position": 9}, arts[1:], at)["z"].position
    9
    """
    dumps = [a for a in artifacts if isinstance(a, dict) and a.get("kind") == "database"]
    starts: dict[str, BinlogBase | None] = {}
    for index, artifact in enumerate(dumps):
        own = artifact.get("log_position")
        recorded = own if isinstance(own, dict) else position if index == 0 else None
        starts[str(artifact.get("dbname"))] = pitr_binlog.base_position(backup, recorded, taken_at)
    return starts


def _in_order(names: set[str]) -> list[str]:
    return sorted(names, key=parse_binlog_name)


def _stored_rows(rows: list[WalSegment]) -> dict[str, WalSegment]:
    """The index row of each stored binlog file by its base name: whole rather than partial."""
    found: dict[str, WalSegment] = {}
    for row in rows:
        stored = pitr_binlog.stored_file(row)
        held = found.get(stored.name)
        if held is None or pitr_binlog.stored_file(held).partial:
            found[stored.name] = row
    return found


def _asked(request: PointInTime) -> str:
    return "the latest stored event" if request.latest else utc_text(request.time)


def request_facts(choice: BinlogChoice) -> dict[str, Any]:
    """What the restore's row keeps of the request (read back by `pitr_restores.from_row`)."""
    time = choice.request.time
    return {
        "time": utc_text(time) if time is not None else None,
        "latest": choice.request.latest,
        "base_backup": choice.base,
    }


def plan_out(choice: BinlogChoice) -> PointInTimePlanOut:
    starts = {
        source: f"{plan.files[0]}:{plan.start_position}"
        for source, plan in choice.plans.items()
        if plan.files
    }
    stops = {plan.stop_datetime for plan in choice.plans.values()}
    return PointInTimePlanOut(
        time=choice.request.time,
        latest=choice.request.latest,
        base_backup=choice.base,
        window_from=choice.window.start,
        window_to=choice.window.end,
        timeline=str(choice.window.timeline),
        stops_at_target=choice.stops_at_target,
        wal_files=[pitr_binlog.stored_file(r).name for r in choice.rows],
        wal_file_count=len(choice.rows),
        wal_bytes=sum(r.stored_bytes for r in choice.rows),
        start_positions=starts,
        stop_datetime=f"{min(stops)} UTC" if stops else None,
    )


def with_plan(
    plan: RestorePlanOut, choice: BinlogChoice, prepared: Prepared, timeout: float
) -> RestorePlanOut:
    """A logical restore's plan with the binlog fetched first and replayed after each
    database's base: the steps, the replay commands (without secrets) and the choice."""
    engine = prepared.engine
    if not isinstance(engine, BinlogReplayingEngine):
        raise invalid(f"the {engine.name} engine cannot replay a binlog", "restore-unsupported")
    stored = sum(r.stored_bytes for r in choice.rows)
    names = [pitr_binlog.stored_file(r).name for r in choice.rows]
    first = [
        f"before anything is written, fetch {len(names)} binlog files ({stored} stored bytes) "
        f"from storage {choice.storage} into this restore's private scratch folder, each "
        "verified against the SHA-256 the index recorded"
    ]
    steps, commands = [], []
    for item in prepared.planned:
        replay = choice.plans.get(item.source)
        if replay is None:
            raise conflict(
                f"base {choice.base} records no binlog position for {item.source}: it cannot "
                "be restored to a point in time",
                TARGET_UNREACHABLE,
            )
        steps.append(
            f"after {item.target} is restored from base {choice.base}: replay the events of "
            f"{item.source} from {replay.files[0]}:{replay.start_position} up to "
            f"{replay.stop_datetime} UTC (the first event at or after it is not replayed; the "
            f"reader runs with TZ=UTC) into {item.target}, with binary logging of the replay off"
        )
        files = [Path(name) for name in replay.files]
        command = engine.plan_binlog_replay(
            prepared.target_conn, replay, item.source, item.target, files, timeout
        )
        commands.append([*command.reader, "|", *command.client.argv])
    return plan.model_copy(
        update={
            "steps": [*first, *plan.steps, *steps],
            "commands": [*plan.commands, *commands],
            "point_in_time": plan_out(choice),
        }
    )
