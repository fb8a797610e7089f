"""Which indexed change-log objects (WAL or binlog files) are gone from their storage: the
storages are listed, so that an object deleted behind Strongbox's back shows as a gap."""

from __future__ import annotations

import logging
from collections.abc import Callable

from strongbox.errors import StrongboxError
from strongbox.services import storages
from strongbox.services.context import Context

log = logging.getLogger(__name__)


def missing_objects(
    ctx: Context,
    storage_names: set[str],
    indexed: dict[tuple[str, str], str],
    folder_of: Callable[[str], str],
) -> frozenset[str]:
    """The names of the indexed files (`indexed`: (storage, key) -> name) whose object is not
    in the listing of `folder_of(storage prefix)`."""
    missing: set[str] = set()
    for name in storage_names:
        try:
            storage, prefix = storages.open_by_name(ctx, name)
            present = {o.key for o in storage.list(folder_of(prefix))}
        except StrongboxError as exc:  # cannot look: say nothing rather than invent gaps
            log.warning("cannot list the stored change log in storage %s: %s", name, exc)
            continue
        missing |= {file for (s, key), file in indexed.items() if s == name and key not in present}
    return frozenset(missing)
