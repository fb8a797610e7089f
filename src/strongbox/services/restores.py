"""Plan, start, list and show restores; mark restores a stopped server left behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongbox.catalog.models import Backup, Restore
from strongbox.domain.backup_methods import (
    PHYSICAL,
    PHYSICAL_NOT_RESTORABLE,
    physical_restore_refused,
)
from strongbox.domain.keys import manifest_key
from strongbox.domain.manifest import Manifest, ManifestArtifact
from strongbox.domain.names import default_name
from strongbox.domain.restore_plan import (
    CREATE,
    FILL,
    OVERWRITE,
    PlannedDatabase,
    plan_databases,
    target_names,
)
from strongbox.domain.roles import Role
from strongbox.domain.states import JobState, duration_seconds
from strongbox.engines.base import ConnectionInfo, Engine, RestoringEngine, SwappingEngine
from strongbox.engines.registry import KINDS
from strongbox.errors import StrongboxError, conflict, invalid, not_found
from strongbox.services import (
    access,
    backups,
    binlog_restores,
    databases,
    held_identities,
    hints,
    physical_transfer,
    pitr_restores,
    restore_keys,
    restore_steps,
    storages,
    stored_manifests,
)
from strongbox.services.auth import Principal
from strongbox.services.binlog_restores import BinlogChoice
from strongbox.services.busy import refuse_if_busy
from strongbox.services.context import Context
from strongbox.services.instance_build import instance_folder
from strongbox.services.managed_instances import TRANSFER_PREFIX
from strongbox.services.paging import Page, PageRequest, fetch
from strongbox.services.schemas import (
    PlannedArtifact,
    RestoreCreate,
    RestoredDatabase,
    RestoreOut,
    RestorePlanOut,
)
from strongbox.services.schemas.restores import NewInstanceOut, PointInTimeOut
from strongbox.storage.base import BackupStorage

TEMP_FILE_PLACEHOLDER = "<decompressed artifact in a temporary file>"


@dataclass
class Prepared:
    """Everything a restore needs, read from the catalog, the storage and the target server."""

    manifest: Manifest
    storage: BackupStorage
    target_conn: ConnectionInfo
    engine: Engine
    planned: list[PlannedDatabase]
    # A physical backup's base, recovered into a temporary instance whose databases are dumped
    # (see `physical_transfer`); None for a logical backup.
    base: ManifestArtifact | None = None


def create(
    ctx: Context,
    principal: Principal,
    database: str,
    body: RestoreCreate,
    *,
    dry_run: bool = False,
) -> RestoreOut | RestorePlanOut:
    """Check and plan a restore of backup `body.backup` of `database`; with `dry_run`, answer
    the plan and do nothing, else queue the restore and answer it. Operators restore into new
    or empty databases; replacing databases that hold data, or restoring the server's roles,
    needs admin (refused before anything is looked at, dry runs too)."""
    if body.overwrite:
        access.require(principal, Role.ADMIN, "a restore with overwrite=true")
    if body.restore_globals:
        access.require(principal, Role.ADMIN, "a restore with restore_globals=true")
    choice = None
    if body.point_in_time is not None:
        choice = binlog_restores.choose_any(ctx, database, body.point_in_time, body.backup)
        body = body.model_copy(update={"backup": choice.base})
    if body.new_instance is not None:
        from strongbox.services import new_instances  # it plans with this module's helpers

        wal_choice = binlog_restores.refuse_new_instance(choice)
        with ctx.catalog.session() as session:
            backup = _restorable_backup(session, database, body)
            session.expunge(backup)
        new_instances.check_request(ctx, database, body, backup)
        if dry_run:
            return new_instances.plan(ctx, database, body, wal_choice)
        return new_instances.queue(ctx, database, body, wal_choice)
    target = body.target or database
    with ctx.catalog.session() as session:
        _check_request(session, database, target, body)
    prepared = prepare(ctx, database, body.backup_name(), target, body.database_map, body.overwrite)
    artifacts = [*prepared.manifest.artifacts, *([prepared.base] if prepared.base else [])]
    identities = restore_keys.identities_for(
        artifacts, body.identity, body.backup_name(), choice.rows if choice is not None else ()
    )
    if dry_run:
        if isinstance(choice, BinlogChoice):
            timeout = ctx.settings.check_timeout_seconds
            return binlog_restores.with_plan(
                plan_out(prepared, body, target), choice, prepared, timeout
            )
        return _with_point_in_time(ctx, plan_out(prepared, body, target), choice)
    now = ctx.clock.now()
    name = body.name or default_name("restore", now)
    with ctx.catalog.session() as session:
        if find(session, database, name) is not None:
            raise conflict(
                f"database '{database}' already has a restore named '{name}'", "name-taken"
            )
        refuse_if_busy(session, database, target)
        row = Restore(
            name=name,
            database=database,
            backup=body.backup_name(),
            target=target,
            database_map=dict(body.database_map),
            overwrite=body.overwrite,
            restore_globals=body.restore_globals,
            parallel_jobs=body.jobs,
            exact_counts=body.exact_counts,
            state=JobState.QUEUED,
            created_at=now,
            restored_bytes=0,
            expected_bytes=sum(p.artifact.raw_bytes for p in prepared.planned),
            summary=[_summary_entry(p) for p in prepared.planned],
            point_in_time=binlog_restores.request_facts_any(choice),
        )
        session.add(row)
        session.flush()
        restore_id = row.id
        out = to_out(row)
    held_identities.enqueue(ctx, restore_id, database, identities)
    return out


def prepare(
    ctx: Context,
    database: str,
    backup_name: str,
    target: str,
    database_map: dict[str, str],
    overwrite: bool,
) -> Prepared:
    """Read the backup's manifest and the target databases' states, and plan. Raises the
    refusals a person must see before anything is touched."""
    with ctx.catalog.session() as session:
        backup = backups.get_row(session, database, backup_name)
        storage_name = backup.storage
        target_row = databases.get_row(session, target)
        target_conn = databases.connection_of(ctx, target_row)
        engine = databases.engine_of(ctx, target_row.engine)
        target_engine = target_row.engine
    try:
        storage, prefix = storages.open_by_name(ctx, storage_name)
    except StrongboxError as exc:
        raise invalid(
            f"the storage '{storage_name}' of backup '{backup_name}' is no longer registered: "
            "register it again under that name to restore from it",
            "storage-not-found",
            field_name="body.backup",
        ) from exc
    manifest = trusted_manifest(ctx, backup, storage, prefix)
    base = None
    if manifest.method == PHYSICAL:
        base = physical_transfer.base_of(manifest)
        with ctx.catalog.session() as session:
            registered = list(databases.get_row(session, database).databases)
        manifest = physical_transfer.planning_manifest(manifest, list(database_map) or registered)
    if manifest.engine != target_engine:
        raise invalid(
            f"backup '{backup_name}' is a {manifest.engine} backup and '{target}' is a "
            f"{target_engine} database: restore into a {manifest.engine} database",
            "engine-mismatch",
            field_name="body.target",
        )
    timeout = ctx.settings.check_timeout_seconds
    restoring = as_restoring(engine)
    states = {
        name: restoring.database_state(target_conn, name, timeout)
        for name in target_names(manifest, database_map)
    }
    planned = plan_databases(manifest, database_map, states, overwrite=overwrite)
    return Prepared(manifest, storage, target_conn, engine, planned, base)


def trusted_manifest(
    ctx: Context, backup: Backup, storage: BackupStorage, storage_prefix: str
) -> Manifest:
    """The manifest a restore plans with: the artifacts (keys, names, sizes, SHA-256, formats)
    and the engine come from the catalog's record; the manifest in the storage must keep the
    layout's rules and agree with that record, or the restore is refused. Only descriptive
    fields the catalog does not keep (tool versions, compression) come from the storage."""
    recorded = stored_manifests.recorded_artifacts(backup, storage_prefix)
    key = manifest_key(storage_prefix, backup.database, backup.name)
    stored = stored_manifests.read_checked(
        storage,
        key,
        storage_prefix=storage_prefix,
        database=backup.database,
        backup=backup.name,
        now=ctx.clock.now(),
    )
    stored_manifests.require_agreement(key, backup, recorded, stored)
    return stored.model_copy(
        update={
            "database": backup.database,
            "backup": backup.name,
            "engine": backup.engine,
            "artifacts": recorded,
        }
    )


def as_restoring(engine: Engine) -> RestoringEngine:
    if not isinstance(engine, RestoringEngine):
        raise invalid(f"the {engine.name} engine cannot restore", "restore-unsupported")
    return engine


def parallel_jobs_for(engine_name: str, requested: int) -> int:
    """How many restore processes run at once: `requested` where the engine kind restores in
    parallel (from a local file), else 1."""
    kind = KINDS.get(engine_name)
    return requested if kind is not None and kind.parallel_restore else 1


def globals_of(manifest: Manifest) -> ManifestArtifact | None:
    return next((a for a in manifest.artifacts if a.kind == "globals"), None)


def plan_out(prepared: Prepared, body: RestoreCreate, target: str) -> RestorePlanOut:
    restoring = as_restoring(prepared.engine)
    parallel_jobs = parallel_jobs_for(prepared.manifest.engine, body.jobs)
    steps: list[str] = []
    commands: list[list[str]] = []
    artifacts: list[PlannedArtifact] = []
    if prepared.base is not None:
        steps.append(
            f"verify {prepared.base.key} (SHA-256) while it is extracted into a temporary "
            "instance on this host, recover it to the end of the base, and pg_dump each "
            "database below from it; the temporary instance is removed at the end"
        )
    globals_artifact = globals_of(prepared.manifest) if body.restore_globals else None
    if globals_artifact is not None:
        globals_command = restoring.plan_globals_restore(prepared.target_conn)
        if globals_command is not None:
            steps.append(f"verify and apply the roles in {globals_artifact.key}")
            commands.append(globals_command.argv)
            artifacts.append(_planned_artifact(globals_artifact, None, None, "apply", True))
    for item in prepared.planned:
        if item.verify_first:
            steps.append(f"verify {item.artifact.key} (SHA-256) before touching {item.target}")
        steps.append(_action_step(item, isinstance(restoring, SwappingEngine)))
        step, argvs = restore_steps.planned_commands(
            restoring, prepared.target_conn, item, parallel_jobs, TEMP_FILE_PLACEHOLDER
        )
        steps.append(step)
        commands += argvs
        artifacts.append(
            _planned_artifact(
                item.artifact, item.source, item.target, item.action, item.verify_first
            )
        )
    return RestorePlanOut(
        backup=body.backup_name(),
        target=target,
        engine=prepared.manifest.engine,
        artifacts=artifacts,
        steps=steps,
        commands=commands,
    )


def _with_point_in_time(
    ctx: Context, plan: RestorePlanOut, choice: pitr_restores.PitrChoice | None
) -> RestorePlanOut:
    """A transfer's plan with the point-in-time recovery of its temporary instance."""
    if choice is None:
        return plan
    folder = instance_folder(ctx, f"{TRANSFER_PREFIX}<random>")
    settings = pitr_restores.settings_for(ctx, choice, folder)
    return plan.model_copy(
        update={
            "steps": [plan.steps[0], *pitr_restores.plan_steps(choice, folder), *plan.steps[1:]],
            "settings": settings.lines(),
            "point_in_time": pitr_restores.plan_out(choice),
        }
    )


