"""An overwrite restore never costs the database it overwrites: whatever fails before the new
content is complete (no room in the scratch folder, the storage lost mid-download, the restore
tool failing or stalling), the original is unchanged, nothing is left beside it, and the restore
is `failed` with the reason. A backup a restore reads cannot be deleted, and a summary that
cannot be counted in time is estimated rather than failing the restore."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.mariadb import MariaDBServer
from fixtures.pausing_proxy import PausingProxy, pausing_proxy
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import mariadb_database, postgres_database, s3_storage
from integration.problems import assert_problem
from integration.seeds import mariadb_fingerprint, pg_fingerprint, seed_mariadb, seed_postgres
from integration.test_restore import restore, wait_for_restore
from integration.tool_wrappers import READS_NOTHING, pg_bin_with

pytestmark = pytest.mark.integration

HOLD_AFTER_BYTES = 256 * 1024  # the artifacts below are megabytes; manifests are a few KiB


@pytest.fixture(scope="module")
def own_seaweed() -> Iterator[SeaweedServer]:
    """Not the shared server: these tests stop it."""
    server = SeaweedServer.create()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def proxy(own_seaweed: SeaweedServer) -> Iterator[PausingProxy]:
    with pausing_proxy(own_seaweed.host, own_seaweed.ports["s3.port"]) as running:
        yield running


@pytest.fixture
def bucket(own_seaweed: SeaweedServer, proxy: PausingProxy) -> str:
    if not own_seaweed.running:  # a test that stopped it failed before starting it again
        own_seaweed.start()
    proxy.release()
    return own_seaweed.create_bucket(f"safety-{time.monotonic_ns()}")


@pytest.fixture(scope="module")
def pg_safe(pg_server: PostgresServer) -> Iterator[str]:
    seed_postgres(pg_server, "safe", scale=0.2)
    yield "safe"
    pg_server.execute("DROP DATABASE IF EXISTS safe WITH (FORCE)")


@pytest.fixture(scope="module")
def maria_safe(mariadb_server: MariaDBServer) -> Iterator[str]:
    seed_mariadb(mariadb_server, "msafe", scale=0.2)
    yield "msafe"
    mariadb_server.execute("DROP DATABASE IF EXISTS msafe")


@dataclass
class Target:
    """One engine's live database, as these tests use it."""

    engine: str
    dbname: str
    fingerprint: Callable[[], dict[str, Any]]
    change: Callable[[], None]  # makes the live database differ from its backup
    registration: dict[str, Any]
    leftovers: Callable[[], list[str]]  # databases Strongbox made beside it
    restore_jobs: int


@pytest.fixture(params=["postgresql", "mariadb"])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("pg_server")
        name = request.getfixturevalue("pg_safe")
        return Target(
            "postgresql",
            name,
            lambda: pg_fingerprint(pg, name),
            lambda: pg.execute(
                "DELETE FROM sales.orders WHERE id = (SELECT min(id) FROM sales.orders)", name
            ),
            postgres_database(pg, [name]),
            lambda: [
                r[0]
                for r in pg.query(
                    f"SELECT datname FROM pg_database WHERE strpos(datname, '{name}__sbx_') = 1"
                )
            ],
            2,
        )
    maria: MariaDBServer = request.getfixturevalue("mariadb_server")
    name = request.getfixturevalue("maria_safe")
    return Target(
        "mysql",
        name,
        lambda: mariadb_fingerprint(maria, name),
        lambda: maria.execute("DELETE FROM customers ORDER BY id LIMIT 10", name),
        mariadb_database(maria, [name], "prod"),
        lambda: [],
        1,
    )


def set_up(
    tmp_path: Path, target: Target, storage: dict[str, Any], **settings: Any
) -> tuple[RunningServer, Any, dict[str, Any]]:
    """A Strongbox with `target` registered as 'prod' and a backup 'b1' of it; the live database
    is then changed. Returns the server and the fingerprint of the backup's content."""
    running, server = start_server(tmp_path / "data", **settings)
    running.client.post("/api/v1/databases", json=target.registration).raise_for_status()
    running.client.post("/api/v1/backup-storages", json=storage).raise_for_status()
    backed_up = target.fingerprint()
    running.client.post(
        "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "b1"}
    ).raise_for_status()
    backup = running.wait_for_backup("prod", "b1")
    assert backup["state"] == "succeeded", backup["error"]
    target.change()
    assert target.fingerprint() != backed_up
    return running, server, backed_up


