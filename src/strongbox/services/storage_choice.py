"""A backup or a schedule names the storage it writes to: that storage must be registered."""

from __future__ import annotations

from sqlalchemy.orm import Session

from strongbox.errors import StrongboxError, invalid
from strongbox.services import hints, storages


def require_storage(session: Session, storage: str) -> None:
    """Refuse (invalid, on the field `body.storage`) a storage name that is not registered.

    Not a 404: the path's resource exists; it is a field of the request that is wrong.
    """
    try:
        storages.get_row(session, storage)
    except StrongboxError:
        raise invalid(
            f"no backup storage named '{storage}': {hints.add_storage()}, or pick one of those "
            f"registered ({hints.list_storages()})",
            "storage-not-found",
            field_name="body.storage",
        ) from None
