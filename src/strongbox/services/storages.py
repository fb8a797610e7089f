"""Register, check, change and remove backup storages."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongbox.catalog.models import Backup, Schedule, Storage
from strongbox.domain.states import ACTIVE_STATES
from strongbox.errors import conflict, invalid, not_found
from strongbox.services import hints
from strongbox.services.context import Context
from strongbox.services.paging import Page, PageRequest, fetch
from strongbox.storage import registry
from strongbox.storage.base import BackupStorage
from strongbox.storage.kind import OpenOptions
from strongbox.storage.light_open import LightOpen
from strongbox.storage.registry import StorageOutBase


def create(ctx: Context, body: BaseModel) -> StorageOutBase:
    """Register a storage from one of the kinds' create models (`registry.create_union()`),
    after `check()` proved live access. Returns `registry.out_model()`."""
    fields = body.model_dump()
    kind = registry.kind_named(fields["type"])
    name = fields["name"]
    with ctx.catalog.session() as session:
        if _find(session, name) is not None:
            raise conflict(f"a backup storage named '{name}' already exists", "name-taken")
    settings = {k: fields[k] for k in kind.settings_fields}
    kind.refuse_settings(settings)
    secret = fields[kind.secret_field].get_secret_value() if kind.secret_field else None
    kind.open(settings, secret, _options(ctx)).check()
    now = ctx.clock.now()
    row = Storage(
        name=name,
        type=kind.name,
        description=fields["description"],
        age_recipients=list(fields.get("age_recipients") or []),
        settings=settings,
        secret_encrypted=ctx.secrets.encrypt(secret) if secret is not None else None,
        created_at=now,
        updated_at=now,
    )
    with ctx.catalog.session() as session:
        if _find(session, name) is not None:
            raise conflict(f"a backup storage named '{name}' already exists", "name-taken")
        session.add(row)
    return to_out(row)


def list_all(ctx: Context) -> list[StorageOutBase]:
    with ctx.catalog.session() as session:
        return [to_out(r) for r in session.scalars(select(Storage).order_by(Storage.name))]


def page(ctx: Context, request: PageRequest) -> Page[Any]:
    """Backup storages, newest first, a page at a time (items of each kind's own shape)."""
    with ctx.catalog.session() as session:
        rows, after = fetch(session, select(Storage), Storage.created_at, Storage.id, request)
        return Page[Any](items=[to_out(r) for r in rows], next=after)


def count(ctx: Context) -> int:
    """How many backup storages are registered."""
    with ctx.catalog.session() as session:
        return int(session.scalar(select(func.count()).select_from(Storage)) or 0)


def usage(ctx: Context, names: list[str]) -> dict[str, tuple[int, int]]:
    """How many backups and how many schedules name each storage of `names`, counted by the
    catalog (two grouped queries, whatever the number of backups); unused ones are left out."""
    counts: dict[str, tuple[int, int]] = {}
    with ctx.catalog.session() as session:
        for model in (Backup, Schedule):
            found = session.execute(
                select(model.storage, func.count())
                .where(model.storage.in_(names))
                .group_by(model.storage)
            )
            for storage, count in found:
                backups, schedules = counts.get(storage, (0, 0))
                counts[storage] = (count, schedules) if model is Backup else (backups, count)
    return counts


def users_of(ctx: Context, name: str, shown: int = 10) -> tuple[list[str], int]:
    """What uses the storage `name`, as "backup db/name" and "schedule db/name" words (at most
    `shown` of them, schedules first), and how many there are in all."""
    backups, schedules = usage(ctx, [name]).get(name, (0, 0))
    with ctx.catalog.session() as session:
        words = [
            f"schedule {db}/{s}"
            for db, s in session.execute(
                select(Schedule.database, Schedule.name)
                .where(Schedule.storage == name)
                .order_by(Schedule.id)
                .limit(shown)
            )
        ]
        words += [
            f"backup {db}/{b}"
            for db, b in session.execute(
                select(Backup.database, Backup.name)
                .where(Backup.storage == name)
                .order_by(Backup.created_at.desc(), Backup.id.desc())
                .limit(shown - len(words))
            )
        ]
    return words, backups + schedules


def get(ctx: Context, name: str) -> StorageOutBase:
    with ctx.catalog.session() as session:
        return to_out(get_row(session, name))


def update(ctx: Context, name: str, body: BaseModel) -> StorageOutBase:
    """Change a storage from `registry.update_model()`; access is checked again before saving.
    A field of another kind is refused (INVALID) naming the field."""
    changes = body.model_dump(exclude_unset=True)
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        kind = registry.kind_named(row.type)
        # A field sent as null keeps its value, as an absent one does, except those that can be
        # unset (a CA bundle): null removes them.
        changes = {k: v for k, v in changes.items() if v is not None or k in kind.unsettable}
        fields = set(kind.settings_fields)
        allowed = (
            fields
            | {"description", "age_recipients"}
            | ({kind.secret_field} if kind.secret_field else set())
        )
        wrong = sorted(set(changes) - allowed)
        if wrong:
            raise invalid(
                f"a {row.type} storage has no field {', '.join(wrong)}",
                field_name=f"body.{wrong[0]}",
            )
        settings = dict(row.settings)
        settings.update({k: v for k, v in changes.items() if k in fields})
        kind.refuse_settings(settings)
        new_secret = changes.get(kind.secret_field) if kind.secret_field else None
        if new_secret is not None:
            secret: str | None = new_secret.get_secret_value()
        else:
            secret = ctx.secrets.decrypt(row.secret_encrypted) if row.secret_encrypted else None
    kind.open(settings, secret, _options(ctx)).check()
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        row.settings = settings
        if changes.get("description") is not None:
            row.description = changes["description"]
        if changes.get("age_recipients") is not None:
            row.age_recipients = list(changes["age_recipients"])
        if new_secret is not None and secret is not None:  # a new secret was given
            row.secret_encrypted = ctx.secrets.encrypt(secret)
        row.updated_at = ctx.clock.now()
        return to_out(row)


def delete(ctx: Context, name: str, *, force: bool = False) -> None:
    """Remove the storage record. Refused (409) while backups refer to it, unless `force`;
    artifacts in the storage are never deleted here."""
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        users = session.execute(
            select(Backup.database, Backup.name, Backup.state).where(Backup.storage == name)
        ).all()
        active = [f"{db}/{b}" for db, b, state in users if state in ACTIVE_STATES]
        if active:
            raise conflict(
                f"backup storage '{name}' is in use by running backups: {', '.join(active)}; "
                "wait for them to end",
                "storage-in-use",
            )
        schedules = session.execute(
            select(Schedule.database, Schedule.name).where(Schedule.storage == name)
        ).all()
        if schedules:
            raise conflict(
                f"backup storage '{name}' is used by schedules "
                f"{', '.join(f'{db}/{s}' for db, s in schedules)}: move them to another storage "
                "or delete them first",
                "storage-in-use",
            )
        if users and not force:
            names = ", ".join(f"{db}/{b}" for db, b, _ in users[:10])
            more = f" and {len(users) - 10} more" if len(users) > 10 else ""
            raise conflict(
                f"backup storage '{name}' is in use by backups {names}{more}; delete them first, "
                "or add ?force=true to remove the storage record and keep its artifacts",
                "storage-in-use",
            )
        session.delete(row)


def open_by_name(ctx: Context, name: str) -> tuple[BackupStorage, str]:
    """The backend of a registered storage and its key prefix."""
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        secret = ctx.secrets.decrypt(row.secret_encrypted) if row.secret_encrypted else None
        kind = registry.kind_named(row.type)
        return kind.open(dict(row.settings), secret, _options(ctx)), kind.key_prefix(row.settings)


def light_open_by_name(ctx: Context, name: str) -> LightOpen | None:
    """How a backup's stream process opens the registered storage (`storage.light_open`);
    None for a kind that cannot be opened there."""
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        kind = registry.kind_named(row.type)
        if kind.light_open is None:
            return None
        secret = ctx.secrets.decrypt(row.secret_encrypted) if row.secret_encrypted else None
        return kind.light_open(dict(row.settings), secret, _options(ctx))


def location_of(ctx: Context, name: str, key_prefix: str) -> str:
    """A URL people can use with standard tools, e.g. s3://bucket/prefix/db/backup/."""
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        return registry.kind_named(row.type).location(row.settings, key_prefix)


def get_row(session: Session, name: str) -> Storage:
    row = _find(session, name)
    if row is None:
        raise not_found(
            f"no backup storage named '{name}': {hints.list_storages()}",
            "storage-not-found",
        )
    return row


def _find(session: Session, name: str) -> Storage | None:
    return session.scalars(select(Storage).where(Storage.name == name)).first()


def _options(ctx: Context) -> OpenOptions:
    return OpenOptions(
        data_dir=ctx.settings.data_dir,
        timeout=ctx.settings.check_timeout_seconds,
        upload_concurrency=ctx.settings.upload_concurrency,
        parts_per_object=ctx.settings.test_parts_per_object,
    )


def to_out(row: Storage) -> StorageOutBase:
    return registry.out_model()(
        name=row.name,
        type=row.type,
        description=row.description,
        age_recipients=list(row.age_recipients or []),
        created_at=row.created_at,
        updated_at=row.updated_at,
        **row.settings,
    )
