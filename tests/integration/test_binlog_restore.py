"""Restores of a MariaDB database to a point in time, proven by marker rows: A, an older and a
newer logical backup, B, then the target T read from the server's clock (UTC), then C more
than a second later. A restore to T holds exactly A and B (into new databases, from the older
base, over the original); `latest` holds A, B and C; writes to other databases are not
replayed into the target; targets outside the windows, and across a purged binlog file, are
refused with the windows named. The Strongbox server of this module runs with
TZ=America/New_York: times are instants, whatever its zone."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.mariadb import MariaDBServer
from integration.bodies import folder_storage, mariadb_database
from integration.people import add_user, csrf_of, page_sign_in
from integration.pitr_steps import enable, reader_id, reader_pids, status, wait
from integration.problems import assert_problem
from integration.test_cli import cli
from integration.test_restore import wait_for_restore

pytestmark = pytest.mark.integration

NEW_YORK = "America/New_York"
DB = "maria"


@dataclass
class Scenario:
    box: RunningServer
    source: MariaDBServer
    old_base: dict[str, Any]
    new_base: dict[str, Any]
    a_at: datetime  # A's commit, before both bases
    t: datetime  # the target: the server's clock (UTC) after B committed
    c_at: datetime


def _now(source: MariaDBServer) -> datetime:
    """The server's clock, in UTC."""
    with source.connect() as conn, conn.cursor() as cursor:
        cursor.execute("SET time_zone = '+00:00'")
        cursor.execute("SELECT NOW(6)")
        found: datetime = cursor.fetchone()[0]  # type: ignore[index]
    return found.replace(tzinfo=UTC)


def _insert(source: MariaDBServer, database: str, label: str) -> datetime:
    source.execute(
        f"INSERT INTO {database}.marker (label, note) VALUES (%s, %s)",
        params=(label, f"row {label} of {database}"),
    )
    return _now(source)


def _insert_as_statement(source: MariaDBServer, database: str, label: str) -> None:
    """A change logged as an SQL statement (binlog_format STATEMENT), in its own database."""
    with source.connect(database) as conn, conn.cursor() as cursor:
        cursor.execute("SET SESSION binlog_format = 'STATEMENT'")
        cursor.execute(
            "INSERT INTO marker (label, note) VALUES (%s, %s)",
            (label, f"row {label} of {database}"),
        )


def _rows(source: MariaDBServer, database: str, labels: list[str] | None = None) -> list[Any]:
    """The marker rows (every column), by label; only `labels` when given."""
    rows = source.query(f"SELECT label, note, at FROM {database}.marker ORDER BY label")
    return [r for r in rows if labels is None or r[0] in labels]


def _labels(source: MariaDBServer, database: str) -> list[str]:
    return [r[0] for r in _rows(source, database)]


def _backup(box: RunningServer) -> dict[str, Any]:
    accepted = box.client.post(f"/api/v1/databases/{DB}/backups", json={"storage": "disk"})
    assert accepted.status_code == 202, accepted.text
    done = box.wait_for_backup(DB, accepted.json()["name"])
    assert done["state"] == "succeeded", done["error"]
    return done


