"""The scratch folder: where a restore keeps the decompressed, verified copy of an artifact that a
tool reads from a file (PostgreSQL parallel restore) or that must be whole on this machine before
an existing database is written (MySQL/MariaDB).

Every name in it is made here (`strongbox-restore-<id>-<random>/artifact-<n>`), never taken
from a storage or a manifest, so nothing read from a storage can choose where a file is written.
Only the server's user may read a restore's folder (0700): the files are database dumps.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from strongbox.errors import refused

log = logging.getLogger(__name__)

RESTORE_PREFIX = "strongbox-restore-"
NO_ROOM = "scratch-too-small"


def prepare_root(folder: Path) -> Path:
    """Create `folder` (0700) if needed and return it. An existing folder keeps its mode (it may
    be shared, like /tmp): each restore's own folder in it is 0700 whatever the root's mode."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def remove_leftovers(folder: Path) -> list[str]:
    """Remove what restores interrupted by a stop left in `folder` (their `strongbox-restore-*`
    folders);
    returns the names removed. Run at start, before any restore can begin. Anything else in the
    folder is left alone: it is not Strongbox's."""
    if not folder.is_dir():
        return []
    removed = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(RESTORE_PREFIX) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


def free_bytes(folder: Path) -> int:
    usage = os.statvfs(folder)
    return usage.f_bavail * usage.f_frsize


def require_room(
    folder: Path,
    needed: int,
    what: str,
    *,
    place: str = "the scratch folder",
    setting: str = "STRONGBOX_SCRATCH_DIR",
) -> None:
    """Refuse (before anything is touched) when `folder` has fewer than `needed` bytes free.
    `what` names the file that needs the room, `place` the folder and `setting` the variable
    that moves it, for the message."""
    available = free_bytes(folder)
    if available < needed:
        raise refused(
            f"{place} {folder} has {available} bytes free, but {what} needs "
            f"{needed} bytes decompressed; nothing was changed. Free space there, or point "
            f"{setting} at a bigger folder",
            NO_ROOM,
        )


@contextmanager
def restore_folder(root: Path, restore_id: int) -> Iterator[Path]:
    """A folder of its own for one restore, removed with everything in it on the way out."""
    prepare_root(root)
    folder = root / f"{RESTORE_PREFIX}{restore_id}-{secrets.token_hex(4)}"
    folder.mkdir(mode=0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def artifact_path(folder: Path, index: int) -> Path:
    """The local file of the `index`th artifact of a restore (a name Strongbox makes)."""
    return folder / f"artifact-{index}"
