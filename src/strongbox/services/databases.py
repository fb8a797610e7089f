"""Register, check, change and remove databases (database servers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongbox.catalog.models import Database, PitrStream, Schedule
from strongbox.certificates import ca_file
from strongbox.domain.pitr_state import BROKEN, LAGGING
from strongbox.domain.production_hours import ProductionHours
from strongbox.engines.base import ConnectionInfo, Engine, ServerInfo
from strongbox.engines.registry import engine_for, kind_of
from strongbox.engines.tls import VERIFYING_MODES, ssl_ca_rule
from strongbox.errors import StrongboxError, conflict, invalid, not_found
from strongbox.services import backup_sources, hints, managed_instances
from strongbox.services.busy import busy_with
from strongbox.services.context import Context
from strongbox.services.paging import Page, PageRequest, fetch
from strongbox.services.schemas import (
    BackupSourceAddress,
    BackupSourceOut,
    DatabaseCreate,
    DatabaseOut,
    DatabaseUpdate,
)


def create(ctx: Context, body: DatabaseCreate) -> DatabaseOut:
    with ctx.catalog.session() as session:
        _refuse_taken(session, body.name)
    _refuse_ssl_ca_mismatch(body.ssl_mode, body.ssl_ca)
    conn = ConnectionInfo(
        host=body.host,
        port=body.port or kind_of(body.engine).default_port,
        username=body.username,
        password=body.password.get_secret_value(),
        ssl_mode=body.ssl_mode,
        ssl_ca_file=_ca_file(ctx, body.ssl_ca),
    )
    info = _check(ctx, body.engine, conn, body.databases)
    size = _measure(ctx, body.engine, conn, body.databases)
    source = _checked_source(ctx, body.engine, conn, body.backup_source)
    now = ctx.clock.now()
    row = Database(
        name=body.name,
        engine=body.engine,
        host=conn.host,
        port=conn.port,
        username=conn.username,
        password_encrypted=ctx.secrets.encrypt(conn.password),
        ssl_mode=body.ssl_mode,
        ssl_ca=body.ssl_ca,
        databases=list(body.databases),
        description=body.description,
        server_version=info.version,
        size_bytes=size,
        production_hours=_hours(body.production_hours),
        max_rate_mb_per_s=body.max_rate_mb_per_s,
        lock_timeout_seconds=body.lock_timeout_seconds,
        freshness_hours=body.freshness_hours,
        backup_source=source,
        age_recipients=list(body.age_recipients),
        worker_queue=body.worker_queue,
        created_at=now,
        updated_at=now,
    )
    with ctx.catalog.session() as session:
        _refuse_taken(session, body.name)
        session.add(row)
    return to_out(row)


def list_all(ctx: Context) -> list[DatabaseOut]:
    with ctx.catalog.session() as session:
        warnings = _pitr_warnings(session)
        return [
            to_out(r, warnings.get(r.name, []))
            for r in session.scalars(select(Database).order_by(Database.name))
        ]


def page(ctx: Context, request: PageRequest) -> Page[DatabaseOut]:
    """Registered databases, newest first, a page at a time."""
    with ctx.catalog.session() as session:
        warnings = _pitr_warnings(session)
        rows, after = fetch(session, select(Database), Database.created_at, Database.id, request)
        items = [to_out(r, warnings.get(r.name, [])) for r in rows]
    return Page[DatabaseOut](items=items, next=after)


def get(ctx: Context, name: str) -> DatabaseOut:
    with ctx.catalog.session() as session:
        return to_out(get_row(session, name), _pitr_warnings(session).get(name, []))


def _pitr_warnings(session: Session) -> dict[str, list[str]]:
    """Per database, the warning of a WAL stream that is lagging or broken."""
    rows = session.execute(
        select(PitrStream.database, PitrStream.state, PitrStream.error).where(
            PitrStream.enabled.is_(True), PitrStream.state.in_((LAGGING, BROKEN))
        )
    ).all()
    return {
        database: [f"point-in-time recovery is {state}: {error or 'see GET .../pitr'}"]
        for database, state, error in rows
    }


def update(ctx: Context, name: str, body: DatabaseUpdate) -> DatabaseOut:
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        engine_name = row.engine
        ssl_mode, ssl_ca = _tls_after(body, row)
        conn = ConnectionInfo(
            host=body.host or row.host,
            port=body.port or row.port,
            username=body.username or row.username,
            password=(
                body.password.get_secret_value()
                if body.password is not None
                else ctx.secrets.decrypt(row.password_encrypted)
            ),
            ssl_mode=ssl_mode,
            ssl_ca_file=_ca_file(ctx, ssl_ca),
        )
        databases = body.databases if body.databases is not None else list(row.databases)
        if "backup_source" in body.model_fields_set:
            address = body.backup_source
        elif row.backup_source is not None:
            address = BackupSourceAddress.model_validate(
                {k: row.backup_source[k] for k in ("host", "port")}
            )
        else:
            address = None
    info = _check(ctx, engine_name, conn, databases)
    size = _measure(ctx, engine_name, conn, databases)
    source = _checked_source(ctx, engine_name, conn, address)
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        row.host, row.port, row.username = conn.host, conn.port, conn.username
        row.password_encrypted = ctx.secrets.encrypt(conn.password)
        row.ssl_mode, row.ssl_ca = ssl_mode, ssl_ca
        row.databases = list(databases)
        if body.description is not None:
            row.description = body.description
        row.server_version = info.version
        row.size_bytes = size
        if "production_hours" in body.model_fields_set:
            row.production_hours = _hours(body.production_hours)
        if "max_rate_mb_per_s" in body.model_fields_set:
            row.max_rate_mb_per_s = body.max_rate_mb_per_s
        if body.lock_timeout_seconds is not None:
            row.lock_timeout_seconds = body.lock_timeout_seconds
        if "freshness_hours" in body.model_fields_set:
            row.freshness_hours = body.freshness_hours
            if body.freshness_hours is None:  # no longer watched: no breach to recover from
                row.freshness_breached_at = None
        if "worker_queue" in body.model_fields_set:
            row.worker_queue = body.worker_queue
        row.backup_source = source
        if body.age_recipients is not None:
            row.age_recipients = list(body.age_recipients)
        row.updated_at = ctx.clock.now()
        return to_out(row)


def delete(ctx: Context, name: str) -> None:
    """Remove the database record. Its backups stay, in the catalog and in their storages, and
    show again if a database of the same name is registered later. A managed instance (made by
    a restore) has its server stopped and its folder removed first."""
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        busy = busy_with(session, name)
        if busy is not None:
            raise conflict(
                f"{busy}; wait for it to end before removing the database", "database-busy"
            )
        schedules = session.scalars(select(Schedule.name).where(Schedule.database == name)).all()
        if schedules:
            raise conflict(
                f"database '{name}' has schedules {', '.join(schedules)}: delete them first, so "
                "that no schedule is left without its database",
                "database-has-schedules",
            )
        managed = managed_instances.find(session, name)
        if managed is not None:
            managed_instances.remove(ctx, managed)
            session.delete(managed)
        session.delete(row)


def connection_of(ctx: Context, row: Database) -> ConnectionInfo:
    return ConnectionInfo(
        host=row.host,
        port=row.port,
        username=row.username,
        password=ctx.secrets.decrypt(row.password_encrypted),
        ssl_mode=row.ssl_mode,
        ssl_ca_file=_ca_file(ctx, row.ssl_ca),
    )


def engine_of(ctx: Context, engine_name: str) -> Engine:
    return engine_for(engine_name, pg_bin_dir=ctx.settings.pg_bin_dir)


def get_row(session: Session, name: str) -> Database:
    row = session.scalars(select(Database).where(Database.name == name)).first()
    if row is None:
        raise not_found(
            f"no database named '{name}': {hints.list_databases()}",
            "database-not-found",
        )
    return row


def _refuse_taken(session: Session, name: str) -> None:
    if session.scalars(select(Database.id).where(Database.name == name)).first() is not None:
        raise conflict(f"a database named '{name}' already exists", "name-taken")


def _tls_after(body: DatabaseUpdate, row: Database) -> tuple[str, str | None]:
    """The ssl_mode and ssl_ca after `body`. `ssl_ca: null` removes the CA; a change to a mode
    that verifies nothing drops it too, since it would no longer be used. Raises invalid when
    the result does not go together (see `engines.tls.ssl_ca_rule`)."""
    ssl_mode = body.ssl_mode or row.ssl_mode
    if "ssl_ca" in body.model_fields_set:
        ssl_ca = body.ssl_ca
    elif body.ssl_mode is not None and body.ssl_mode not in VERIFYING_MODES:
        ssl_ca = None
    else:
        ssl_ca = row.ssl_ca
    _refuse_ssl_ca_mismatch(ssl_mode, ssl_ca)
    return ssl_mode, ssl_ca


def _refuse_ssl_ca_mismatch(ssl_mode: str, ssl_ca: str | None) -> None:
    problem = ssl_ca_rule(ssl_mode, ssl_ca is not None)
    if problem is not None:
        raise invalid(problem, "invalid-tls-settings", field_name="body.ssl_ca")


def _ca_file(ctx: Context, ssl_ca: str | None) -> str | None:
    return str(ca_file(ssl_ca, ctx.settings.data_dir)) if ssl_ca is not None else None


def _check(
    ctx: Context, engine_name: str, conn: ConnectionInfo, databases: list[str]
) -> ServerInfo:
    engine = engine_of(ctx, engine_name)
    return engine.check(conn, databases, ctx.settings.check_timeout_seconds)


def _measure(
    ctx: Context, engine_name: str, conn: ConnectionInfo, databases: list[str]
) -> int | None:
    """The raw size of the databases to back up (for duration estimates), or None if unknown."""
    try:
        commands, _tools = engine_of(ctx, engine_name).plan_dump(
            conn, databases, ctx.settings.check_timeout_seconds
        )
    except StrongboxError:
        return None
    sizes = [c.expected_bytes for c in commands if c.expected_bytes is not None]
    return sum(sizes) if sizes else None


def _checked_source(
    ctx: Context, engine_name: str, primary: ConnectionInfo, address: BackupSourceAddress | None
) -> dict[str, Any] | None:
    """What is stored of the backup source at `address` once the engine checked that it is a
    standby of `primary`: the address, its lag and when it was checked."""
    if address is None:
        return None
    source = backup_sources.read_from(
        ctx, engine_of(ctx, engine_name), primary, address.model_dump()
    )
    return {
        **address.model_dump(),
        "lag_seconds": source.lag_seconds,
        "checked_at": ctx.clock.now().isoformat(),
    }


def _hours(hours: ProductionHours | None) -> dict[str, Any] | None:
    return hours.model_dump() if hours is not None else None


def to_out(row: Database, warnings: list[str] | None = None) -> DatabaseOut:
    return DatabaseOut(
        name=row.name,
        engine=row.engine,
        host=row.host,
        port=row.port,
        username=row.username,
        ssl_mode=row.ssl_mode,
        ssl_ca=row.ssl_ca,
        databases=list(row.databases),
        description=row.description,
        server_version=row.server_version,
        size_bytes=row.size_bytes,
        production_hours=(
            ProductionHours.model_validate(row.production_hours) if row.production_hours else None
        ),
        max_rate_mb_per_s=row.max_rate_mb_per_s,
        lock_timeout_seconds=row.lock_timeout_seconds,
        freshness_hours=row.freshness_hours,
        backup_source=(
            BackupSourceOut.model_validate(row.backup_source) if row.backup_source else None
        ),
        age_recipients=list(row.age_recipients or []),
        worker_queue=row.worker_queue,
        created_at=row.created_at,
        updated_at=row.updated_at,
        warnings=warnings or [],
    )
