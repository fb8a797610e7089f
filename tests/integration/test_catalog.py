"""The catalog on both kinds of database (the SQLite file and PostgreSQL): the migrations build
exactly the models, opening again keeps the data, aware datetimes read back as the same instant
in UTC, replicas starting together migrate once, and a catalog that cannot be opened is named
without its password."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from fixtures.catalogs import PostgresCatalog, catalog_url_of
from fixtures.postgres import PostgresServer
from integration.host_cli import run_cli
from strongbox.catalog.db import Catalog
from strongbox.catalog.models import AuditEntry, Base
from strongbox.cli.client import CliError
from strongbox.cli.settings import load_settings

pytestmark = pytest.mark.integration


def test_the_migrations_build_exactly_the_models_schema(catalog_url: str) -> None:
    catalog = Catalog.open(catalog_url)
    try:
        with catalog.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        catalog.close()


def test_opening_twice_upgrades_nothing_and_keeps_data(catalog_url: str) -> None:
    first = Catalog.open(catalog_url)
    with first.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO api_tokens (name, token_sha256, role, created_at) "
            "VALUES ('x', 'abc', 'admin', '2026-01-01 00:00:00+00')"
        )
    first.close()
    second = Catalog.open(catalog_url)
    with second.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT name FROM api_tokens").scalar() == "x"
    second.close()


# One instant each, given in several zones: UTC, a fixed offset with microseconds, a named zone
# in summer time and the repeated hour of its autumn change (01:30 EDT, then 01:30 EST).
GIVEN = [
    datetime(2026, 11, 24, 10, 0, 30, tzinfo=UTC),
    datetime(2026, 11, 24, 15, 31, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 7, 1, 2, 0, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York")),
    datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),
]


def test_aware_datetimes_read_back_as_the_same_instant_in_utc(catalog_url: str) -> None:
    catalog = Catalog.open(catalog_url)
    if catalog.is_postgresql:
        # The catalog server's zone must not leak into what Strongbox reads.
        with catalog.engine.connect() as connection:
            name = connection.exec_driver_sql("SELECT current_database()").scalar()
            connection.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET timezone = 'Asia/Kolkata'")
            connection.commit()
        catalog.close()
        catalog = Catalog.open(catalog_url)
    try:
        with catalog.session() as session:
            for index, moment in enumerate(GIVEN):
                session.add(
                    AuditEntry(
                        at=moment,
                        actor=f"a{index}",
                        action="GET /",
                        resource="/",
                        address="127.0.0.1",
                        status=200,
                        outcome="succeeded",
                    )
                )
        with catalog.session() as session:
            read = session.execute(select(AuditEntry.actor, AuditEntry.at)).all()
            # Comparisons in the database use the instant too, whatever zone it was given in.
            after = session.scalars(
                select(AuditEntry.actor)
                .where(AuditEntry.at > datetime(2026, 11, 1, 5, 45, tzinfo=UTC))
                .order_by(AuditEntry.at)
            ).all()
    finally:
        catalog.close()
    by_actor = dict(read)
    for index, moment in enumerate(GIVEN):
        back = by_actor[f"a{index}"]
        # (PEP 495: a time in a repeated hour never equals one of another zone, hence UTC.)
        assert back == moment.astimezone(UTC)
        assert back.tzinfo == UTC
    # 01:30 EST is 06:30 UTC; 01:30 EDT is 05:30 UTC and comes before the bound.
    assert after == ["a4", "a0", "a1"]


def test_replicas_starting_together_on_an_empty_catalog_migrate_it_once(
    postgres_catalog: PostgresCatalog,
) -> None:
    barrier = threading.Barrier(3)
    opened: list[Catalog] = []
    failures: list[BaseException] = []

    def open_catalog() -> None:
        barrier.wait()
        try:
            opened.append(Catalog.open(postgres_catalog.url))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_catalog) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        with opened[0].engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert len(versions.all()) == 1
    finally:
        for catalog in opened:
            catalog.close()


def test_serve_names_a_catalog_it_cannot_open_without_its_password(
    tmp_path: Path, pg_server: PostgresServer
) -> None:
    wrong = "wrong-password-4f1c9"
    url = catalog_url_of(pg_server, "postgres").replace(pg_server.password, wrong)
    result = run_cli(
        "serve",
        "--port",
        "1",
        STRONGBOX_DATA_DIR=str(tmp_path / "d"),
        STRONGBOX_CATALOG_URL=url,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        f"strongbox: error: the catalog postgresql+psycopg://postgres:***@{pg_server.host}:"
        f"{pg_server.port}/postgres cannot be opened: "
    )
    assert "password authentication failed" in lines[0]
    assert wrong not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql+pymysql://strongbox:hunter2-secret@db/strongbox",
            "the catalog must be an SQLite file or a PostgreSQL database, not mysql+pymysql",
        ),
        ("sqlite://", "an SQLite catalog must be a file"),
        ("hunter2-secret", "not a database URL"),
    ],
    ids=["mysql", "in-memory", "not-a-url"],
)
def test_a_catalog_url_it_cannot_use_is_refused_in_one_line_without_the_url(
    monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setenv("STRONGBOX_CATALOG_URL", url)
    with pytest.raises(CliError) as refused:
        load_settings()
    assert refused.value.exit_code == 2
    assert str(refused.value).startswith(f"STRONGBOX_CATALOG_URL: {message}")
    assert "hunter2" not in str(refused.value)


def test_postgres_urls_in_libpq_spelling_mean_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRONGBOX_CATALOG_URL", "postgres://sb:pw@db.example:5433/strongbox")
    settings = load_settings()
    assert settings.resolved_catalog_url() == "postgresql+psycopg://sb:pw@db.example:5433/strongbox"
    assert "pw" not in repr(settings)
