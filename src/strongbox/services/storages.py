"""Register, check, change and remove backup storages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongbox.catalog.models import Backup, Schedule, Storage
from strongbox.certificates import ca_file
from strongbox.domain.states import ACTIVE_STATES
from strongbox.errors import conflict, invalid, not_found
from strongbox.services import hints
from strongbox.services.context import Context
from strongbox.services.schemas import (
    FilesystemStorageCreate,
    S3StorageCreate,
    StorageOut,
    StorageUpdate,
)
from strongbox.storage.base import BackupStorage
from strongbox.storage.factory import open_storage
from strongbox.storage.filesystem import FilesystemSettings
from strongbox.storage.s3 import S3Settings

S3_FIELDS = (
    "endpoint_url",
    "bucket",
    "region",
    "prefix",
    "access_key_id",
    "verify_tls",
    "ca_bundle",
    "force_path_style",
)
FILESYSTEM_FIELDS = ("path",)


def create(ctx: Context, body: S3StorageCreate | FilesystemStorageCreate) -> StorageOut:
    with ctx.catalog.session() as session:
        if _find(session, body.name) is not None:
            raise conflict(f"a backup storage named '{body.name}' already exists", "name-taken")
    settings = body.model_dump(include=set(_fields_of(body.type)))
    _refuse_unused_ca_bundle(settings)
    secret = (
        body.secret_access_key.get_secret_value() if isinstance(body, S3StorageCreate) else None
    )
    _open(ctx, body.type, settings, secret).check()
    now = ctx.clock.now()
    row = Storage(
        name=body.name,
        type=body.type,
        description=body.description,
        settings=settings,
        secret_encrypted=ctx.secrets.encrypt(secret) if secret is not None else None,
        created_at=now,
        updated_at=now,
    )
    with ctx.catalog.session() as session:
        if _find(session, body.name) is not None:
            raise conflict(f"a backup storage named '{body.name}' already exists", "name-taken")
        session.add(row)
    return to_out(row)


def list_all(ctx: Context) -> list[StorageOut]:
    with ctx.catalog.session() as session:
        return [to_out(r) for r in session.scalars(select(Storage).order_by(Storage.name))]


def get(ctx: Context, name: str) -> StorageOut:
    with ctx.catalog.session() as session:
        return to_out(get_row(session, name))


# Optional settings that a PATCH with null removes.
UNSETTABLE = frozenset({"ca_bundle"})


def update(ctx: Context, name: str, body: StorageUpdate) -> StorageOut:
    # A field sent as null keeps its value, as an absent one does, except those that can be
    # unset (a CA bundle): null removes them.
    changes = {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if v is not None or k in UNSETTABLE
    }
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        allowed = set(_fields_of(row.type)) | {"description"}
        if row.type == "s3":
            allowed.add("secret_access_key")
        wrong = sorted(set(changes) - allowed)
        if wrong:
            raise invalid(
                f"a {row.type} storage has no field {', '.join(wrong)}",
                field_name=f"body.{wrong[0]}",
            )
        settings = dict(row.settings)
        settings.update({k: v for k, v in changes.items() if k in _fields_of(row.type)})
        _refuse_unused_ca_bundle(settings)
        secret = (
            body.secret_access_key.get_secret_value()
            if body.secret_access_key is not None
            else (ctx.secrets.decrypt(row.secret_encrypted) if row.secret_encrypted else None)
        )
        row_type = row.type
    _open(ctx, row_type, settings, secret).check()
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        row.settings = settings
        if body.description is not None:
            row.description = body.description
        if body.secret_access_key is not None:
            row.secret_encrypted = ctx.secrets.encrypt(body.secret_access_key.get_secret_value())
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
        return _open(ctx, row.type, dict(row.settings), secret), row.settings.get("prefix", "")


def location_of(ctx: Context, name: str, key_prefix: str) -> str:
    """A URL people can use with standard tools, e.g. s3://bucket/prefix/db/backup/."""
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        if row.type == "s3":
            return f"s3://{row.settings['bucket']}/{key_prefix}"
        return f"{row.settings['path'].rstrip('/')}/{key_prefix}"


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


def _fields_of(storage_type: str) -> tuple[str, ...]:
    return S3_FIELDS if storage_type == "s3" else FILESYSTEM_FIELDS


def _refuse_unused_ca_bundle(settings: dict[str, Any]) -> None:
    """A CA bundle that would not be used (no verification, or no TLS at all) is refused, so
    that it never looks like verification that is not happening."""
    if not settings.get("ca_bundle"):
        return
    if not settings.get("verify_tls", True):
        problem = "verify_tls is false, so the endpoint's certificate is not checked at all"
    elif not str(settings.get("endpoint_url", "")).lower().startswith("https://"):
        problem = "the endpoint is http://, without TLS"
    else:
        return
    raise invalid(
        f"ca_bundle would not be used: {problem}; set verify_tls true with an https:// "
        "endpoint, or remove ca_bundle",
        "invalid-tls-settings",
        field_name="body.ca_bundle",
    )


def _open(ctx: Context, kind: str, settings: dict[str, Any], secret: str | None) -> BackupStorage:
    timeout = ctx.settings.check_timeout_seconds
    config: S3Settings | FilesystemSettings
    if kind == "s3":
        settings = dict(settings)
        bundle = settings.pop("ca_bundle", None)
        config = S3Settings(
            **settings,
            ca_bundle_file=str(ca_file(bundle, ctx.settings.data_dir)) if bundle else None,
            secret_access_key=secret or "",
            timeout=timeout,
        )
    else:
        config = FilesystemSettings(**settings)
    return open_storage(kind, config, upload_concurrency=ctx.settings.upload_concurrency)


def to_out(row: Storage) -> StorageOut:
    return StorageOut(
        name=row.name,
        type=row.type,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
        **row.settings,
    )
