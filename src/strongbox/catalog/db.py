"""Connection to the catalog, sessions, and migrations to the newest schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from strongbox.catalog.url import is_postgresql, redacted
from strongbox.errors import ErrorKind, StrongboxError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Key of the PostgreSQL advisory lock that lets one replica at a time migrate the catalog (a
# fixed number: 0x5342 is "SB"). Advisory locks are per database, so catalogs of other
# installations on the same server do not share it.
MIGRATION_LOCK_KEY = 0x5342_0001
# The PostgreSQL pool: a few connections kept (the API's requests and the workers share them),
# more opened under load and closed again. Each is checked before use (pre-ping), so a catalog
# server that restarted costs no failed request, and none is kept longer than half an hour.
POOL_SIZE = 5
POOL_MAX_OVERFLOW = 15
POOL_RECYCLE_SECONDS = 1800
CONNECT_TIMEOUT_SECONDS = 10


def make_engine(url: str) -> Engine:
    if not is_postgresql(url):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_MAX_OVERFLOW,
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args=postgresql_connect_defaults(url),
    )


def postgresql_connect_defaults(url: str) -> dict[str, Any]:
    """libpq parameters Strongbox sets unless the URL sets them: a connect timeout (an
    unreachable catalog fails in seconds, not minutes) and the application name that
    `pg_stat_activity` shows."""
    given = make_url(url).query
    defaults: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "application_name": "strongbox",
    }
    return {key: value for key, value in defaults.items() if key not in given}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a worker writes; synchronous=NORMAL is durable in WAL mode
    # against process crashes, which is what the catalog needs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def upgrade(engine: Engine) -> None:
    """Bring the catalog's schema to the newest migration. On PostgreSQL, replicas starting at
    the same moment migrate one after the other (the others then find nothing to do)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Held until this transaction ends; PostgreSQL's DDL is transactional, so the next
            # replica sees either no migration or all of them.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Catalog:
    """The catalog's session factory; `session()` is a unit of work committed on success."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Catalog:
        """The catalog at `url`, migrated to the newest schema. Raises a StrongboxError naming
        the catalog (without its password) when it cannot be reached."""
        engine = make_engine(url)
        try:
            upgrade(engine)
        except OperationalError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StrongboxError(
                f"the catalog {redacted(engine.url)} cannot be opened: {reason}: check "
                "STRONGBOX_CATALOG_URL and that the catalog's server is reachable",
                "catalog-unreachable",
                ErrorKind.REFUSED,
            ) from None
        return cls(engine)

    @property
    def is_postgresql(self) -> bool:
        """Whether the catalog is a PostgreSQL database (else the embedded SQLite file)."""
        return self.engine.dialect.name == "postgresql"

    def describe(self) -> str:
        """The catalog's URL as it may be logged (without its password)."""
        return redacted(self.engine.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()
