from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from strongbox.catalog.db import Catalog
from strongbox.catalog.models import Base


def test_the_migrations_build_exactly_the_models_schema(tmp_path: Path) -> None:
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    try:
        with catalog.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        catalog.close()


def test_opening_twice_upgrades_nothing_and_keeps_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    first = Catalog.open(url)
    with first.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO api_tokens (name, token_sha256, role, created_at) "
            "VALUES ('x', 'abc', 'admin', '2026-01-01 00:00:00')"
        )
    first.close()
    second = Catalog.open(url)
    with second.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT name FROM api_tokens").scalar() == "x"
    second.close()
