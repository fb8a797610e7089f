"""Which age recipients a backup, or a stored WAL or binlog file, is encrypted to.

Recipients come from both the storage and the database: a backup is encrypted to their union,
so that either private key opens it (a team's key on the storage, an owner's or an escrow key on
the database). Logical and physical backups and the files of a PITR stream all read them here,
when each is stored: a change applies to what is stored next.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongbox import age_keys
from strongbox.catalog.models import Database, Storage


def recipients_for(session: Session, database: str, storage: str) -> list[str]:
    """The union of the storage's and the database's recipients, each once (none: plaintext)."""
    db = session.scalars(select(Database.age_recipients).where(Database.name == database)).first()
    st = session.scalars(select(Storage.age_recipients).where(Storage.name == storage)).first()
    return age_keys.merged(st or [], db or [])