def start_overwrite(running: RunningServer, jobs: int) -> str:
    response = running.client.post(
        "/api/v1/databases/prod/restores", json={"backup": "b1", "overwrite": True, "jobs": jobs}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["name"])


def via(proxy: PausingProxy, seaweed: SeaweedServer, bucket: str) -> dict[str, Any]:
    return {**s3_storage(seaweed, bucket), "endpoint_url": proxy.endpoint_url}


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "scratch"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_an_overwrite_whose_copy_cannot_fit_the_scratch_folder_is_refused_before_any_change(
    tmp_path: Path,
    target: Target,
    small_tmpfs: Path,
    own_seaweed: SeaweedServer,
    proxy: PausingProxy,
    bucket: str,
) -> None:
    storage = via(proxy, own_seaweed, bucket)
    running, server, _ = set_up(tmp_path, target, storage, scratch_dir=small_tmpfs)
    try:
        before = target.fingerprint()
        done = wait_for_restore(running, "prod", start_overwrite(running, target.restore_jobs))
        assert done["state"] == "failed"
        assert f"the scratch folder {small_tmpfs} has" in done["error"]
        assert "bytes free" in done["error"]
        assert "nothing was changed" in done["error"]
        assert target.fingerprint() == before
        assert target.leftovers() == []
        assert list(small_tmpfs.iterdir()) == []
    finally:
        stop_server(running, server)


def test_losing_the_storage_mid_download_leaves_the_original_unchanged(
    tmp_path: Path,
    target: Target,
    own_seaweed: SeaweedServer,
    proxy: PausingProxy,
    bucket: str,
) -> None:
    running, server, _ = set_up(tmp_path, target, via(proxy, own_seaweed, bucket))
    try:
        before = target.fingerprint()
        proxy.arm(HOLD_AFTER_BYTES)
        # jobs 1: PostgreSQL streams into its side database while the download runs.
        name = start_overwrite(running, 1)
        assert proxy.held.wait(60), "the restore never started downloading"
        if target.engine == "postgresql":
            assert len(target.leftovers()) == 1  # the side database being filled
        own_seaweed.stop()
        proxy.cut()
        done = wait_for_restore(running, "prod", name)
        assert done["state"] == "failed"
        assert f"database {target.dbname} was not changed" in done["error"]
        assert target.fingerprint() == before
        assert target.leftovers() == []
        assert list((tmp_path / "data" / "scratch").iterdir()) == []
    finally:
        own_seaweed.start()
        stop_server(running, server)


def test_a_storage_that_stops_sending_fails_the_restore_as_stalled(
    tmp_path: Path,
    target: Target,
    own_seaweed: SeaweedServer,
    proxy: PausingProxy,
    bucket: str,
) -> None:
    storage = via(proxy, own_seaweed, bucket)
    running, server, _ = set_up(tmp_path, target, storage, stall_timeout_seconds=2)
    try:
        before = target.fingerprint()
        proxy.arm(HOLD_AFTER_BYTES)  # and never released while the restore runs
        done = wait_for_restore(running, "prod", start_overwrite(running, 1))
        assert proxy.held.is_set()
        assert done["state"] == "failed"
        assert "stalled" in done["error"]
        assert f"database {target.dbname} was not changed" in done["error"]
        assert target.fingerprint() == before
        assert target.leftovers() == []
    finally:
        proxy.release()
        stop_server(running, server)