def list_for(ctx: Context, database: str) -> list[RestoreOut]:
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        rows = session.scalars(
            select(Restore)
            .where(Restore.database == database)
            .order_by(Restore.created_at.desc(), Restore.id.desc())
        )
        return [to_out(r) for r in rows]


def page_for(ctx: Context, database: str, request: PageRequest) -> Page[RestoreOut]:
    """The database's restores, newest first, a page at a time."""
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        statement = select(Restore).where(Restore.database == database)
        rows, after = fetch(session, statement, Restore.created_at, Restore.id, request)
        return Page[RestoreOut](items=[to_out(r) for r in rows], next=after)


def get(ctx: Context, database: str, name: str) -> RestoreOut:
    with ctx.catalog.session() as session:
        databases.get_row(session, database)
        row = find(session, database, name)
        if row is None:
            raise not_found(
                f"database '{database}' has no restore named '{name}': "
                f"{hints.list_restores(database)}",
                "restore-not-found",
            )
        return to_out(row)


def interrupted_state(server: str, summary: list[dict[str, Any]]) -> str:
    """What a restore cut by a stop left on the registered database `server`, from the facts
    its summary recorded as it went: databases that may be incomplete (created or written in
    place, marked `writing`), and side or old copies of an overwrite beside its target, to drop
    by hand (the rename that swaps them is one transaction, so the target is either the old or
    the new one).

    >>> interrupted_state("prod", [{"target": "app", "action": "overwrite",
    ...     "side_database": "app__sbx_1a2b3c"}])
    "on 'prod': app was not changed, but its unfinished copy app__sbx_1a2b3c may be left: drop it"
    """
    facts = []
    for entry in summary:
        target = entry["target"]
        side, aside = entry.get("side_database"), entry.get("previous_database")
        if side and aside:
            facts.append(
                f"the restore stopped while swapping {target}: either {side} (an unfinished "
                f"copy; {target} was not changed) or {aside} (its old content; {target} was "
                "restored) may be left, whichever exists: drop it"
            )
        elif entry.get("side_database"):
            facts.append(
                f"{target} was not changed, but its unfinished copy {entry['side_database']} "
                "may be left: drop it"
            )
        elif entry.get("previous_database"):
            facts.append(
                f"{target} was restored; its old content may be left as "
                f"{entry['previous_database']}: drop it"
            )
        elif entry.get("writing"):
            facts.append(f"{target} may be incomplete")
    return f"on '{server}': " + ("; ".join(facts) if facts else "no database was being written")


