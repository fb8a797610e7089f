"""Restores to a point in time, proven by marker rows: A, then the bases, then B, then the
target T read from the server's clock, then C a little over a second later. A restore to T
holds exactly A and B (into a new instance, through the logical transfer, from an older
base); `latest` holds A, B and C; targets outside the windows are refused with the windows
named and nothing is created; a deleted segment splits the window. The Strongbox server of
this module runs with TZ=America/New_York: times are instants, whatever its zone."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.postgres import PostgresServer
from integration.pitr_steps import enable, physical_backup, setup, status, wait
from integration.problems import assert_problem
from integration.test_cli import cli
from integration.test_restore import wait_for_restore
from strongbox.catalog.models import WalSegment

pytestmark = pytest.mark.integration

NEW_YORK = "America/New_York"


@dataclass
class Scenario:
    box: RunningServer
    source: PostgresServer
    store: Path
    instances: Path
    old_base: dict[str, Any]
    new_base: dict[str, Any]
    a_at: datetime  # A's commit, before both bases
    b_at: datetime
    t: datetime  # the target: the server's clock after B committed
    c_at: datetime


def _insert(source: PostgresServer, label: str) -> datetime:
    """Insert marker `label` (committed and flushed when this returns); its commit time."""
    source.execute(
        f"SET synchronous_commit = on; INSERT INTO marker (label) VALUES ('{label}')", "shop"
    )
    return source.query("SELECT clock_timestamp()")[0][0]


def _labels(server: PostgresServer, dbname: str) -> list[str]:
    return [row[0] for row in server.query("SELECT label FROM marker ORDER BY label", dbname)]


def _checksum(server: PostgresServer, dbname: str, labels: list[str]) -> str:
    """The ordered checksum of the marker rows named (all their columns)."""
    listed = ", ".join(f"'{label}'" for label in labels)
    rows = server.query(
        "SELECT md5(string_agg(m::text, '|' ORDER BY m.label)) FROM marker m "
        f"WHERE m.label IN ({listed})",
        dbname,
    )
    return str(rows[0][0])


@pytest.fixture(scope="module")
def scenario(
    pg_server_factory: Callable[..., PostgresServer],
    wal_fetch_python: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scenario]:
    source = pg_server_factory()
    source.execute("CREATE DATABASE shop")
    source.execute(
        "CREATE TABLE marker (label text PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())",
        "shop",
    )
    instances = Path(tempfile.mkdtemp(prefix="strongbox-instances-", dir="/tmp"))
    instances.chmod(0o755)
    zone = os.environ.get("TZ")
    os.environ["TZ"] = NEW_YORK
    time.tzset()
    folder = tmp_path_factory.mktemp("pitr-restore")
    box, server = start_server(
        folder / "data",
        instances_dir=instances,
        recovery_timeout_seconds=90,
        wal_fetch_python=wal_fetch_python,
    )
    try:
        store = folder / "store"
        setup(box, source, store, "prod")
        enable(box, "prod")
        wait("streaming", lambda: status(box, "prod")["state"] == "streaming")
        a_at = _insert(source, "A")
        old_base = physical_backup(box, "prod")
        new_base = physical_backup(box, "prod")
        b_at = _insert(source, "B")
        t = source.query("SELECT clock_timestamp()")[0][0]
        time.sleep(1.2)
        c_at = _insert(source, "C")

        def stored() -> bool:
            latest = status(box, "prod")["latest_restorable_time"]
            return latest is not None and datetime.fromisoformat(latest) >= c_at - timedelta(
                seconds=0.5
            )

        wait("C stored", stored)
        yield Scenario(box, source, store, instances, old_base, new_base, a_at, b_at, t, c_at)
    finally:
        box.client.put("/api/v1/databases/prod/pitr", json={"enabled": False})
        stop_server(box, server)
        if zone is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = zone
        time.tzset()
        shutil.rmtree(instances, ignore_errors=True)
        source.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _restore(s: Scenario, body: dict[str, Any]) -> dict[str, Any]:
    accepted = s.box.client.post("/api/v1/databases/prod/restores", json=body)
    assert accepted.status_code == 202, accepted.text
    return wait_for_restore(s.box, "prod", accepted.json()["name"])


def _into_new_instance(s: Scenario, name: str, point_in_time: dict[str, Any]) -> PostgresServer:
    port = _free_port()
    done = _restore(
        s, {"point_in_time": point_in_time, "new_instance": {"name": name, "port": port}}
    )
    assert done["state"] == "succeeded", done["error"]
    copy = PostgresServer(Path("/nonexistent"), s.source.bin_dir, port, s.source.password)
    copy.done = done  # type: ignore[attr-defined]
    return copy


def _remove(s: Scenario, name: str) -> None:
    assert s.box.client.delete(f"/api/v1/databases/{name}").status_code == 204


def test_a_restore_to_t_into_a_new_instance_holds_a_and_b_with_the_server_in_new_york(
    scenario: Scenario,
) -> None:
    s = scenario
    assert time.localtime().tm_gmtoff in (-5 * 3600, -4 * 3600)  # the server's zone
    started = time.monotonic()
    copy = _into_new_instance(s, "at-t", {"time": s.t.isoformat()})
    took = time.monotonic() - started
    try:
        assert _labels(copy, "shop") == ["A", "B"]
        assert _checksum(copy, "shop", ["A", "B"]) == _checksum(s.source, "shop", ["A", "B"])
        result = copy.done["point_in_time"]  # type: ignore[attr-defined]
        assert result["base_backup"] == s.new_base["name"]
        assert result["target_reached"] is True
        assert "recovery stopping before commit" in result["recovery_stopped"]
        replayed = datetime.fromisoformat(result["last_replayed_commit_at"])
        assert s.b_at - timedelta(seconds=1) <= replayed <= s.t
        assert datetime.fromisoformat(result["time"]) == s.t
        print(f"restore to a point in time into a new instance: {took:.1f} s")
    finally:
        _remove(s, "at-t")


def test_latest_holds_a_b_and_c(scenario: Scenario) -> None:
    s = scenario
    copy = _into_new_instance(s, "latest", {"latest": True})
    try:
        assert _labels(copy, "shop") == ["A", "B", "C"]
        assert _checksum(copy, "shop", ["A", "B", "C"]) == _checksum(
            s.source, "shop", ["A", "B", "C"]
        )
        result = copy.done["point_in_time"]  # type: ignore[attr-defined]
        assert result["latest"] is True
        assert result["target_reached"] is True
        assert datetime.fromisoformat(result["last_replayed_commit_at"]) > s.t
    finally:
        _remove(s, "latest")


def test_a_restore_to_t_through_the_logical_transfer_creates_a_database_with_a_and_b(
    scenario: Scenario,
) -> None:
    s = scenario
    try:
        done = _restore(
            s, {"point_in_time": {"time": s.t.isoformat()}, "database_map": {"shop": "shop_at_t"}}
        )
        assert done["state"] == "succeeded", done["error"]
        assert [(e["target"], e["action"]) for e in done["summary"]] == [("shop_at_t", "create")]
        assert done["point_in_time"]["target_reached"] is True
        assert _labels(s.source, "shop_at_t") == ["A", "B"]
        assert _checksum(s.source, "shop_at_t", ["A", "B"]) == _checksum(
            s.source, "shop", ["A", "B"]
        )
        assert _labels(s.source, "shop") == ["A", "B", "C"]  # the source is untouched
        assert list(s.instances.iterdir()) == []  # the temporary instance is gone
    finally:
        s.source.execute("DROP DATABASE IF EXISTS shop_at_t")


def test_a_restore_from_the_older_base_is_exact(scenario: Scenario) -> None:
    s = scenario
    old = s.old_base["name"]
    copy = _into_new_instance(s, "from-old", {"time": s.t.isoformat(), "base_backup": old})
    try:
        assert _labels(copy, "shop") == ["A", "B"]
        assert copy.done["point_in_time"]["base_backup"] == old  # type: ignore[attr-defined]
        assert copy.done["backup"] == old  # type: ignore[attr-defined]
    finally:
        _remove(s, "from-old")


def test_the_dry_run_shows_the_base_the_wal_the_target_and_the_commands(
    scenario: Scenario,
) -> None:
    s = scenario
    body = {"point_in_time": {"time": s.t.isoformat()}, "new_instance": {"name": "x", "port": 5999}}
    answer = s.box.client.post("/api/v1/databases/prod/restores?dry_run=true", json=body)
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    pit = plan["point_in_time"]
    assert plan["backup"] == pit["base_backup"] == s.new_base["name"]
    assert pit["wal_file_count"] == len(pit["wal_files"]) >= 1
    assert pit["wal_bytes"] > 0
    assert pit["stops_at_target"] is True
    assert any(line.startswith("recovery_target_time = ") for line in plan["settings"])
    assert any("wal-fetch" in line for line in plan["settings"] if "restore_command" in line)
    assert "recovery_target_action = 'promote'" in plan["settings"]
    assert s.source.password not in answer.text
    # The transfer's plan names the same base and WAL.
    transfer = {"point_in_time": {"time": s.t.isoformat()}, "database_map": {"shop": "shop_t"}}
    answer = s.box.client.post("/api/v1/databases/prod/restores?dry_run=true", json=transfer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["point_in_time"]["wal_files"] == pit["wal_files"]
    # The CLI prints the plan; bad combinations are one line and exit code 2.
    printed = cli(
        s.box, "restore", "prod", "--time", s.t.isoformat(), "--map", "shop=shop_t", "--dry-run"
    )
    assert printed.returncode == 0, printed.stderr
    assert f"from base {s.new_base['name']}" in printed.stdout
    for args in (
        ["--time", "2026-11-29T10:15:03"],
        ["--time", s.t.isoformat(), "--latest"],
        ["--latest", "--backup", s.old_base["name"]],
        ["--base", s.old_base["name"]],
    ):
        bad = cli(s.box, "restore", "prod", *args, "--map", "shop=x", "--dry-run")
        assert bad.returncode == 2, (args, bad.stdout, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_targets_outside_the_windows_are_refused_with_the_windows_named(
    scenario: Scenario,
) -> None:
    s = scenario
    before = s.box.client.get("/api/v1/databases/prod/restores").json()["items"]

    def ask(point_in_time: dict[str, Any], **more: Any) -> Any:
        body = {"point_in_time": point_in_time, "new_instance": {"name": "no", "port": 5998}}
        return s.box.client.post("/api/v1/databases/prod/restores", json={**body, **more})

    before_end = ask({"time": s.a_at.isoformat(), "base_backup": s.new_base["name"]})
    assert_problem(before_end, 409, "pitr-target-unreachable")
    detail = before_end.json()["detail"]
    assert "before the end of base" in detail
    assert "the valid windows are" in detail
    assert s.old_base["name"] in detail
    assert s.new_base["name"] in detail

    after = ask({"time": (s.c_at + timedelta(hours=1)).isoformat()})
    assert_problem(after, 409, "pitr-target-unreachable")
    assert "after the last stored commit" in after.json()["detail"]
    assert "the valid windows are" in after.json()["detail"]

    not_ready = ask({"latest": True, "base_backup": "nope"})
    assert_problem(not_ready, 409, "pitr-target-unreachable")

    no_offset = ask({"time": "2026-11-29T10:15:03"})
    assert no_offset.status_code == 422
    assert "needs a time zone" in no_offset.text
    both = ask({"time": s.t.isoformat(), "latest": True})
    assert both.status_code == 422
    assert "exactly one" in both.text
    twice = ask({"latest": True, "base_backup": s.old_base["name"]}, backup=s.new_base["name"])
    assert twice.status_code == 422
    assert "either backup or point_in_time.base_backup" in twice.text

    assert s.box.client.get("/api/v1/databases/prod/restores").json()["items"] == before
    assert list(s.instances.iterdir()) == []
    assert s.box.client.get("/api/v1/databases/no").status_code == 404


def test_a_deleted_segment_splits_the_window_a_restore_across_it_is_refused_one_before_works(
    scenario: Scenario,
) -> None:
    """Last in the module: it deletes a stored segment."""
    s = scenario
    s.source.execute("SELECT pg_switch_wal()")
    d_at = _insert(s.source, "D")
    doomed = s.source.query("SELECT pg_walfile_name(pg_current_wal_insert_lsn())")[0][0]
    s.source.execute("SELECT pg_switch_wal()")
    e_at = _insert(s.source, "E")
    s.source.execute("SELECT pg_switch_wal()")

    def e_stored() -> bool:
        latest = status(s.box, "prod")["latest_restorable_time"]
        return latest is not None and datetime.fromisoformat(latest) >= e_at - timedelta(
            seconds=0.5
        )

    wait("E stored", e_stored)

    def doomed_whole() -> bool:
        with s.box.embedded.context.catalog.session() as session:
            names = session.scalars(select(WalSegment.name).where(WalSegment.database == "prod"))
            return doomed in set(names)

    # The whole segment, not only a partial upload of it, before its objects are deleted.
    wait("D's segment stored whole", doomed_whole)
    # The stream is stopped first: a receiver that resumes from an older position streams the
    # segment again and stores it again, which heals the gap this test is about.
    stopped = s.box.client.put("/api/v1/databases/prod/pitr", json={"enabled": False})
    assert stopped.status_code == 200, stopped.text
    # The segment, and its partial uploads if any (a partial stands for a missing segment).
    held = list((s.store / "prod" / "pitr" / "wal").glob(f"{doomed}*"))
    assert held
    for path in held:
        path.unlink()
    found = status(s.box, "prod")
    assert [doomed in g["reason"] for g in found["gaps"]] == [True]
    assert datetime.fromisoformat(found["latest_restorable_time"]) < e_at

    for target, said in ((d_at, "falls in a gap"), (e_at, "lies beyond a gap")):
        across = s.box.client.post(
            "/api/v1/databases/prod/restores",
            json={"point_in_time": {"time": target.isoformat()}, "database_map": {"shop": "e"}},
        )
        assert_problem(across, 409, "pitr-target-unreachable")
        assert said in across.json()["detail"]
        assert doomed in across.json()["detail"]

    copy = _into_new_instance(s, "before-gap", {"latest": True})
    try:
        assert _labels(copy, "shop") == ["A", "B", "C"]
    finally:
        _remove(s, "before-gap")