def test_a_backup_a_restore_reads_cannot_be_deleted(
    tmp_path: Path,
    target: Target,
    own_seaweed: SeaweedServer,
    proxy: PausingProxy,
    bucket: str,
) -> None:
    running, server, backed_up = set_up(tmp_path, target, via(proxy, own_seaweed, bucket))
    try:
        proxy.arm(HOLD_AFTER_BYTES)
        name = start_overwrite(running, target.restore_jobs)
        assert proxy.held.wait(60), "the restore never started downloading"
        refused = running.client.delete("/api/v1/databases/prod/backups/b1")
        problem = assert_problem(refused, 409, "backup-in-use")
        assert name in problem["detail"]
        proxy.release()
        done = wait_for_restore(running, "prod", name)
        assert done["state"] == "succeeded", done["error"]
        assert target.fingerprint() == backed_up
        assert target.leftovers() == []
        assert running.client.get("/api/v1/databases/prod/backups/b1").status_code == 200
        # Once the restore ended, the backup can go.
        assert running.client.delete("/api/v1/databases/prod/backups/b1").status_code == 204
    finally:
        stop_server(running, server)


@pytest.fixture(scope="module")
def fresh_pg(pg_server_factory: Callable[[], PostgresServer]) -> PostgresServer:
    return pg_server_factory()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_pg_restore_failing_midway_leaves_the_original_and_no_side_database(
    strongbox: RunningServer,
    pg_server: PostgresServer,
    fresh_pg: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    jobs: int,
) -> None:
    # The backup holds a table owned by a role the other server lacks: pg_restore fails there
    # after it created part of the database.
    pg_server.execute("DROP DATABASE IF EXISTS owned WITH (FORCE)")
    pg_server.execute("DROP ROLE IF EXISTS app_owner; CREATE ROLE app_owner")
    seed_postgres(pg_server, "owned", scale=0.02)
    pg_server.execute("ALTER TABLE sales.orders OWNER TO app_owner", "owned")
    fresh_pg.execute("DROP DATABASE IF EXISTS owned WITH (FORCE)")
    seed_postgres(fresh_pg, "owned", scale=0.01)
    original = pg_fingerprint(fresh_pg, "owned")
    strongbox.client.post(
        "/api/v1/databases", json=postgres_database(pg_server, ["owned"])
    ).raise_for_status()
    strongbox.client.post(
        "/api/v1/databases", json=postgres_database(fresh_pg, [], name="other")
    ).raise_for_status()
    strongbox.client.post(
        "/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)
    ).raise_for_status()
    strongbox.client.post(
        "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "owned"}
    ).raise_for_status()
    assert strongbox.wait_for_backup("prod", "owned")["state"] == "succeeded"

    done = restore(strongbox, "prod", backup="owned", target="other", overwrite=True, jobs=jobs)
    assert done["state"] == "failed"
    assert 'role "app_owner" does not exist' in done["error"]
    assert "database owned was not changed" in done["error"]
    assert "was dropped" in done["error"]
    assert pg_fingerprint(fresh_pg, "owned") == original
    names = fresh_pg.query("SELECT datname FROM pg_database WHERE datname LIKE 'owned%'")
    assert [r[0] for r in names] == ["owned"]
    pg_server.execute("DROP DATABASE owned WITH (FORCE)")
    pg_server.execute("DROP ROLE app_owner")


def test_a_stalled_restore_tool_is_stopped_and_the_original_kept(
    tmp_path: Path, pg_server: PostgresServer, pg_safe: str, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    bin_dir = pg_bin_with(tmp_path / "bin", READS_NOTHING, program="pg_restore")
    running, server = start_server(tmp_path / "data", pg_bin_dir=bin_dir, stall_timeout_seconds=2)
    try:
        running.client.post(
            "/api/v1/databases", json=postgres_database(pg_server, [pg_safe])
        ).raise_for_status()
        running.client.post(
            "/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)
        ).raise_for_status()
        running.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "b1"}
        ).raise_for_status()
        assert running.wait_for_backup("prod", "b1")["state"] == "succeeded"
        before = pg_fingerprint(pg_server, pg_safe)
        done = wait_for_restore(running, "prod", start_overwrite(running, 1))
        assert done["state"] == "failed"
        assert "pg_restore stalled: no data for" in done["error"]
        assert f"database {pg_safe} was not changed" in done["error"]
        assert pg_fingerprint(pg_server, pg_safe) == before
    finally:
        stop_server(running, server)


