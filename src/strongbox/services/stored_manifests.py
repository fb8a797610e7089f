"""Manifests and the catalog: reading them from a storage, where they are untrusted input
(bounded in size, parsed, held to the layout's rules of `domain.manifest_checks`), comparing
them with the catalog, and the catalog values a manifest gives a succeeded backup."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from strongbox.catalog.models import Backup
from strongbox.domain.manifest import Manifest, ManifestArtifact
from strongbox.domain.manifest_checks import (
    artifact_set_problems,
    catalog_artifacts,
    differences,
    manifest_problems,
)
from strongbox.engines.registry import ENGINE_NAMES, artifact_formats
from strongbox.errors import StrongboxError, refused
from strongbox.storage.base import BackupStorage

# A manifest lists a few artifacts; anything this large is not one, and is not read whole.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MISSING = "backup-manifest-missing"
UNREADABLE = "backup-manifest-unreadable"
INVALID = "backup-manifest-invalid"
MISMATCH = "backup-manifest-mismatch"
RECORD_INVALID = "backup-record-invalid"
_SHOWN = 5  # problems named in one message


def read(storage: BackupStorage, key: str) -> Manifest:
    """The manifest at `key`, parsed but not yet checked. Raises refused(MISSING) when it cannot
    be read and refused(UNREADABLE) when it is too large or not a Strongbox manifest."""
    try:
        with storage.open_read(key) as source:
            data = source.read(MAX_MANIFEST_BYTES + 1)
    except StrongboxError as exc:
        raise refused(
            f"the backup's manifest {key} cannot be read ({exc}); without it the artifacts "
            "cannot be verified, so the backup is not restored",
            MISSING,
        ) from exc
    if len(data) > MAX_MANIFEST_BYTES:
        raise refused(
            f"the backup's manifest {key} is larger than {MAX_MANIFEST_BYTES} bytes, which no "
            "Strongbox manifest is",
            UNREADABLE,
        )
    try:
        return Manifest.model_validate_json(data)
    except ValidationError as exc:
        raise refused(
            f"the backup's manifest {key} is not a valid Strongbox manifest "
            f"({exc.error_count()} problems, first: {exc.errors()[0]['msg']})",
            UNREADABLE,
        ) from exc


def read_checked(
    storage: BackupStorage,
    key: str,
    *,
    storage_prefix: str,
    database: str,
    backup: str,
    now: datetime,
) -> Manifest:
    """The manifest at `key`, the manifest key of `database`/`backup`, once it keeps every rule
    of the layout. Raises the refusals of `read`, and refused(INVALID) naming what it breaks."""
    manifest = read(storage, key)
    problems = manifest_problems(
        manifest,
        formats=artifact_formats(),
        storage_prefix=storage_prefix,
        database=database,
        backup=backup,
        now=now,
    )
    if problems:
        raise refused(
            f"the manifest {key} breaks the layout's rules, so it was changed or damaged and "
            f"nothing it names is used: {_listed(problems)}",
            INVALID,
        )
    return manifest


def catalog_values(manifest: Manifest, location: str) -> dict[str, Any]:
    """The columns of a succeeded backup's catalog row that its manifest gives, the same for a
    backup just taken and for one imported from a storage; `location` is where people find it
    (see `storages.location_of`)."""
    return {
        "engine": manifest.engine,
        "server_version": manifest.server_version,
        "size_bytes": manifest.size_bytes,
        "stored_bytes": manifest.stored_bytes,
        "progress_bytes": manifest.size_bytes,
        "location": location,
        "log_position": manifest.log_position,
        "artifacts": [a.model_dump() for a in manifest.artifacts],
    }


def recorded_artifacts(row: Backup, storage_prefix: str) -> list[ManifestArtifact]:
    """The artifacts the catalog recorded for backup `row` (at backup time, or at import after
    validation), held to the same rules as a stored manifest's: a record imported before
    imports were checked is not trusted blindly. Raises refused(RECORD_INVALID)."""
    label = f"{row.database}/{row.name}"
    engine = row.engine or ""
    if engine not in ENGINE_NAMES:
        raise _bad_record(label, [f"engine {engine!r} is not one of {ENGINE_NAMES}"])
    formats = artifact_formats()
    try:
        artifacts = catalog_artifacts(engine, row.artifacts, formats)
    except ValueError as exc:
        raise _bad_record(label, [str(exc).splitlines()[0]]) from exc
    problems = artifact_set_problems(
        artifacts,
        engine=engine,
        formats=formats,
        storage_prefix=storage_prefix,
        database=row.database,
        backup=row.name,
    )
    if problems:
        raise _bad_record(label, problems)
    return artifacts


def require_agreement(
    key: str, row: Backup, recorded: list[ManifestArtifact], stored: Manifest
) -> None:
    """Raises refused(MISMATCH) naming each difference between the engine and artifacts the
    catalog recorded for backup `row` and those of the manifest at `key`."""
    found = differences(recorded, stored.artifacts)
    if stored.engine != row.engine:
        found.insert(
            0, f"engine is {row.engine!r} in the catalog and {stored.engine!r} in the storage"
        )
    if found:
        raise refused(
            f"the manifest {key} disagrees with the catalog's record of backup '{row.name}', so "
            f"the storage was changed after the backup and it is not restored: {_listed(found)}."
            " Restore another backup, or put the original objects back",
            MISMATCH,
        )


def _bad_record(label: str, problems: list[str]) -> StrongboxError:
    return refused(
        f"the catalog's record of backup {label} breaks the layout's rules, so it is not "
        f"restored: {_listed(problems)}. Restore another backup",
        RECORD_INVALID,
    )


def _listed(problems: list[str]) -> str:
    more = len(problems) - _SHOWN
    return "; ".join(problems[:_SHOWN]) + (f"; and {more} more" if more > 0 else "")
