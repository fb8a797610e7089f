"""What a restore works from: the backup's manifest as the catalog vouches for it, the target
server's engine and the state of each database it would write, planned; refusals a person must
see come before anything is touched. Shared by restores into registered databases and into new
instances."""

from __future__ import annotations

from dataclasses import dataclass

from strongbox.catalog.models import Backup
from strongbox.domain.backup_methods import PHYSICAL
from strongbox.domain.keys import manifest_key
from strongbox.domain.manifest import Manifest, ManifestArtifact
from strongbox.domain.restore_plan import PlannedDatabase, plan_databases, target_names
from strongbox.engines.base import ConnectionInfo, Engine, RestoringEngine
from strongbox.engines.registry import KINDS
from strongbox.errors import StrongboxError, invalid
from strongbox.services import backups, databases, physical_transfer, storages, stored_manifests
from strongbox.services.context import Context
from strongbox.storage.base import BackupStorage


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