def test_rows_too_slow_to_count_are_estimated_and_the_restore_succeeds(
    tmp_path: Path, pg_server: PostgresServer, pg_safe: str, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    running, server = start_server(tmp_path / "data", restore_count_timeout_seconds=0.001)
    try:
        running.client.post(
            "/api/v1/databases", json=postgres_database(pg_server, [pg_safe])
        ).raise_for_status()
        running.client.post(
            "/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)
        ).raise_for_status()
        running.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "b1"}
        ).raise_for_status()
        assert running.wait_for_backup("prod", "b1")["state"] == "succeeded"
        done = restore(
            running,
            "prod",
            backup="b1",
            database_map={pg_safe: "safe_estimated"},
            exact_counts=True,
        )
        assert done["state"] == "succeeded", done["error"]
        summary = done["summary"][0]
        assert summary["rows_estimated"] is True
        assert summary["tables"] == 3
        exact = sum(
            pg_server.query(f"SELECT count(*) FROM {t}", "safe_estimated")[0][0]
            for t in ("customers", "documents", "sales.orders")
        )
        assert abs(summary["rows"] - exact) <= exact * 0.1
        assert pg_fingerprint(pg_server, "safe_estimated") == pg_fingerprint(pg_server, pg_safe)
    finally:
        pg_server.execute("DROP DATABASE IF EXISTS safe_estimated WITH (FORCE)")
        stop_server(running, server)


def test_a_new_scratch_folder_is_readable_by_the_server_only(tmp_path: Path) -> None:
    from strongbox.config import Settings
    from strongbox.server import Embedded

    settings = Settings(data_dir=tmp_path / "data", secret_key="k", admin_token="t" * 24)
    embedded = Embedded.prepare(settings)
    try:
        assert (tmp_path / "data" / "scratch").stat().st_mode & 0o777 == 0o700
    finally:
        embedded.stop()


def test_leftovers_of_interrupted_restores_are_removed_at_start(tmp_path: Path) -> None:
    from strongbox.config import Settings
    from strongbox.server import Embedded

    scratch = tmp_path / "scratch"
    (scratch / "strongbox-restore-7-abcd").mkdir(parents=True)
    (scratch / "strongbox-restore-7-abcd" / "artifact-0").write_bytes(b"x" * 1000)
    (scratch / "restore-of-someone-else").mkdir()
    (scratch / "not-ours").write_text("kept")
    settings = Settings(
        data_dir=tmp_path / "data", scratch_dir=scratch, secret_key="k", admin_token="t" * 24
    )
    embedded = Embedded.prepare(settings)
    try:
        assert sorted(p.name for p in scratch.iterdir()) == ["not-ours", "restore-of-someone-else"]
    finally:
        embedded.stop()


def test_mariadb_rows_too_slow_to_count_are_estimated_and_the_restore_succeeds(
    tmp_path: Path,
    mariadb_server: MariaDBServer,
    maria_safe: str,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    running, server = start_server(tmp_path / "data", restore_count_timeout_seconds=0.001)
    try:
        running.client.post(
            "/api/v1/databases",
            json=mariadb_database(mariadb_server, [maria_safe], "prod"),
        ).raise_for_status()
        running.client.post(
            "/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket)
        ).raise_for_status()
        running.client.post(
            "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "b1"}
        ).raise_for_status()
        assert running.wait_for_backup("prod", "b1")["state"] == "succeeded"
        done = restore(
            running,
            "prod",
            backup="b1",
            database_map={maria_safe: "msafe_estimated"},
            exact_counts=True,
        )
        assert done["state"] == "succeeded", done["error"]
        summary = done["summary"][0]
        assert summary["rows_estimated"] is True
        assert summary["tables"] == 2
        assert summary["rows"] > 0  # InnoDB's estimate: near the truth, not exact
        assert mariadb_fingerprint(mariadb_server, "msafe_estimated") == mariadb_fingerprint(
            mariadb_server, maria_safe
        )
    finally:
        mariadb_server.execute("DROP DATABASE IF EXISTS msafe_estimated")
        stop_server(running, server)