@pytest.fixture(scope="module")
def scenario(
    mariadb_server_factory: Callable[..., MariaDBServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scenario]:
    source = mariadb_server_factory(binlog_format="ROW")
    for database in ("shop", "ledger", "other"):
        source.execute(f"CREATE DATABASE {database}")
        source.execute(
            f"CREATE TABLE {database}.marker (label varchar(20) PRIMARY KEY, note text,"
            " at datetime(6) DEFAULT NOW(6))"
        )
    zone = os.environ.get("TZ")
    os.environ["TZ"] = NEW_YORK
    time.tzset()
    folder = tmp_path_factory.mktemp("binlog-restore")
    box, server = start_server(folder / "data")
    try:
        box.client.post(
            "/api/v1/databases", json=mariadb_database(source, ["shop", "ledger"], name=DB)
        ).raise_for_status()
        box.client.post(
            "/api/v1/backup-storages", json=folder_storage(folder / "store")
        ).raise_for_status()
        assert enable(box, DB)["warnings"] == []  # binlog_format is ROW
        wait("streaming", lambda: status(box, DB)["state"] == "streaming")
        a_at = _insert(source, "shop", "A")
        _insert(source, "ledger", "L1")
        old_base = _backup(box)
        _insert(source, "ledger", "L2")  # between the bases: replayed from the older one
        new_base = _backup(box)
        _insert(source, "shop", "B")
        # The reader killed after B: it resumes without a hole or a duplicate.
        killed = wait("the reader", lambda: reader_pids(reader_id(box, DB)))[0]
        os.kill(killed, signal.SIGKILL)
        wait("a new reader", lambda: [p for p in reader_pids(reader_id(box, DB)) if p != killed])
        _insert_as_statement(source, "ledger", "L3")
        _insert(source, "other", "X")  # a database outside the backup
        t = _now(source)
        time.sleep(1.2)
        c_at = _insert(source, "shop", "C")
        _insert(source, "ledger", "L4")
        source.execute("FLUSH BINARY LOGS")  # C's file is stored whole at once

        def stored() -> bool:
            latest = status(box, DB)["latest_restorable_time"]
            return latest is not None and datetime.fromisoformat(latest) >= c_at.replace(
                microsecond=0
            )

        wait("C stored", stored)
        yield Scenario(box, source, old_base, new_base, a_at, t, c_at)
    finally:
        box.client.put(f"/api/v1/databases/{DB}/pitr", json={"enabled": False})
        stop_server(box, server)
        if zone is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = zone
        time.tzset()
        source.stop()


def _restore(s: Scenario, body: dict[str, Any]) -> dict[str, Any]:
    accepted = s.box.client.post(f"/api/v1/databases/{DB}/restores", json=body)
    assert accepted.status_code == 202, accepted.text
    return wait_for_restore(s.box, DB, accepted.json()["name"])


def _drop(s: Scenario, *names: str) -> None:
    for name in names:
        s.source.execute(f"DROP DATABASE IF EXISTS {name}")


def test_a_restore_to_t_into_new_databases_holds_a_and_b_with_the_server_in_new_york(
    scenario: Scenario,
) -> None:
    s = scenario
    assert time.localtime().tm_gmtoff in (-5 * 3600, -4 * 3600)  # the Strongbox server's zone
    mapping = {"shop": "shop_t", "ledger": "ledger_t"}
    try:
        done = _restore(s, {"point_in_time": {"time": s.t.isoformat()}, "database_map": mapping})
        assert done["state"] == "succeeded", done["error"]
        assert done["backup"] == s.new_base["name"]
        result = done["point_in_time"]
        assert result["base_backup"] == s.new_base["name"]
        assert result["target_reached"] is True
        assert datetime.fromisoformat(result["time"]) == s.t
        assert sorted((e["target"], e["action"]) for e in done["summary"]) == [
            ("ledger_t", "create"),
            ("shop_t", "create"),
        ]
        assert _labels(s.source, "shop_t") == ["A", "B"]
        assert _rows(s.source, "shop_t") == _rows(s.source, "shop", ["A", "B"])
        # The other database of the backup, from its own dump's position: L2 is in its dump
        # (not replayed twice), L3 replayed; nothing of `other` anywhere.
        assert _rows(s.source, "ledger_t") == _rows(s.source, "ledger", ["L1", "L2", "L3"])
        assert _labels(s.source, "other") == ["X"]
        assert _labels(s.source, "shop") == ["A", "B", "C"]  # the source is untouched
        # L3 was logged as a statement: the restore says what that means.
        warnings = {e["target"]: e["warnings"] for e in done["summary"]}
        assert warnings["shop_t"] == []
        assert len(warnings["ledger_t"]) == 1
        assert (
            "1 changes of ledger in the replayed binlog were logged as SQL statements"
            in (warnings["ledger_t"][0])
        )
    finally:
        _drop(s, "shop_t", "ledger_t")


def test_latest_holds_a_b_and_c(scenario: Scenario) -> None:
    s = scenario
    mapping = {"shop": "shop_latest", "ledger": "ledger_latest"}
    try:
        done = _restore(s, {"point_in_time": {"latest": True}, "database_map": mapping})
        assert done["state"] == "succeeded", done["error"]
        assert done["point_in_time"]["latest"] is True
        assert _rows(s.source, "shop_latest") == _rows(s.source, "shop", ["A", "B", "C"])
        assert _labels(s.source, "ledger_latest") == ["L1", "L2", "L3", "L4"]
    finally:
        _drop(s, "shop_latest", "ledger_latest")


def test_a_restore_from_the_older_base_replays_from_its_position(scenario: Scenario) -> None:
    s = scenario
    old = s.old_base["name"]
    mapping = {"shop": "shop_old", "ledger": "ledger_old"}
    try:
        pit = {"time": s.t.isoformat(), "base_backup": old}
        done = _restore(s, {"point_in_time": pit, "database_map": mapping})
        assert done["state"] == "succeeded", done["error"]
        assert done["backup"] == old
        assert done["point_in_time"]["base_backup"] == old
        assert _rows(s.source, "shop_old") == _rows(s.source, "shop", ["A", "B"])
        assert _labels(s.source, "ledger_old") == ["L1", "L2", "L3"]
    finally:
        _drop(s, "shop_old", "ledger_old")


def test_each_database_of_a_backup_records_its_own_binlog_position(scenario: Scenario) -> None:
    s = scenario
    backup = s.box.client.get(f"/api/v1/databases/{DB}/backups/{s.new_base['name']}").json()
    positions = {a["dbname"]: a["log_position"] for a in backup["artifacts"]}
    assert set(positions) == {"shop", "ledger"}
    assert all(p is not None and p["position"] > 4 for p in positions.values())
    assert backup["log_position"] == positions[backup["artifacts"][0]["dbname"]]


def test_the_dry_run_shows_the_base_the_binlog_the_positions_and_the_commands(
    scenario: Scenario,
) -> None:
    s = scenario
    body = {
        "point_in_time": {"time": s.t.isoformat()},
        "database_map": {"shop": "shop_plan", "ledger": "ledger_plan"},
    }
    answer = s.box.client.post(f"/api/v1/databases/{DB}/restores?dry_run=true", json=body)
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    pit = plan["point_in_time"]
    assert plan["backup"] == pit["base_backup"] == s.new_base["name"]
    assert pit["wal_file_count"] == len(pit["wal_files"]) >= 1
    assert pit["stops_at_target"] is True
    shop_start = s.new_base["artifacts"]
    assert set(pit["start_positions"]) == {"shop", "ledger"}
    recorded = {a["dbname"]: a["log_position"] for a in shop_start}
    for name, start in pit["start_positions"].items():
        assert start == f"{recorded[name]['file']}:{recorded[name]['position']}"
    stop = (s.t.replace(microsecond=0) + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert pit["stop_datetime"] == f"{stop} UTC"
    replays = [c for c in plan["commands"] if any("mariadb-binlog" in part for part in c)]
    assert len(replays) == 2
    for command in replays:
        assert f"--stop-datetime={stop}" in command
        assert "--disable-log-bin" in command
    assert "--rewrite-db=shop->shop_plan" in [p for c in replays for p in c]
    assert s.source.password not in answer.text
    assert s.box.client.get("/api/v1/databases/maria").status_code == 200
    assert "shop_plan" not in [r[0] for r in s.source.query("SHOW DATABASES")]

    printed = cli(
        s.box,
        "restore",
        DB,
        "--time",
        s.t.isoformat(),
        "--map",
        "shop=shop_plan",
        "--map",
        "ledger=ledger_plan",
        "--dry-run",
    )
    assert printed.returncode == 0, printed.stderr
    assert f"from base {s.new_base['name']}" in printed.stdout
    assert "binlog" in printed.stdout


def test_the_restore_dialog_offers_the_windows_and_plans_a_point_in_time(
    scenario: Scenario,
) -> None:
    s = scenario
    add_user(s.box, "dba", "admin")
    with page_sign_in(s.box, "dba") as page:
        dialog = page.get(f"/databases/{DB}/dialogs/restore?backup={s.new_base['name']}")
        assert dialog.status_code == 200, dialog.text
        assert f"from base {s.new_base['name']}" in dialog.text
        assert 'id="from-time" name="from" value="time" disabled' not in dialog.text
        form = {
            "csrf_token": csrf_of(page),
            "backup": s.new_base["name"],
            "from": "time",
            "latest": "on",
            "into": "new",
            "map.shop": "shop_web",
            "map.ledger": "ledger_web",
        }
        planned = page.post(f"/databases/{DB}/restores/plan", data=form)
    assert planned.status_code == 200, planned.text
    assert "data-pitr-plan" in planned.text
    assert s.new_base["name"] in planned.text


def test_targets_outside_the_windows_are_refused_with_the_windows_named(
    scenario: Scenario,
) -> None:
    s = scenario
    before = s.box.client.get(f"/api/v1/databases/{DB}/restores").json()
    mapping = {"shop": "no_shop", "ledger": "no_ledger"}

    def ask(point_in_time: dict[str, Any], **more: Any) -> Any:
        body = {"point_in_time": point_in_time, "database_map": mapping, **more}
        return s.box.client.post(f"/api/v1/databases/{DB}/restores", json=body)

    before_base = ask({"time": s.a_at.isoformat(), "base_backup": s.new_base["name"]})
    assert_problem(before_base, 409, "pitr-target-unreachable")
    detail = before_base.json()["detail"]
    assert f"is before backup {s.new_base['name']}" in detail
    assert "the valid windows are" in detail
    assert s.old_base["name"] in detail

    after = ask({"time": (s.c_at + timedelta(hours=1)).isoformat()})
    assert_problem(after, 409, "pitr-target-unreachable")
    assert "after the last stored event" in after.json()["detail"]
    assert "the valid windows are" in after.json()["detail"]

    assert_problem(ask({"latest": True, "base_backup": "nope"}), 409, "pitr-target-unreachable")
    assert ask({"time": "2026-11-29T10:15:03"}).status_code == 422
    instance = ask({"latest": True}, new_instance={"name": "x", "port": 5997})
    assert_problem(instance, 422, "new-instance-unsupported")

    assert s.box.client.get(f"/api/v1/databases/{DB}/restores").json() == before
    names = [r[0] for r in s.source.query("SHOW DATABASES")]
    assert "no_shop" not in names
    assert "no_ledger" not in names


def test_an_overwrite_of_the_original_to_t_holds_exactly_a_and_b(scenario: Scenario) -> None:
    """After the restores into new databases: it rewrites the source."""
    s = scenario
    done = _restore(s, {"point_in_time": {"time": s.t.isoformat()}, "overwrite": True})
    assert done["state"] == "succeeded", done["error"]
    assert {e["action"] for e in done["summary"]} == {"overwrite"}
    assert _labels(s.source, "shop") == ["A", "B"]
    assert _labels(s.source, "ledger") == ["L1", "L2", "L3"]
    assert _labels(s.source, "other") == ["X"]


def test_a_binlog_file_purged_before_it_was_uploaded_is_a_gap_a_restore_across_it_is_refused(
    scenario: Scenario,
) -> None:
    """Last in the module: it purges a binlog file the stream never stored."""
    s = scenario
    s.box.client.put(f"/api/v1/databases/{DB}/pitr", json={"enabled": False}).raise_for_status()
    s.source.execute("FLUSH BINARY LOGS")
    lost = str(s.source.query("SHOW MASTER STATUS")[0][0])
    _insert(s.source, "shop", "D")
    s.source.execute("FLUSH BINARY LOGS")
    now = str(s.source.query("SHOW MASTER STATUS")[0][0])

    def purge() -> bool:
        s.source.execute(f"PURGE BINARY LOGS TO '{now}'")
        return lost not in [row[0] for row in s.source.query("SHOW BINARY LOGS")]

    wait(f"{lost} purged", purge)
    enable(s.box, DB)
    e_at = _insert(s.source, "shop", "E")
    s.source.execute("FLUSH BINARY LOGS")

    def gap() -> list[Any]:
        return [g for g in status(s.box, DB)["gaps"] if lost in g["reason"]]

    gaps = wait("the gap", gap)
    assert "purged it before it was uploaded" in gaps[0]["reason"]
    latest = datetime.fromisoformat(status(s.box, DB)["latest_restorable_time"])
    assert latest < e_at

    mapping = {"shop": "gap_shop", "ledger": "gap_ledger"}
    across = s.box.client.post(
        f"/api/v1/databases/{DB}/restores",
        json={"point_in_time": {"time": e_at.isoformat()}, "database_map": mapping},
    )
    assert_problem(across, 409, "pitr-target-unreachable")
    detail = across.json()["detail"]
    assert "gap of the stored binlog" in detail
    assert lost in detail
    assert "the valid windows are" in detail