def _check_request(session: Session, database: str, target: str, body: RestoreCreate) -> None:
    backup = _restorable_backup(session, database, body)
    if backup.method == PHYSICAL and body.restore_globals:
        raise invalid(
            physical_restore_refused(backup.name), PHYSICAL_NOT_RESTORABLE, field_name="body.backup"
        )
    try:
        databases.get_row(session, target)
    except StrongboxError as exc:
        raise invalid(
            f"no database named '{target}' is registered: {hints.add_database()}",
            "database-not-found",
            field_name="body.target",
        ) from exc
    refuse_if_busy(session, database, target)


def _restorable_backup(session: Session, database: str, body: RestoreCreate) -> Backup:
    """The succeeded backup `body.backup` of `database`, or the refusal a person must see."""
    databases.get_row(session, database)
    backup = session.scalars(
        select(Backup).where(Backup.database == database, Backup.name == body.backup_name())
    ).first()
    if backup is None:
        raise invalid(
            f"database '{database}' has no backup named '{body.backup}': "
            f"{hints.list_backups(database)}",
            "backup-not-found",
            field_name="body.backup",
        )
    if backup.state != JobState.SUCCEEDED:
        raise conflict(
            f"backup '{body.backup}' is {backup.state}, not succeeded: only a succeeded backup "
            "can be restored",
            "backup-not-restorable",
        )
    return backup


