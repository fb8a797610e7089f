"""The catalog's URL: which databases may hold the catalog, and how the URL is shown.

The URL may carry a password (in its user part or as a `password` query parameter), so it is
never logged or put in a message as given: `redacted` is the form that may be shown.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

SUPPORTED_FORMS = (
    "sqlite:////path/to/catalog.sqlite3 or postgresql+psycopg://user:password@host:5432/database"
)
POSTGRESQL_DRIVER = "postgresql+psycopg"
# libpq's spellings, and SQLAlchemy's name of the dialect without a driver: all mean psycopg 3,
# the PostgreSQL driver Strongbox ships with.
_POSTGRESQL_NAMES = frozenset({"postgresql", "postgres", POSTGRESQL_DRIVER})
_SQLITE_NAMES = frozenset({"sqlite", "sqlite+pysqlite"})
_SECRET_QUERY_KEYS = frozenset({"password", "sslpassword"})
_HIDDEN = "STRONGBOXHIDDEN"


def normal_catalog_url(text: str) -> str:
    """The URL SQLAlchemy is given for `text`: `postgresql://` and `postgres://` mean psycopg 3.
    Raises ValueError, with a message that does not repeat the URL (it may hold a password), for
    anything that is not an SQLite file or a PostgreSQL database.

    >>> normal_catalog_url("postgres://strongbox:pw@db.example/strongbox")
    'postgresql+psycopg://strongbox:pw@db.example/strongbox'
    >>> normal_catalog_url("sqlite:////var/lib/strongbox/catalog.sqlite3")
    'sqlite:////var/lib/strongbox/catalog.sqlite3'
    >>> normal_catalog_url("mysql+pymysql://u:secret@db/strongbox")
    Traceback (most recent call last):
    ...
    ValueError: the catalog must be an SQLite file or a PostgreSQL database, not mysql+pymysql: \
use sqlite:////path/to/catalog.sqlite3 or postgresql+psycopg://user:password@host:5432/database
    """
    try:
        url = make_url(text.strip())
    except ArgumentError:
        raise ValueError(f"not a database URL: use {SUPPORTED_FORMS}") from None
    if url.drivername in _POSTGRESQL_NAMES:
        url = url.set(drivername=POSTGRESQL_DRIVER)
    elif url.drivername in _SQLITE_NAMES:
        if not url.database or url.database == ":memory:":
            raise ValueError(
                "an SQLite catalog must be a file (an in-memory database is gone when its "
                f"connection closes): use {SUPPORTED_FORMS}"
            )
    else:
        raise ValueError(
            "the catalog must be an SQLite file or a PostgreSQL database, not "
            f"{url.drivername}: use {SUPPORTED_FORMS}"
        )
    return url.render_as_string(hide_password=False)


def redacted(url: str | URL) -> str:
    """The URL as it may be logged: its password, and a password given as a query parameter,
    replaced by `***`.

    >>> redacted("postgresql+psycopg://strongbox:s3cret@db:5432/strongbox")
    'postgresql+psycopg://strongbox:***@db:5432/strongbox'
    >>> redacted("postgresql+psycopg://strongbox@db/sb?password=s3cret&sslmode=require")
    'postgresql+psycopg://strongbox@db/sb?password=***&sslmode=require'
    """
    parsed = make_url(url) if isinstance(url, str) else url
    hidden = {key: _HIDDEN for key in parsed.query if key.lower() in _SECRET_QUERY_KEYS}
    if hidden:
        parsed = parsed.update_query_dict(hidden)
    # The placeholder is plain letters, so that rendering leaves it as it is.
    return parsed.render_as_string(hide_password=True).replace(_HIDDEN, "***")


def is_postgresql(url: str | URL) -> bool:
    """Whether the catalog is a PostgreSQL database (else an SQLite file)."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.get_backend_name() == "postgresql"
