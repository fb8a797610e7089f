"""Registering the backups found in a storage: a new Strongbox, or one whose catalog was lost,
can restore what an older one stored. The manifests are the source of truth."""

from __future__ import annotations

from sqlalchemy import select

from strongbox.catalog.models import Backup
from strongbox.domain.keys import MANIFEST_NAME, backup_prefix, manifest_key, search_prefix
from strongbox.domain.manifest import Manifest
from strongbox.domain.names import is_valid_name
from strongbox.domain.states import JobState
from strongbox.errors import StrongboxError
from strongbox.services import storages, stored_manifests
from strongbox.services.context import Context
from strongbox.services.schemas import ImportOut, ImportRefusal


def import_backups(ctx: Context, storage_name: str, database: str | None) -> ImportOut:
    """Register every backup whose manifest lies in the storage (of `database` only, if given)
    and keeps the layout's rules; backups already in the catalog are skipped, manifests that
    cannot be read are reported unreadable, and those that break a rule (or lie where no
    manifest belongs) are reported refused, each with why."""
    storage, prefix = storages.open_by_name(ctx, storage_name)
    imported: list[str] = []
    skipped: list[str] = []
    unreadable: list[str] = []
    refusals: list[ImportRefusal] = []
    for info in storage.list(search_prefix(prefix, database)):
        if not info.key.endswith("/" + MANIFEST_NAME) and info.key != MANIFEST_NAME:
            continue
        place = _place_of(prefix, info.key)
        if place is None:
            refusals.append(
                ImportRefusal(
                    key=info.key,
                    reason="a manifest lies only at {prefix}/{database}/{backup}/manifest.json, "
                    "with valid names",
                )
            )
            continue
        try:
            manifest = stored_manifests.read_checked(
                storage,
                info.key,
                storage_prefix=prefix,
                database=place[0],
                backup=place[1],
                now=ctx.clock.now(),
            )
        except StrongboxError as exc:
            if exc.code == stored_manifests.INVALID:
                refusals.append(ImportRefusal(key=info.key, reason=str(exc)))
            else:
                unreadable.append(f"{info.key}: {str(exc).splitlines()[0]}")
            continue
        label = f"{manifest.database}/{manifest.backup}"
        location = storages.location_of(
            ctx, storage_name, backup_prefix(prefix, manifest.database, manifest.backup)
        )
        if _register(ctx, storage_name, manifest, location=location):
            imported.append(label)
        else:
            skipped.append(label)
    return ImportOut(imported=imported, skipped=skipped, unreadable=unreadable, refused=refusals)


def _place_of(storage_prefix: str, key: str) -> tuple[str, str] | None:
    """The (database, backup) whose manifest key `key` is, or None when it is not the manifest
    key of any backup (a stray manifest.json elsewhere, or names that are not valid)."""
    parts = key.removeprefix(search_prefix(storage_prefix)).split("/")
    if len(parts) != 3 or not (is_valid_name(parts[0]) and is_valid_name(parts[1])):
        return None
    database, backup = parts[0], parts[1]
    return (database, backup) if manifest_key(storage_prefix, database, backup) == key else None


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
                **stored_manifests.catalog_values(manifest, location),
            )
        )
        return True
