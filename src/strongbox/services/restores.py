"""Check, plan and queue restores (into registered databases; into a new instance through
`new_instances`). What they work from is `restore_inputs`; their rows, `restore_rows`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongbox.catalog.models import Backup, Restore
from strongbox.domain.backup_methods import (
    PHYSICAL,
    PHYSICAL_NOT_RESTORABLE,
    physical_restore_refused,
)
from strongbox.domain.manifest import ManifestArtifact
from strongbox.domain.names import default_name
from strongbox.domain.restore_plan import (
    CREATE,
    FILL,
    OVERWRITE,
    PlannedDatabase,
)
from strongbox.domain.roles import Role
from strongbox.domain.states import JobState
from strongbox.engines.base import SwappingEngine
from strongbox.errors import StrongboxError, conflict, invalid
from strongbox.services import (
    access,
    binlog_restores,
    databases,
    held_identities,
    hints,
    new_instances,
    pitr_restores,
    restore_keys,
    restore_steps,
)
from strongbox.services.auth import Principal
from strongbox.services.binlog_restores import BinlogChoice
from strongbox.services.busy import refuse_if_busy
from strongbox.services.context import Context
from strongbox.services.instance_build import instance_folder
from strongbox.services.managed_instances import TRANSFER_PREFIX
from strongbox.services.restore_inputs import (
    Prepared,
    as_restoring,
    globals_of,
    parallel_jobs_for,
    prepare,
)
from strongbox.services.restore_rows import find, to_out
from strongbox.services.schemas import (
    PlannedArtifact,
    RestoreCreate,
    RestoreOut,
    RestorePlanOut,
)

TEMP_FILE_PLACEHOLDER = "<decompressed artifact in a temporary file>"


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
