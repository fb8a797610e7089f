"""What a backup may take from production: a read rate cap that makes it last at least
size / rate, a lock timeout that fails it (leaving nothing) rather than queue behind DDL, and
the fields that set them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from fixtures.app import RunningServer
from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, mariadb_database, postgres_database
from integration.problems import assert_problem, fields_of
from integration.seeds import seed_postgres

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def paced_db(pg_server: PostgresServer) -> Iterator[str]:
    seed_postgres(pg_server, "paced", scale=0.2)
    yield "paced"
    pg_server.execute("DROP DATABASE paced")


def back_up(strongbox: RunningServer, database: str, folder: Path, name: str) -> dict[str, Any]:
    strongbox.client.post("/api/v1/backup-storages", json=folder_storage(folder))
    strongbox.client.post(
        f"/api/v1/databases/{database}/backups", json={"storage": "disk", "name": name}
    ).raise_for_status()
    return strongbox.wait_for_backup(database, name)


def test_a_rate_capped_backup_takes_at_least_its_size_over_the_rate(
    strongbox: RunningServer, pg_server: PostgresServer, paced_db: str, tmp_path: Path
) -> None:
    rate = 2.0  # MB/s; the database dumps to several MB
    strongbox.client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, [paced_db], max_rate_mb_per_s=rate),
    ).raise_for_status()
    backup = back_up(strongbox, "prod", tmp_path / "backups", "capped")
    assert backup["state"] == "succeeded", backup["error"]
    assert backup["size_bytes"] > 4 * rate * 1_000_000
    assert backup["duration_seconds"] >= backup["size_bytes"] / (rate * 1_000_000)
    assert backup["source"]["kind"] == "primary"
    assert backup["source"]["max_rate_mb_per_s"] == rate
    # The samples show the cap: no interval read faster than the rate, with some slack for
    # where the intervals fall.
    load = backup["source_load"]
    assert load["average"]["backup_read_mb_per_s"] <= rate * 1.05


def test_a_physical_backup_keeps_to_the_rate_cap_too(
    strongbox: RunningServer, pg_server_factory: Callable[..., PostgresServer], tmp_path: Path
) -> None:
    cluster = pg_server_factory()  # a physical backup copies all of it: keep it small
    rate = 10.0
    strongbox.client.post(
        "/api/v1/databases", json=postgres_database(cluster, [], max_rate_mb_per_s=rate)
    ).raise_for_status()
    strongbox.client.post("/api/v1/backup-storages", json=folder_storage(tmp_path / "b"))
    strongbox.client.post(
        "/api/v1/databases/prod/backups",
        json={"storage": "disk", "name": "base", "method": "physical"},
    ).raise_for_status()
    backup = strongbox.wait_for_backup("prod", "base")
    assert backup["state"] == "succeeded", backup["error"]
    assert backup["size_bytes"] > 2 * rate * 1_000_000
    assert backup["duration_seconds"] >= backup["size_bytes"] / (rate * 1_000_000)
    assert backup["source"]["max_rate_mb_per_s"] == rate
    cluster.stop()


@pytest.fixture
def locked_table(pg_server: PostgresServer) -> Iterator[str]:
    """A database whose table `orders` another session holds in ACCESS EXCLUSIVE mode."""
    pg_server.create_database("locked")
    pg_server.execute("CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)", "locked")
    holder = pg_server.connect("locked")
    holder.autocommit = False
    holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
    yield "locked"
    holder.rollback()
    holder.close()
    pg_server.execute("DROP DATABASE locked")


def test_a_postgresql_dump_gives_up_on_a_held_lock_after_the_timeout(
    strongbox: RunningServer, pg_server: PostgresServer, locked_table: str, tmp_path: Path
) -> None:
    strongbox.client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, [locked_table], lock_timeout_seconds=2),
    ).raise_for_status()
    folder = tmp_path / "backups"
    backup = back_up(strongbox, "prod", folder, "blocked")
    assert backup["state"] == "failed"
    assert "ACCESS SHARE lock on table public.orders" in backup["error"]
    assert "lock_timeout_seconds" in backup["error"]
    assert backup["duration_seconds"] >= 2
    assert not (folder / "prod" / "blocked").exists() or not any(
        (folder / "prod" / "blocked").iterdir()
    )


@pytest.fixture
def pending_alter(mariadb_server: MariaDBServer) -> Iterator[str]:
    """A database whose table `orders` is read in an open transaction while an ALTER TABLE
    waits for its metadata lock: every new reader queues behind the ALTER."""
    mariadb_server.create_database("locked")
    mariadb_server.execute("CREATE TABLE orders (id int) ENGINE=InnoDB", "locked")
    mariadb_server.execute("INSERT INTO orders VALUES (1)", "locked")
    reader = mariadb_server.connect("locked")
    reader.autocommit(False)
    with reader.cursor() as cursor:
        cursor.execute("SELECT * FROM orders")
    alter = threading.Thread(
        target=mariadb_server.execute,
        args=("ALTER TABLE orders ADD COLUMN note int", "locked"),
        daemon=True,
    )
    alter.start()
    while not mariadb_server.query(
        "SELECT 1 FROM information_schema.PROCESSLIST"
        " WHERE INFO LIKE 'ALTER TABLE orders%' AND STATE LIKE '%metadata lock%'"
    ):
        assert alter.is_alive()
    yield "locked"
    reader.rollback()
    reader.close()
    alter.join(timeout=30)
    mariadb_server.execute("DROP DATABASE locked")


def test_a_mariadb_dump_gives_up_behind_a_pending_alter_after_the_timeout(
    strongbox: RunningServer, mariadb_server: MariaDBServer, pending_alter: str, tmp_path: Path
) -> None:
    strongbox.client.post(
        "/api/v1/databases",
        json=mariadb_database(mariadb_server, [pending_alter], lock_timeout_seconds=2),
    ).raise_for_status()
    folder = tmp_path / "backups"
    backup = back_up(strongbox, "maria", folder, "blocked")
    assert backup["state"] == "failed"
    assert "metadata lock on table `orders`" in backup["error"]
    assert "ALTER TABLE orders" in backup["error"]
    assert "lock_timeout_seconds" in backup["error"]
    assert backup["duration_seconds"] >= 2
    assert not (folder / "maria" / "blocked").exists() or not any(
        (folder / "maria" / "blocked").iterdir()
    )
    # The dump's session was ended on the server too: nothing of it waits there any more.
    deadline = time.monotonic() + 10
    while mariadb_server.query(
        "SELECT ID FROM information_schema.PROCESSLIST"
        " WHERE ID <> CONNECTION_ID() AND INFO LIKE %s",
        params=("%SQL_NO_CACHE%orders%",),
    ):
        assert time.monotonic() < deadline, "the dump's session still waits on the server"
        time.sleep(0.1)


def test_the_limits_are_shown_changed_and_removed(
    strongbox: RunningServer, pg_server: PostgresServer
) -> None:
    created = strongbox.client.post("/api/v1/databases", json=postgres_database(pg_server, []))
    assert created.status_code == 201, created.text
    assert created.json()["max_rate_mb_per_s"] is None
    assert created.json()["lock_timeout_seconds"] == 60
    assert created.json()["backup_source"] is None

    changed = strongbox.client.patch(
        "/api/v1/databases/prod", json={"max_rate_mb_per_s": 12.5, "lock_timeout_seconds": 5}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["max_rate_mb_per_s"] == 12.5
    assert changed.json()["lock_timeout_seconds"] == 5
    kept = strongbox.client.patch("/api/v1/databases/prod", json={"description": "x"}).json()
    assert (kept["max_rate_mb_per_s"], kept["lock_timeout_seconds"]) == (12.5, 5)
    removed = strongbox.client.patch("/api/v1/databases/prod", json={"max_rate_mb_per_s": None})
    assert removed.json()["max_rate_mb_per_s"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_rate_mb_per_s", 0),
        ("max_rate_mb_per_s", -1),
        ("max_rate_mb_per_s", "fast"),
        ("lock_timeout_seconds", 0),
        ("lock_timeout_seconds", 1.5),
        ("backup_source", {"host": "db"}),
        ("backup_source", {"host": "bad host", "port": 5432}),
    ],
)
def test_a_bad_limit_is_refused_naming_the_field(
    strongbox: RunningServer, pg_server: PostgresServer, field: str, value: Any
) -> None:
    refused = strongbox.client.post(
        "/api/v1/databases", json=postgres_database(pg_server, [], **{field: value})
    )
    problem = assert_problem(refused, 422)
    assert any(f.startswith(f"body.{field}") for f in fields_of(problem)), problem


def test_mariadb_pending_alter_fixture_really_blocks_readers(
    mariadb_server: MariaDBServer, pending_alter: str
) -> None:
    """The lock the MariaDB test relies on: a plain reader with a short lock_wait_timeout
    gives up too, so the failure above is the lock's and not something else."""
    with mariadb_server.connect(pending_alter) as conn, conn.cursor() as cursor:
        cursor.execute("SET SESSION lock_wait_timeout = 1")
        with pytest.raises(pymysql.err.OperationalError, match="Lock wait timeout"):
            cursor.execute("SELECT * FROM orders")
