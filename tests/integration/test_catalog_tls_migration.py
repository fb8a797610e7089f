"""The TLS migration on a catalog that already holds databases: they keep working as before."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from strongbox.catalog.db import MIGRATIONS_DIR, Catalog, make_engine


def test_databases_registered_before_tls_settings_get_prefer_and_no_ca(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        connection.exec_driver_sql(
            "INSERT INTO databases (name, engine, host, port, username, password_encrypted,"
            " databases, description, server_version, created_at, updated_at) VALUES ('old',"
            " 'postgresql', 'db', 5432, 'u', 'x', '[]', '', '15.2', '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00')"
        )
    engine.dispose()

    catalog = Catalog.open(url)
    with catalog.engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT ssl_mode, ssl_ca FROM databases").one()
    catalog.close()
    assert tuple(row) == ("prefer", None)
