"""Tables of the catalog. Every change to them goes with an Alembic migration in `migrations/`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes, read back in UTC on every backend: SQLite keeps no zone (so
    the instant is stored as its UTC wall time), and PostgreSQL's `timestamptz` comes back in
    the session's `TimeZone`, which the catalog's server decides."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the catalog")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # "admin", "operator" or "viewer" (domain/roles.py); never above the owner's role.
    role: Mapped[str] = mapped_column(String(32))
    # The user the token acts for; None for a service token (the bootstrap admin token too).
    owner: Mapped[str | None] = mapped_column(
        String(63), ForeignKey("users.name", ondelete="CASCADE", name="fk_api_tokens_owner_users")
    )
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class User(Base):
    """A person who signs in to the page with a name and a password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id, with its own salt and costs
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuditEntry(Base):
    """One change, restore, backup, sign-in or failed sign-in: who, what, where from, outcome.
    Written once by the server; no route changes or deletes it. Never holds a secret: the
    request's body is not kept, only its method, route and path."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    # A user's name, "token:<name>" for a service token, or "anonymous" when unknown.
    actor: Mapped[str] = mapped_column(String(80))
    token: Mapped[str | None] = mapped_column(String(63))  # the API token used, if any
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(255))  # "POST /api/v1/databases/{database}/..."
    resource: Mapped[str] = mapped_column(Text)  # the path asked for
    address: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(16))  # "succeeded", "refused" or "failed"


class SecretKeyRecord(Base):
    """Which key the stored secrets are encrypted with (one row, id 1). A catalog without it was
    made before keys were derived with scrypt: its secrets are re-encrypted at the next start."""

    __tablename__ = "secret_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    # secretbox.ScryptParams.as_record() when the key comes from STRONGBOX_SECRET_KEY; None for a
    # random key file.
    kdf: Mapped[dict[str, Any] | None]
    # secretbox.SecretBox.key_id of the key that opens every stored secret.
    key_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class Storage(Base):
    __tablename__ = "storages"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    # Non-secret settings (endpoint, bucket, region, prefix, flags, or the folder path).
    settings: Mapped[dict[str, Any]]
    # The secret access key, encrypted with the server's secret key.
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    # Age recipients (public keys, `age1...`) every backup stored here is encrypted to.
    age_recipients: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Database(Base):
    __tablename__ = "databases"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    engine: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int]
    username: Mapped[str] = mapped_column(String(255))
    password_encrypted: Mapped[str] = mapped_column(Text)
    # TLS to the server: a mode of engines.tls.SSL_MODES, and the CA certificates (PEM, public)
    # that verify-ca and verify-full check the server against.
    ssl_mode: Mapped[str] = mapped_column(String(16), default="prefer", server_default="prefer")
    ssl_ca: Mapped[str | None] = mapped_column(Text)
    databases: Mapped[list[Any]]
    description: Mapped[str] = mapped_column(Text, default="")
    server_version: Mapped[str] = mapped_column(String(255))
    # Raw size of the databases to back up, as last measured; estimates durations.
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # {"days": [...], "start": "08:00", "end": "20:00", "timezone": "Europe/Berlin"} or None.
    production_hours: Mapped[dict[str, Any] | None]
    # What a backup may take from the server: a read rate cap (MB/s, None for none), how long
    # a dump waits for its locks, and {"host": ..., "port": ...} of a standby or replica that
    # dumps read instead of the primary (None: the primary).
    max_rate_mb_per_s: Mapped[float | None] = mapped_column(Float)
    lock_timeout_seconds: Mapped[int] = mapped_column(default=60, server_default="60")
    backup_source: Mapped[dict[str, Any] | None]
    # Age recipients (public keys) this database's backups and PITR segments are encrypted to,
    # besides those of the storage (see age_keys.recipients_for).
    age_recipients: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    # Freshness: notify when no backup succeeded for this many hours (None: not watched), and
    # since when the current breach lasts (None: fresh), so each breach is told once.
    freshness_hours: Mapped[float | None] = mapped_column(Float)
    freshness_breached_at: Mapped[datetime | None]
    # The Celery queue its backups and restores run on (None: the default queue).
    worker_queue: Mapped[str | None] = mapped_column(String(63))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Backup(Base):
    __tablename__ = "backups"
    __table_args__ = (
        Index("ux_backups_database_name", "database", "name", unique=True),
        # At most one queued or running backup per database, enforced by the catalog itself so
        # that two requests (or two servers) racing cannot both start one.
        Index(
            "ux_backups_one_active",
            "database",
            unique=True,
            sqlite_where=text("state IN ('queued', 'running')"),
            postgresql_where=text("state IN ('queued', 'running')"),
        ),
        Index("ix_backups_state", "state"),
        # Pages of backups, newest first (services/paging.py); of one database's backups, the
        # page's table and the API's most common list, walked in that database's own order.
        Index("ix_backups_created", "created_at", "id"),
        Index("ix_backups_database_created", "database", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63))
    # Names, not foreign keys: backups outlive the records of their database and storage.
    database: Mapped[str] = mapped_column(String(63))
    storage: Mapped[str] = mapped_column(String(63))
    method: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    # Which runner claimed the job (host, process), and a cancel asked for: when and by whom
    # (the runner reads it with its heartbeat and stops the tool).
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    cancel_requested_at: Mapped[datetime | None]
    canceled_by: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    stored_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # Raw bytes read from the dump so far, for progress displays while running.
    progress_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    expected_bytes: Mapped[int | None] = mapped_column(BigInteger)
    location: Mapped[str | None] = mapped_column(Text)
    engine: Mapped[str | None] = mapped_column(String(16))
    server_version: Mapped[str | None] = mapped_column(String(255))
    log_position: Mapped[dict[str, Any] | None]
    artifacts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Where the dump was read: {"kind": "primary" | "standby", "host", "port", "lag_seconds"}.
    source: Mapped[dict[str, Any] | None]
    # What the backup cost its source while it ran (domain/source_load.py).
    source_load: Mapped[dict[str, Any] | None]
    # True while objects of a failed backup could not be removed (the storage was down); the
    # janitor retries until they are gone.
    cleanup_pending: Mapped[bool] = mapped_column(default=False, server_default=false())


class Restore(Base):
    __tablename__ = "restores"
    __table_args__ = (
        Index("ux_restores_database_name", "database", "name", unique=True),
        Index("ix_restores_state", "state"),
        # Pages of one database's restores, newest first (services/paging.py).
        Index("ix_restores_database_created", "database", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63))
    database: Mapped[str] = mapped_column(String(63))  # the database the backup came from
    backup: Mapped[str] = mapped_column(String(63))
    target: Mapped[str] = mapped_column(String(63))  # the registered database restored into
    database_map: Mapped[dict[str, Any]]
    overwrite: Mapped[bool]
    restore_globals: Mapped[bool]
    # How many pg_restore processes run at once (the API's `jobs`); the column keeps its name.
    parallel_jobs: Mapped[int] = mapped_column("jobs")
    # Count every table's rows after the restore; otherwise the planner's estimate is reported.
    exact_counts: Mapped[bool] = mapped_column(default=False, server_default=false())
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    # Which runner claimed the job (host, process), and a cancel asked for: when and by whom
    # (the runner reads it with its heartbeat and stops the tool).
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    cancel_requested_at: Mapped[datetime | None]
    canceled_by: Mapped[str | None] = mapped_column(String(255))
    restored_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    expected_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # Per source database: target, tables, rows, duration_seconds.
    summary: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # A restore of a physical base into a new instance: {"name", "port"} as asked, then its
    # "folder" and "os_user", and once recovered its "recovery" outcome.
    new_instance: Mapped[dict[str, Any] | None]
    # A restore to a point in time: {"time" (ISO, UTC) or "latest", "base_backup"}, then once
    # recovered "target_reached", "last_replayed_commit_at" and "recovery_stopped".
    point_in_time: Mapped[dict[str, Any] | None]


class Schedule(Base):
    __tablename__ = "schedules"
    __table_args__ = (Index("ux_schedules_database_name", "database", "name", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    database: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(63))
    storage: Mapped[str] = mapped_column(String(63))
    cron: Mapped[str] = mapped_column(String(255))
    # The frequency as given ({"every": "day", "time": "02:00"}), or None for a cron line.
    frequency: Mapped[dict[str, Any] | None]
    timezone: Mapped[str] = mapped_column(String(64))
    retention_copies: Mapped[int]
    enabled: Mapped[bool]
    on_overlap: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16), default="logical")  # of its backups
    # Slots after this instant count; moved on creation, on a change of timing and on resume,
    # so that slots from before are neither run nor reported missed.
    slots_since: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ScheduleRun(Base):
    __tablename__ = "schedule_runs"
    __table_args__ = (
        # Exactly once per (schedule, slot), even with two schedulers on one catalog.
        Index("ux_schedule_runs_slot", "schedule_id", "slot_at", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    slot_at: Mapped[datetime]
    # "started" (see the backup), "waiting", "skipped" or "missed".
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    backup: Mapped[str | None] = mapped_column(String(63))
    created_at: Mapped[datetime]


class PitrStream(Base):
    """Point-in-time recovery of one database: its change-log stream and what it last did."""

    __tablename__ = "pitr_streams"

    id: Mapped[int] = mapped_column(primary_key=True)
    database: Mapped[str] = mapped_column(String(63), unique=True)
    enabled: Mapped[bool]
    storage: Mapped[str] = mapped_column(String(63))
    upload_interval_seconds: Mapped[int]
    # "starting", "streaming", "lagging", "broken" or "disabled"; `error` says why when broken.
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    # The replication slot on the server (PostgreSQL), named for the database.
    slot_name: Mapped[str | None] = mapped_column(String(63))
    lag_seconds: Mapped[float | None] = mapped_column(Float)
    last_upload_at: Mapped[datetime | None]
    # Set when the server removed WAL the stream had not received (its slot was lost or
    # dropped): why, and up to which LSN (None: unknown). Cleared when a new slot is made.
    slot_gap: Mapped[str | None] = mapped_column(Text)
    slot_gap_to_lsn: Mapped[int | None] = mapped_column(BigInteger)
    # MySQL/MariaDB: the server id the binlog reader connects with (chosen once, so that no
    # replica of the server uses it).
    connection_server_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WalSegment(Base):
    """One stored change-log file of a database's stream, indexed so that the restorable
    window is known without reading the storage: a WAL segment, its `.partial` while it is
    being written, or a timeline `.history` file; or a MySQL/MariaDB binlog file ("binlog",
    or "binlog-partial" while it is being written), whose positions are `start_lsn` and
    `end_lsn` and whose event times are the commit times."""

    __tablename__ = "wal_segments"
    __table_args__ = (
        Index("ux_wal_segments_file", "database", "storage", "name", unique=True),
        Index("ix_wal_segments_range", "database", "timeline", "start_lsn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    database: Mapped[str] = mapped_column(String(63))
    storage: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(64))  # the WAL file name (domain/wal.py)
    # "segment", "partial", "history", "binlog" or "binlog-partial"
    kind: Mapped[str] = mapped_column(String(16))
    timeline: Mapped[int]  # PostgreSQL's timeline; 0 for a binlog file
    start_lsn: Mapped[int] = mapped_column(BigInteger)
    end_lsn: Mapped[int] = mapped_column(BigInteger)  # exclusive: the first LSN not held
    # Times of the first and last commit records in the file (None when it holds none).
    first_commit_at: Mapped[datetime | None]
    last_commit_at: Mapped[datetime | None]
    key: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))  # of the stored (compressed) bytes
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    stored_bytes: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[datetime]
    # The age recipients the stored object is encrypted to (its key ends with .age), as the
    # stream's database and storage named them when it was stored; None: stored plain.
    encrypted_to: Mapped[list[Any] | None] = mapped_column(JSON)
    # Binlog files: the id of the server that wrote it, and its first and last GTIDs.
    server_id: Mapped[int | None] = mapped_column(BigInteger)
    first_gtid: Mapped[str | None] = mapped_column(String(80))
    last_gtid: Mapped[str | None] = mapped_column(String(80))


class ManagedInstance(Base):
    """A PostgreSQL instance a restore made on this host and registered as a database: its
    server is Strongbox's to start, stop and remove (with its folder)."""

    __tablename__ = "managed_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    database: Mapped[str] = mapped_column(String(63), unique=True)  # the registered name
    folder: Mapped[str] = mapped_column(Text)
    os_user: Mapped[str] = mapped_column(String(32))
    port: Mapped[int]
    # The PostgreSQL major whose server programs run it.
    server_major: Mapped[int]
    restore: Mapped[str] = mapped_column(String(63))  # the restore that made it
    source_database: Mapped[str] = mapped_column(String(63))
    created_at: Mapped[datetime]


class NotificationTarget(Base):
    """Where notifications go: an apprise URL (encrypted: it holds tokens and passwords), the
    events wanted, for every database or for one."""

    __tablename__ = "notification_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    url_encrypted: Mapped[str] = mapped_column(Text)
    # The URL with its secret parts masked by apprise, for people to recognise it.
    url_hint: Mapped[str] = mapped_column(Text)
    events: Mapped[list[Any]] = mapped_column(JSON)
    database: Mapped[str | None] = mapped_column(String(63))  # None: every database
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Worker(Base):
    """A process that runs jobs (`strongbox serve`'s own threads, or a `strongbox worker`): it
    registers itself when it starts, beats while it lives and leaves when it stops cleanly. One
    killed stays, its heartbeat ageing, until the leader forgets it (domain/jobs.py)."""

    __tablename__ = "workers"
    __table_args__ = (
        # Pages of workers, newest first (services/paging.py).
        Index("ix_workers_started", "started_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The name it claims jobs with (`claimed_by`): host, process id and a random part.
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "serve" or "worker"
    # The Celery queues a worker consumes; empty for a serve process (its threads run what it
    # hands them, not a queue).
    queues: Mapped[list[Any]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
