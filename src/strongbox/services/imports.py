"""Registering the backups found in a storage: a new Strongbox, or one whose catalog was lost,
can restore what an older one stored. The manifests are the source of truth."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select

from strongbox.catalog.models import Backup
from strongbox.domain.keys import MANIFEST_NAME, backup_prefix, join_key
from strongbox.domain.manifest import Manifest
from strongbox.domain.names import is_valid_name
from strongbox.domain.states import JobState
from strongbox.errors import StrongboxError
from strongbox.services import storages
from strongbox.services.context import Context
from strongbox.services.schemas import ImportOut


def import_backups(ctx: Context, storage_name: str, database: str | None) -> ImportOut:
    """Register every backup whose manifest lies in the storage (of `database` only, if given);
    backups already in the catalog are skipped, unreadable manifests reported."""
    storage, prefix = storages.open_by_name(ctx, storage_name)
    search = (
        join_key(prefix, database) + "/" if database else (join_key(prefix) + "/" if prefix else "")
    )
    imported: list[str] = []
    skipped: list[str] = []
    unreadable: list[str] = []
    for info in storage.list(search):
        if not info.key.endswith("/" + MANIFEST_NAME) and info.key != MANIFEST_NAME:
            continue
        try:
            manifest = Manifest.model_validate_json(storage.get_bytes(info.key))
        except (ValidationError, StrongboxError) as exc:
            unreadable.append(f"{info.key}: {str(exc).splitlines()[0]}")
            continue
        label = f"{manifest.database}/{manifest.backup}"
        expected_key = backup_prefix(prefix, manifest.database, manifest.backup) + MANIFEST_NAME
        if info.key != expected_key or not (
            is_valid_name(manifest.database) and is_valid_name(manifest.backup)
        ):
            unreadable.append(f"{info.key}: names {label}, which does not match where it lies")
            continue
        if _register(
            ctx,
            storage_name,
            manifest,
            location=storages.location_of(
                ctx, storage_name, backup_prefix(prefix, manifest.database, manifest.backup)
            ),
        ):
            imported.append(label)
        else:
            skipped.append(label)
    return ImportOut(imported=imported, skipped=skipped, unreadable=unreadable)


def _register(ctx: Context, storage_name: str, manifest: Manifest, location: str) -> bool:
    with ctx.catalog.session() as session:
        known = session.scalars(
            select(Backup.id).where(
                Backup.database == manifest.database, Backup.name == manifest.backup
            )
        ).first()
        if known is not None:
            return False
        session.add(
            Backup(
                name=manifest.backup,
                database=manifest.database,
                storage=storage_name,
                method=manifest.method,
                trigger=manifest.trigger,
                state=JobState.SUCCEEDED,
                created_at=manifest.started_at,
                started_at=manifest.started_at,
                finished_at=manifest.finished_at,
                size_bytes=manifest.size_bytes,
                stored_bytes=manifest.stored_bytes,
                progress_bytes=manifest.size_bytes,
                location=location,
                engine=manifest.engine,
                server_version=manifest.server_version,
                log_position=manifest.log_position,
                artifacts=[a.model_dump(exclude={"format"}) for a in manifest.artifacts],
            )
        )
        return True