def find(session: Session, database: str, name: str) -> Restore | None:
    return session.scalars(
        select(Restore).where(Restore.database == database, Restore.name == name)
    ).first()


def _action_step(item: PlannedDatabase, swaps: bool) -> str:
    if item.action == OVERWRITE and swaps:
        return (
            f"restore into a side database next to {item.target}, check it, swap it in by "
            f"renaming, then drop the old {item.target}"
        )
    return {
        CREATE: f"create database {item.target}",
        FILL: f"restore into the existing empty database {item.target}",
        OVERWRITE: f"drop and recreate database {item.target} from the verified local copy",
    }[item.action]


def _summary_entry(item: PlannedDatabase) -> dict[str, object]:
    return {"source": item.source, "target": item.target, "action": item.action}


def _planned_artifact(
    artifact: ManifestArtifact,
    source: str | None,
    target: str | None,
    action: str,
    verify_first: bool,
) -> PlannedArtifact:
    return PlannedArtifact(
        key=artifact.key,
        stored_bytes=artifact.stored_bytes,
        raw_bytes=artifact.raw_bytes,
        sha256=artifact.sha256,
        source=source,
        target=target,
        action=action,
        verify_before_writing=verify_first,
    )


def to_out(row: Restore) -> RestoreOut:
    duration = duration_seconds(row.started_at, row.finished_at)
    return RestoreOut(
        name=row.name,
        database=row.database,
        backup=row.backup,
        target=row.target,
        database_map=dict(row.database_map),
        overwrite=row.overwrite,
        restore_globals=row.restore_globals,
        jobs=row.parallel_jobs,
        exact_counts=row.exact_counts,
        state=row.state,
        error=row.error,
        claimed_by=row.claimed_by,
        heartbeat_at=row.heartbeat_at,
        canceled_by=row.canceled_by,
        canceled_at=row.cancel_requested_at,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_seconds=duration,
        restored_bytes=row.restored_bytes,
        expected_bytes=row.expected_bytes,
        summary=[RestoredDatabase(**s) for s in row.summary],
        new_instance=(
            NewInstanceOut.model_validate(row.new_instance) if row.new_instance else None
        ),
        point_in_time=(
            PointInTimeOut.model_validate(row.point_in_time) if row.point_in_time else None
        ),
    )
