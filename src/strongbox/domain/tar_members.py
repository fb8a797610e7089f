"""Which members of a base backup's tar may be written into a new data folder.

The tar comes from a storage, so every member is untrusted: only regular files, folders and
symbolic links are accepted, each with a relative name without `..`, and a link only when it
points inside the folder where it lies (relative, without `..`). Anything else refuses the
whole restore, naming the member, before it is written.
"""

from __future__ import annotations

from pathlib import PurePosixPath

FILE, FOLDER, SYMLINK = "file", "folder", "symlink"
KINDS = (FILE, FOLDER, SYMLINK)


class UnsafeMemberError(ValueError):
    """A tar member that must not be extracted; the message names it and says why."""


def checked_member_path(name: str, kind: str, link_target: str = "") -> PurePosixPath:
    """The relative path `name` of a tar member of `kind` (FILE, FOLDER, SYMLINK, or the tar's
    word for another type), once it is safe to write inside the data folder. Raises
    UnsafeMemberError otherwise.

    >>> checked_member_path("./base/1/1259", FILE)
    PurePosixPath('base/1/1259')
    >>> checked_member_path("../etc/cron.d/x", FILE)
    Traceback (most recent call last):
    ...
    strongbox.domain.tar_members.UnsafeMemberError: tar member '../etc/cron.d/x' goes up with '..'
    >>> checked_member_path("pg_tblspc/1", SYMLINK, "/srv")
    Traceback (most recent call last):
    ...
    strongbox.domain.tar_members.UnsafeMemberError: tar member 'pg_tblspc/1' is a link ...
    """
    if kind not in KINDS:
        raise UnsafeMemberError(
            f"tar member {name!r} is a {kind}: only files, folders and symbolic links are accepted"
        )
    path = _relative(name, "tar member", allow_root=kind == FOLDER)
    if kind == SYMLINK and (
        not link_target or link_target.startswith("/") or ".." in link_target.split("/")
    ):
        raise UnsafeMemberError(
            f"tar member {name!r} is a link to {link_target!r}, outside the data folder"
        )
    return path


def _relative(name: str, what: str, *, allow_root: bool) -> PurePosixPath:
    if name.startswith("/"):
        raise UnsafeMemberError(f"{what} {name!r} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeMemberError(f"{what} {name!r} goes up with '..'")
    if "\0" in name or (not parts and not allow_root):
        raise UnsafeMemberError(f"{what} {name!r} has no usable name")
    return PurePosixPath(*parts)
