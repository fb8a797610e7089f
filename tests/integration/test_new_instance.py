"""A physical backup restored into a new PostgreSQL instance on this host: the copy equals the
source per table, is registered and can be backed up, and DELETE stops it and removes its
folder; refusals come before anything starts; an unsafe tar and a base that cannot recover
fail the restore and leave no instance behind."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import socket
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import zstandard

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, postgres_database
from integration.problems import assert_problem
from integration.seeds import pg_fingerprint, seed_postgres
from integration.test_cli import cli
from integration.test_restore import wait_for_restore
from strongbox.catalog.models import Backup, WalSegment
from strongbox.domain.keys import wal_key
from strongbox.domain.recovery import END_OF_WAL
from strongbox.domain.wal import DEFAULT_SEGMENT_SIZE, parse_wal_name
from strongbox.services import managed_instances, new_instances, storages
from strongbox.services.instance_build import (
    InstanceSpec,
    PitrRecovery,
    WalSource,
    build_instance,
    instance_folder,
    tear_down,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def source(pg_server_factory: Callable[..., PostgresServer]) -> Iterator[PostgresServer]:
    """A cluster of its own (a physical backup copies all of it), seeded small."""
    server = pg_server_factory()
    seed_postgres(server, "shop", scale=0.05)
    yield server
    server.stop()


@pytest.fixture
def instances() -> Iterator[Path]:
    """The instances folder, where the postgres OS user can reach it (pytest's tmp_path has
    parents closed to other users)."""
    folder = Path(tempfile.mkdtemp(prefix="strongbox-instances-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def box(tmp_path: Path, instances: Path, wal_fetch_python: str) -> Iterator[RunningServer]:
    running, server = start_server(
        tmp_path / "data",
        instances_dir=instances,
        recovery_timeout_seconds=60,
        wal_fetch_python=wal_fetch_python,
    )
    yield running
    stop_server(running, server)


def _physical_backup(box: RunningServer, source: PostgresServer, store: Path) -> dict[str, Any]:
    box.client.post(
        "/api/v1/databases", json=postgres_database(source, ["shop"])
    ).raise_for_status()
    box.client.post("/api/v1/backup-storages", json=folder_storage(store)).raise_for_status()
    accepted = box.client.post(
        "/api/v1/databases/prod/backups", json={"storage": "disk", "method": "physical"}
    )
    assert accepted.status_code == 202, accepted.text
    backup = box.wait_for_backup("prod", accepted.json()["name"])
    assert backup["state"] == "succeeded", backup["error"]
    return backup


def _restore(box: RunningServer, backup: str, name: str, port: int) -> dict[str, Any]:
    accepted = box.client.post(
        "/api/v1/databases/prod/restores",
        json={"backup": backup, "new_instance": {"name": name, "port": port}},
    )
    assert accepted.status_code == 202, accepted.text
    return wait_for_restore(box, "prod", accepted.json()["name"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _instance_server(source: PostgresServer, port: int) -> PostgresServer:
    """A handle to query the new instance with (not started or stopped by the test)."""
    return PostgresServer(Path("/nonexistent"), source.bin_dir, port, source.password)


def test_a_physical_backup_restored_into_a_new_instance_matches_the_source(
    box: RunningServer, source: PostgresServer, tmp_path: Path, instances: Path
) -> None:
    backup = _physical_backup(box, source, tmp_path / "store")
    port = _free_port()
    request = {"backup": backup["name"], "new_instance": {"name": "copy", "port": port}}

    plan = box.client.post("/api/v1/databases/prod/restores?dry_run=true", json=request)
    assert plan.status_code == 200, plan.text
    shown = plan.json()
    assert shown["artifacts"][0]["key"].endswith("/base.tar.zst")
    assert f"port = {port}" in shown["settings"]
    assert "archive_mode = off" in shown["settings"]
    assert not [line for line in shown["settings"] if line.startswith("recovery_target")]
    assert "listen_addresses = '127.0.0.1'" in shown["settings"]
    assert shown["commands"][0][-1] == "start"
    assert str(instances / "copy" / "data") in shown["commands"][0]
    assert source.password not in plan.text
    shown_by_cli = cli(
        box,
        "restore",
        "prod",
        "--backup",
        backup["name"],
        "--new-instance",
        "copy",
        "--port",
        str(port),
        "--dry-run",
    )
    assert shown_by_cli.returncode == 0, shown_by_cli.stderr
    assert f"port = {port}" in shown_by_cli.stdout
    assert not (instances / "copy").exists()

    restore = _restore(box, backup["name"], "copy", port)
    assert restore["state"] == "succeeded", restore["error"]
    recovered = restore["new_instance"]
    assert recovered["folder"] == str(instances / "copy")
    assert recovered["recovery"]["outcome"] == "end-of-base"
    assert [(s["target"], s["tables"] > 0) for s in restore["summary"]] == [("shop", True)]

    copy = _instance_server(source, port)
    assert pg_fingerprint(copy, "shop") == pg_fingerprint(source, "shop")
    assert copy.query("SELECT pg_is_in_recovery(), current_setting('listen_addresses')") == [
        (False, "127.0.0.1")
    ]
    assert copy.query("SHOW archive_mode") == [("off",)]

    registered = box.client.get("/api/v1/databases/copy").json()
    assert (registered["host"], registered["port"], registered["ssl_mode"]) == (
        "127.0.0.1",
        port,
        "disable",
    )
    assert registered["databases"] == ["shop"]
    backed_up = box.client.post("/api/v1/databases/copy/backups", json={"storage": "disk"})
    assert backed_up.status_code == 202, backed_up.text
    logical = box.wait_for_backup("copy", backed_up.json()["name"])
    assert logical["state"] == "succeeded", logical["error"]

    assert box.client.delete("/api/v1/databases/copy").status_code == 204
    assert not (instances / "copy").exists()
    with pytest.raises(psycopg.OperationalError):
        copy.query("SELECT 1")
    assert box.client.get("/api/v1/databases/copy").status_code == 404


def test_a_new_instance_is_refused_before_anything_starts(
    box: RunningServer, source: PostgresServer, tmp_path: Path, instances: Path
) -> None:
    backup = _physical_backup(box, source, tmp_path / "store")

    def ask(**new_instance: Any) -> Any:
        return box.client.post(
            "/api/v1/databases/prod/restores",
            json={"backup": backup["name"], "new_instance": new_instance},
        )

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy_port = taken.getsockname()[1]
        problem = assert_problem(ask(name="copy", port=busy_port), 409, "port-in-use")
        assert "choose a free port" in problem["detail"]
    assert_problem(ask(name="prod", port=_free_port()), 409, "name-taken")
    low = assert_problem(ask(name="copy", port=80), 422, "invalid-request")
    assert low["errors"][0]["field"] == "body.new_instance.port"
    (instances / "copy").mkdir()
    assert_problem(ask(name="copy", port=_free_port()), 409, "instance-folder-exists")
    (instances / "copy").rmdir()
    mixed = box.client.post(
        "/api/v1/databases/prod/restores",
        json={
            "backup": backup["name"],
            "target": "prod",
            "new_instance": {"name": "copy", "port": _free_port()},
        },
    )
    assert_problem(mixed, 422, "new-instance-exclusive")
    assert box.client.get("/api/v1/databases/prod/restores").json()["items"] == []
    assert list(instances.iterdir()) == []


def _replace_base(box: RunningServer, store: Path, backup: str, tar_bytes: bytes) -> None:
    """Store `tar_bytes` as the backup's base, with a manifest and a catalog record that fit
    it (as someone holding the storage and the catalog could)."""
    stored = zstandard.ZstdCompressor().compress(tar_bytes)
    folder = store / "prod" / backup
    (folder / "base.tar.zst").write_bytes(stored)
    facts = {
        "raw_bytes": len(tar_bytes),
        "stored_bytes": len(stored),
        "sha256": hashlib.sha256(stored).hexdigest(),
    }
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["artifacts"][0].update(facts)
    manifest["size_bytes"], manifest["stored_bytes"] = len(tar_bytes), len(stored)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with box.embedded.context.catalog.session() as session:
        row = session.query(Backup).filter_by(database="prod", name=backup).one()
        row.artifacts = [{**row.artifacts[0], **facts}]
        row.size_bytes, row.stored_bytes = len(tar_bytes), len(stored)


def _base_tar(store: Path, backup: str) -> bytes:
    stored = (store / "prod" / backup / "base.tar.zst").read_bytes()
    return zstandard.ZstdDecompressor().decompressobj().decompress(stored)


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def test_a_tar_member_going_up_is_refused_before_it_is_written(
    box: RunningServer, source: PostgresServer, tmp_path: Path, instances: Path
) -> None:
    store = tmp_path / "store"
    backup = _physical_backup(box, source, store)
    good = tarfile.TarInfo("PG_VERSION")
    good.size = 3
    evil = tarfile.TarInfo("../../escaped")
    evil.size = 5
    _replace_base(box, store, backup["name"], _tar([(good, b"15\n"), (evil, b"owned")]))

    restore = _restore(box, backup["name"], "copy", _free_port())
    assert restore["state"] == "failed"
    assert "'../../escaped' goes up with '..'" in restore["error"]
    assert not (instances / "escaped").exists()
    assert not (instances.parent / "escaped").exists()
    assert list(instances.iterdir()) == []
    assert box.client.get("/api/v1/databases/copy").status_code == 404

    _replace_base(box, store, backup["name"], b"not a tar at all" * 64)
    unreadable = _restore(box, backup["name"], "copy", _free_port())
    assert unreadable["state"] == "failed"
    assert "is not a readable tar" in unreadable["error"]
    assert list(instances.iterdir()) == []


def test_a_base_without_its_wal_fails_with_the_log_reason_and_leaves_no_instance(
    box: RunningServer, source: PostgresServer, tmp_path: Path, instances: Path
) -> None:
    store = tmp_path / "store"
    backup = _physical_backup(box, source, store)
    kept = []
    with tarfile.open(fileobj=io.BytesIO(_base_tar(store, backup["name"]))) as tar:
        for member in tar:
            if member.name.startswith("pg_wal/") and member.isreg():
                continue  # the WAL the copy needs to become consistent
            data = tar.extractfile(member).read() if member.isreg() else None  # type: ignore[union-attr]
            kept.append((member, data))
    _replace_base(box, store, backup["name"], _tar(kept))

    restore = _restore(box, backup["name"], "copy", _free_port())
    assert restore["state"] == "failed"
    assert "server log:" in restore["error"]
    assert "checkpoint record" in restore["error"]
    assert list(instances.iterdir()) == []
    assert box.client.get("/api/v1/databases/copy").status_code == 404


def test_a_base_recovers_through_a_restore_command_to_the_end_of_the_staged_wal(
    box: RunningServer, source: PostgresServer, tmp_path: Path, instances: Path
) -> None:
    """The machinery a point-in-time restore calls: a base, WAL written after it staged from
    the storage, and recovery through a restore_command, then promotion."""
    backup = _physical_backup(box, source, tmp_path / "store")
    # The fixture's servers commit asynchronously; this commit is flushed before it returns.
    source.execute(
        "SET synchronous_commit = on; CREATE TABLE after_base (n int); "
        "INSERT INTO after_base VALUES (42)",
        "shop",
    )
    stop_lsn = backup["log_position"]["stop_lsn"]
    first = source.query(f"SELECT pg_walfile_name('{stop_lsn}')")[0][0]
    last = source.query("SELECT pg_walfile_name(pg_current_wal_flush_lsn())")[0][0]
    source.execute("SELECT pg_switch_wal()")
    ctx = box.embedded.context
    storage, prefix = storages.open_by_name(ctx, "disk")
    segments = []
    for path in sorted((source.data_dir / "pg_wal").iterdir()):
        if len(path.name) != 24 or not first <= path.name <= last:
            continue
        stored = zstandard.ZstdCompressor().compress(path.read_bytes())
        key = wal_key(prefix, "prod", path.name)
        storage.put_bytes(key, stored)
        wal = parse_wal_name(path.name)
        segments.append(
            WalSegment(
                name=path.name,
                kind=wal.kind,
                timeline=wal.timeline,
                start_lsn=wal.start_lsn(),
                end_lsn=wal.start_lsn() + DEFAULT_SEGMENT_SIZE,
                key=key,
                sha256=hashlib.sha256(stored).hexdigest(),
                size_bytes=path.stat().st_size,
            )
        )
    base, _manifest, _storage = new_instances.trusted_base(ctx, "prod", backup["name"])
    port = _free_port()
    spec = InstanceSpec("later", port, storage, base, 15, "postgres", source.password)
    staged = instance_folder(ctx, "later").wal_dir
    recovery = PitrRecovery(
        WalSource(storage, segments), target_time=None, timeline="latest", last_commit_at_least=None
    )
    try:
        built = build_instance(ctx, spec, recovery)
        try:
            assert built.outcome.outcome == END_OF_WAL
            copy = _instance_server(source, port)
            assert copy.query("SELECT n FROM after_base", "shop") == [(42,)]
            assert built.outcome.last_replayed_commit_at is not None
            assert copy.query("SELECT pg_is_in_recovery()") == [(False,)]
            assert sorted(p.name for p in staged.iterdir()) == [s.name for s in segments]
        finally:
            tear_down(ctx, built.server)
        assert not (instances / "later").exists()
    finally:
        source.execute("DROP TABLE after_base", "shop")


def test_a_physical_backup_is_transferred_into_a_new_and_an_overwritten_database(
    box: RunningServer, source: PostgresServer, tmp_path: Path, instances: Path
) -> None:
    backup = _physical_backup(box, source, tmp_path / "store")
    request = {"backup": backup["name"], "database_map": {"shop": "shop_copy"}}
    plan = box.client.post("/api/v1/databases/prod/restores?dry_run=true", json=request)
    assert plan.status_code == 200, plan.text
    assert "temporary instance" in plan.json()["steps"][0]
    assert [(a["source"], a["target"], a["action"]) for a in plan.json()["artifacts"]] == [
        ("shop", "shop_copy", "create")
    ]
    try:
        created = _transfer(box, request)
        assert created["state"] == "succeeded", created["error"]
        assert [(s["target"], s["action"]) for s in created["summary"]] == [("shop_copy", "create")]
        assert pg_fingerprint(source, "shop_copy") == pg_fingerprint(source, "shop")
        assert list(instances.iterdir()) == []  # the temporary instance is gone

        source.execute("DELETE FROM sales.orders", "shop_copy")
        refused = box.client.post("/api/v1/databases/prod/restores", json=request)
        assert_problem(refused, 409, "target-not-empty")
        replaced = _transfer(box, {**request, "overwrite": True})
        assert replaced["state"] == "succeeded", replaced["error"]
        assert [s["action"] for s in replaced["summary"]] == ["overwrite"]
        assert pg_fingerprint(source, "shop_copy") == pg_fingerprint(source, "shop")
        assert list(instances.iterdir()) == []
        names = [row[0] for row in source.query("SELECT datname FROM pg_database")]
        assert not [name for name in names if name.startswith("shop_copy") and name != "shop_copy"]
    finally:
        source.execute("DROP DATABASE IF EXISTS shop_copy")


def _transfer(box: RunningServer, request: dict[str, Any]) -> dict[str, Any]:
    accepted = box.client.post("/api/v1/databases/prod/restores", json=request)
    assert accepted.status_code == 202, accepted.text
    return wait_for_restore(box, "prod", accepted.json()["name"])


def test_at_start_stopped_instances_start_again_and_half_made_ones_are_removed(
    tmp_path: Path, source: PostgresServer, instances: Path
) -> None:
    running, server = start_server(tmp_path / "data", instances_dir=instances)
    try:
        backup = _physical_backup(running, source, tmp_path / "store")
        port = _free_port()
        restore = _restore(running, backup["name"], "copy", port)
        assert restore["state"] == "succeeded", restore["error"]
        ctx = running.embedded.context
        with ctx.catalog.session() as session:
            row = managed_instances.find(session, "copy")
            assert row is not None
            session.expunge(row)
        managed_instances.server_of(ctx, row).stop()
        copy = _instance_server(source, port)
        with pytest.raises(psycopg.OperationalError):
            copy.query("SELECT 1")
    finally:
        stop_server(running, server)
    leftover = instances / f"{managed_instances.TRANSFER_PREFIX}0000"
    (leftover / "data").mkdir(parents=True)
    stranger = instances / "not-strongbox"
    stranger.mkdir()

    running, server = start_server(tmp_path / "data", instances_dir=instances)
    try:
        assert copy.query("SELECT count(*) FROM pg_database WHERE datname = 'shop'") == [(1,)]
        assert not leftover.exists()
        assert stranger.is_dir()  # not Strongbox's: left alone
        assert running.client.delete("/api/v1/databases/copy").status_code == 204
        assert not (instances / "copy").exists()
    finally:
        stop_server(running, server)
