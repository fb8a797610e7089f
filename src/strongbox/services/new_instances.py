"""A restore of a physical backup into a new PostgreSQL instance on this host: the request's
checks and plan, and the run that builds the instance (`instance_build`) recovered to the end
of the base, then registers it as a managed database."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import update

from strongbox.catalog.models import Backup, ManagedInstance, Restore
from strongbox.domain.backup_methods import PHYSICAL
from strongbox.domain.manifest import Manifest, ManifestArtifact
from strongbox.domain.names import default_name
from strongbox.domain.recovery import instance_settings, recovery_settings
from strongbox.domain.states import JobState
from strongbox.engines.postgresql.instance import find_pg_ctl
from strongbox.errors import StrongboxError, conflict, invalid
from strongbox.restore_pipeline import Identities
from strongbox.services import (
    backups,
    databases,
    held_identities,
    managed_instances,
    physical_transfer,
    pitr_restores,
    restore_inputs,
    restore_keys,
    restore_rows,
    storages,
)
from strongbox.services.busy import refuse_if_busy
from strongbox.services.context import Context
from strongbox.services.instance_build import (
    LOCALHOST,
    BuiltInstance,
    InstanceSpec,
    build_instance,
    instance_folder,
    refuse_unusable,
    tear_down,
)
from strongbox.services.pitr_restores import PitrChoice
from strongbox.services.schemas import DatabaseCreate, RestoreCreate, RestoreOut, RestorePlanOut
from strongbox.services.schemas.restores import NewInstance, PlannedArtifact
from strongbox.storage.base import BackupStorage

PROGRESS_EVERY_SECONDS = 1.0
_EXCLUSIVE = ("target", "database_map", "overwrite", "restore_globals", "exact_counts")


def check_request(ctx: Context, database: str, body: RestoreCreate, backup: Backup) -> None:
    """Refusals of a `new_instance` request before anything starts."""
    spec = body.new_instance
    assert spec is not None
    given = [name for name in _EXCLUSIVE if name in body.model_fields_set]
    if given:
        raise invalid(
            f"new_instance restores the whole cluster into a new instance: leave out "
            f"{', '.join(given)}",
            "new-instance-exclusive",
            field_name=f"body.{given[0]}",
        )
    if backup.method != PHYSICAL:
        raise invalid(
            f"backup '{backup.name}' is {backup.method}: a new instance is made from a physical "
            "backup; restore a logical backup into a registered database with target",
            "new-instance-needs-physical",
            field_name="body.backup",
        )
    with ctx.catalog.session() as session:
        try:
            databases.get_row(session, spec.name)
        except StrongboxError:
            pass
        else:
            raise conflict(
                f"a database named '{spec.name}' is registered already: choose another name "
                "for the new instance",
                "name-taken",
            )
        refuse_if_busy(session, database, spec.name)
    refuse_unusable(ctx, spec.name, spec.port)


def plan(
    ctx: Context, database: str, body: RestoreCreate, choice: PitrChoice | None = None
) -> RestorePlanOut:
    spec = body.new_instance
    assert spec is not None
    base, manifest, _storage = trusted_base(ctx, database, body.backup_name())
    identities_for(body, base, choice)
    folder = instance_folder(ctx, spec.name)
    os_user = managed_instances.os_user(ctx)
    if choice is None:
        recovery, recovering = recovery_settings(), ["recovery to the end of the base"]
    else:
        recovery = pitr_restores.settings_for(ctx, choice, folder)
        recovering = pitr_restores.plan_steps(choice, folder)
    settings_text = instance_settings(folder.layout(spec.port), recovery)
    pg_ctl = str(find_pg_ctl(physical_transfer.server_major(manifest), ctx.settings.pg_bin_dir))
    return RestorePlanOut(
        backup=body.backup_name(),
        target=spec.name,
        engine=manifest.engine,
        artifacts=[
            PlannedArtifact(
                key=base.key,
                stored_bytes=base.stored_bytes,
                raw_bytes=base.raw_bytes,
                sha256=base.sha256,
                source=None,
                target=spec.name,
                action="create",
                verify_before_writing=True,
            )
        ],
        steps=[
            f"check that port {spec.port} is free and {folder.root} does not exist",
            f"extract {base.key} into {folder.data_dir}, each tar member checked, while its "
            "SHA-256 is verified (the server starts only once it matched)",
            f"configure it: port {spec.port} on {LOCALHOST}, socket in {folder.socket_dir}, "
            "Strongbox's pg_hba.conf, archiving and replication off, the recovery settings "
            "below",
            *recovering,
            f"start it as the OS user {os_user!r} and wait for promotion (at most "
            f"{int(ctx.settings.recovery_timeout_seconds)} s)",
            f"register it as database '{spec.name}' ({LOCALHOST}:{spec.port}), managed by "
            "Strongbox",
        ],
        commands=[
            [pg_ctl, "-D", str(folder.data_dir), "-l", str(folder.log_file), "-w", "start"],
        ],
        settings=[line for line in settings_text.splitlines() if not line.startswith("#")],
        point_in_time=pitr_restores.plan_out(choice) if choice is not None else None,
    )


def queue(
    ctx: Context, database: str, body: RestoreCreate, choice: PitrChoice | None = None
) -> RestoreOut:
    spec = body.new_instance
    assert spec is not None
    base, _manifest, _storage = trusted_base(ctx, database, body.backup_name())
    identities = identities_for(body, base, choice)
    now = ctx.clock.now()
    name = body.name or default_name("restore", now)
    with ctx.catalog.session() as session:
        if restore_rows.find(session, database, name) is not None:
            raise conflict(
                f"database '{database}' already has a restore named '{name}'", "name-taken"
            )
        refuse_if_busy(session, database, spec.name)
        row = Restore(
            name=name,
            database=database,
            backup=body.backup_name(),
            target=spec.name,
            database_map={},
            overwrite=False,
            restore_globals=False,
            parallel_jobs=1,
            state=JobState.QUEUED,
            created_at=now,
            restored_bytes=0,
            expected_bytes=base.raw_bytes,
            summary=[],
            new_instance={"name": spec.name, "port": spec.port},
            point_in_time=pitr_restores.request_facts(choice) if choice else None,
        )
        session.add(row)
        session.flush()
        restore_id = row.id
        out = restore_rows.to_out(row)
    held_identities.enqueue(ctx, restore_id, database, identities)
    return out


def identities_for(
    body: RestoreCreate, base: ManifestArtifact, choice: PitrChoice | None
) -> Identities:
    """The identities that open the base and the WAL the restore needs (None when none of it
    is encrypted); refused before anything is touched when they are missing or wrong."""
    segments = choice.rows if choice is not None else []
    return restore_keys.identities_for([base], body.identity, body.backup_name(), segments)


def run(ctx: Context, restore_id: int, identities: Identities = None) -> None:
    """Build the instance of the claimed restore `restore_id` and register it; raises
    StrongboxError (the caller records it) with nothing left behind. `identities` open an
    encrypted base and WAL (checked against their recipients when it was queued)."""
    with ctx.catalog.session() as session:
        row = session.get(Restore, restore_id)
        assert row is not None
        session.expunge(row)
    assert row.new_instance is not None
    request = NewInstance.model_validate(
        {"name": row.new_instance["name"], "port": row.new_instance["port"]}
    )
    base, manifest, storage = trusted_base(ctx, row.database, row.backup)
    held_identities.require(identities, restore_keys.recipients_of(manifest.artifacts))
    with ctx.catalog.session() as session:
        source = databases.get_row(session, row.database)
        username, source_databases = source.username, list(source.databases)
        password = ctx.secrets.decrypt(source.password_encrypted)
    spec = InstanceSpec(
        name=request.name,
        port=request.port,
        storage=storage,
        base=base,
        server_major=physical_transfer.server_major(manifest),
        username=username,
        password=password,
        identities=identities,
    )
    progress = _Progress(ctx, restore_id)
    pitr = (
        pitr_restores.recovery_for_row(ctx, restore_id, row.point_in_time)
        if row.point_in_time
        else None
    )
    built = build_instance(ctx, spec, pitr, on_raw_bytes=progress)
    facts = {
        **row.new_instance,
        "folder": str(built.root),
        "os_user": built.os_user,
        "recovery": built.outcome.facts(),
    }
    _set(ctx, restore_id, new_instance=facts, restored_bytes=base.raw_bytes)
    try:
        summary = register_instance(ctx, spec, built, row, source_databases)
    except BaseException as exc:
        left = tear_down(ctx, built.server)
        if isinstance(exc, StrongboxError):
            removed = left or "the new instance was removed"
            raise StrongboxError(f"{exc}; {removed}", exc.code, exc.kind) from exc
        raise
    _set(ctx, restore_id, summary=summary)


def register_instance(
    ctx: Context,
    spec: InstanceSpec,
    built: BuiltInstance,
    row: Restore,
    source_databases: list[str],
) -> list[dict[str, Any]]:
    """Register the running instance as database `spec.name` (checked like any database), mark
    it managed, and return the restore's summary: its databases with their tables and rows."""
    created = databases.create(
        ctx,
        DatabaseCreate.model_validate(
            {
                "name": spec.name,
                "engine": "postgresql",
                "host": LOCALHOST,
                "port": spec.port,
                "username": spec.username,
                "password": spec.password,
                "ssl_mode": "disable",
                "databases": source_databases,
                "description": f"restored from {row.database}/{row.backup} by {row.name}",
            }
        ),
    )
    with ctx.catalog.session() as session:
        session.add(
            ManagedInstance(
                database=spec.name,
                folder=str(built.root),
                os_user=built.os_user,
                port=spec.port,
                server_major=spec.server_major,
                restore=row.name,
                source_database=row.database,
                created_at=ctx.clock.now(),
            )
        )
    with ctx.catalog.session() as session:
        target = databases.get_row(session, created.name)
        conn = databases.connection_of(ctx, target)
    engine = databases.engine_of(ctx, "postgresql")
    timeout = ctx.settings.check_timeout_seconds
    names = source_databases or engine.list_databases(conn, timeout)
    restoring = restore_inputs.as_restoring(engine)
    summary = []
    for name in names:
        entry: dict[str, Any] = {"source": name, "target": name, "action": "create"}
        try:
            counts = restoring.summarize(conn, name, ctx.settings.restore_count_timeout_seconds)
            entry |= {
                "tables": counts.tables,
                "rows": counts.rows,
                "rows_estimated": counts.estimated,
            }
        except StrongboxError:
            entry |= {"tables": None, "rows": None}
        summary.append(entry)
    return summary


def trusted_base(
    ctx: Context, database: str, backup_name: str
) -> tuple[ManifestArtifact, Manifest, BackupStorage]:
    """The base artifact from the catalog's record, once the stored manifest agrees with it."""
    with ctx.catalog.session() as session:
        backup = backups.get_row(session, database, backup_name)
        session.expunge(backup)
    storage, prefix = storages.open_by_name(ctx, backup.storage)
    manifest = restore_inputs.trusted_manifest(ctx, backup, storage, prefix)
    return physical_transfer.base_of(manifest), manifest, storage


class _Progress:
    def __init__(self, ctx: Context, restore_id: int) -> None:
        self._ctx, self._id, self._last = ctx, restore_id, 0.0

    def __call__(self, raw_bytes: int) -> None:
        if time.monotonic() - self._last >= PROGRESS_EVERY_SECONDS:
            self._last = time.monotonic()
            _set(self._ctx, self._id, restored_bytes=raw_bytes, heartbeat_at=self._ctx.clock.now())


def _set(ctx: Context, restore_id: int, **values: Any) -> None:
    with ctx.catalog.session() as session:
        session.execute(update(Restore).where(Restore.id == restore_id).values(**values))
