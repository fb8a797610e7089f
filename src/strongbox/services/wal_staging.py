"""WAL files for a `restore_command`, without secrets on the instance's side.

The restore worker (which holds the storage's credentials) downloads each WAL file a recovery
needs by its index entry (`WalSegment.key`), verifies the SHA-256 of the stored bytes against
the index, decompresses it and puts it, under its checked WAL name, in a staging folder inside
the instance's folder. The instance's `restore_command` is `strongbox wal-fetch STAGING %f %p`,
run by the instance's OS user: it only copies a staged file (`staged_wal.fetch_staged`), and answers
"absent" for any other, which ends archive recovery at the last staged file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from strongbox import restore_pipeline, scratch
from strongbox.catalog.models import WalSegment
from strongbox.domain.wal import PARTIAL, parse_wal_name
from strongbox.engines.postgresql.instance import give_to
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.restore_pipeline import Identities
from strongbox.storage.base import BackupStorage

BAD_WAL_ENTRY = "wal-index-bad-entry"
REREAD_ATTEMPTS = 3


def staged_name(segment: WalSegment) -> str:
    """The file name a WAL file is staged under: its own, except that a `.partial` segment is
    staged under its segment's name (PostgreSQL asks for that name; the partial is the newest
    WAL there is of it). Raises StrongboxError when the index's name is not a WAL file name."""
    try:
        wal = parse_wal_name(segment.name)
    except ValueError as exc:
        raise StrongboxError(
            f"the WAL index holds {segment.name!r}, which is not a WAL file name; the restore "
            "was stopped",
            BAD_WAL_ENTRY,
            ErrorKind.REFUSED,
        ) from exc
    return wal.name.removesuffix(".partial") if wal.kind == PARTIAL else wal.name


def stage_wal_segments(
    storage: BackupStorage,
    segments: Sequence[WalSegment],
    staging: Path,
    *,
    stall_seconds: float,
    os_user: str | None = None,
    reread: Callable[[str], WalSegment | None] | None = None,
    identities: Identities = None,
) -> list[Path]:
    """Download, verify (SHA-256 of the stored bytes against the index) and decompress each of
    `segments` into `staging` (made 0700 if missing), each under `staged_name`; a complete
    segment wins over a partial one of the same name. With `os_user`, the folder and files are
    given to that user. An encrypted file is decrypted with `identities` on its way (so the
    `restore_command` never needs a key). Returns the staged files. Raises StrongboxError (a
    checksum mismatch, a bad name, no file opened by the identities, no room) with nothing
    half-written left in `staging`."""
    chosen: dict[str, WalSegment] = {}
    for segment in segments:
        name = staged_name(segment)
        if name not in chosen or chosen[name].kind == PARTIAL:
            chosen[name] = segment
    staging.mkdir(mode=0o700, parents=True, exist_ok=True)
    scratch.require_room(
        staging,
        sum(s.size_bytes for s in chosen.values()),
        f"the {len(chosen)} WAL files to stage",
        place="the instances folder",
        setting="STRONGBOX_INSTANCES_DIR",
    )
    staged = []
    for name, segment in sorted(chosen.items()):
        part = staging / f".{name}.download"
        part.unlink(missing_ok=True)
        _download(storage, name, segment, part, stall_seconds, reread, identities)
        final = staging / name
        os.replace(part, final)
        staged.append(final)
    if os_user is not None:
        give_to(staging, os_user)
    return staged


def _download(
    storage: BackupStorage,
    name: str,
    segment: WalSegment,
    part: Path,
    stall_seconds: float,
    reread: Callable[[str], WalSegment | None] | None,
    identities: Identities,
) -> None:
    """Download `segment` to `part`. A partial segment is replaced in the storage as the
    stream goes on (a newer partial, then the whole segment): when its bytes no longer match,
    the index is read again (`reread`, by staged name) and the newer entry is fetched."""
    for _attempt in range(REREAD_ATTEMPTS):
        try:
            _fetch(storage, segment, part, stall_seconds, identities)
            return
        except StrongboxError:
            fresh = reread(name) if reread is not None and segment.kind == PARTIAL else None
            if fresh is None or (fresh.key, fresh.sha256) == (segment.key, segment.sha256):
                raise
            segment = fresh
    _fetch(storage, segment, part, stall_seconds, identities)


def _fetch(
    storage: BackupStorage,
    segment: WalSegment,
    part: Path,
    stall_seconds: float,
    identities: Identities,
) -> None:
    restore_pipeline.download(
        storage,
        segment.key,
        segment.sha256,
        part,
        stall_seconds,
        identities=identities if segment.encrypted_to else None,
    )
