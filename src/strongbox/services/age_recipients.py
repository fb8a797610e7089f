"""Which age recipients a backup is encrypted to, and the paths that do not encrypt yet.

Recipients come from both the storage and the database: a backup is encrypted to their union,
so that either private key opens it (a team's key on the storage, an owner's or an escrow key on
the database). Physical backups and PITR streams do not go through the age stage yet: they are
refused while recipients apply, rather than writing plaintext where people expect none.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongbox import age_keys
from strongbox.catalog.models import Database, PitrStream, Storage
from strongbox.errors import conflict, invalid

NOT_ENCRYPTED_YET = "age-unsupported"


def recipients_for(session: Session, database: str, storage: str) -> list[str]:
    """The union of the storage's and the database's recipients, each once (none: plaintext)."""
    db = session.scalars(select(Database.age_recipients).where(Database.name == database)).first()
    st = session.scalars(select(Storage.age_recipients).where(Storage.name == storage)).first()
    return age_keys.merged(st or [], db or [])


def refuse_unencrypted(
    session: Session, database: str, storage: str, what: str, field_name: str
) -> None:
    """Raises StrongboxError (INVALID) when backups of `database` in `storage` are encrypted:
    `what` (a physical backup, a PITR stream) would store them unencrypted."""
    recipients = recipients_for(session, database, storage)
    if recipients:
        raise invalid(
            f"{what} is not encrypted with age yet, and backups of '{database}' in '{storage}' "
            f"are encrypted to {', '.join(recipients)}: take a logical backup, or use a storage "
            "and database without age recipients",
            NOT_ENCRYPTED_YET,
            field_name=field_name,
        )


def refuse_if_streaming(session: Session, *, database: str | None, storage: str | None) -> None:
    """Raises StrongboxError (CONFLICT) when age recipients are being given to a database or a
    storage that an enabled PITR stream writes unencrypted segments of."""
    query = select(PitrStream.database).where(PitrStream.enabled.is_(True))
    if database is not None:
        query = query.where(PitrStream.database == database)
    if storage is not None:
        query = query.where(PitrStream.storage == storage)
    streaming = session.scalars(query).all()
    if streaming:
        raise conflict(
            f"point-in-time recovery of {', '.join(streaming)} writes here and is not encrypted "
            "with age yet: turn it off (PUT .../pitr enabled=false) before adding age recipients",
            NOT_ENCRYPTED_YET,
        )
