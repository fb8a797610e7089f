"""The `strongbox` command against a real server: tables for people, JSON for scripts, one line
and exit code 2 for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from integration.bodies import postgres_database

pytestmark = pytest.mark.integration

STRONGBOX = [sys.executable, "-m", "strongbox"]


def cli(running: RunningServer | None, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("STRONGBOX_")}
    if running is not None:
        environ.update(STRONGBOX_URL=running.url, STRONGBOX_TOKEN=running.token)
    environ.update(env)
    environ["COLUMNS"] = "200"
    return subprocess.run(
        [*STRONGBOX, *args],
        capture_output=True,
        text=True,
        env=environ,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("strongbox: error: ")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def json_of(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_storage_db_and_backup_commands_end_to_end(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    pg_server.create_database("cli_app")
    pg_server.execute(
        "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000)", "cli_app"
    )
    folder = tmp_path / "backups"

    added = cli(strongbox, "storage", "add", "disk", "--type", "filesystem", "--path", str(folder))
    assert added.returncode == 0, added.stderr
    assert "disk" in added.stdout
    assert [s["name"] for s in json_of(cli(strongbox, "storage", "list", "--json"))] == ["disk"]
    edited = json_of(cli(strongbox, "storage", "edit", "disk", "--description", "local", "--json"))
    assert edited["description"] == "local"

    db = cli(
        strongbox,
        "db",
        "add",
        "prod",
        "--engine",
        "postgresql",
        "--host",
        pg_server.host,
        "--port",
        str(pg_server.port),
        "--username",
        pg_server.superuser,
        "--database",
        "cli_app",
        STRONGBOX_DB_PASSWORD=pg_server.password,
    )
    assert db.returncode == 0, db.stderr
    assert pg_server.password not in db.stdout
    listed = cli(strongbox, "db", "list")
    assert "prod" in listed.stdout
    assert "15." in listed.stdout

    taken = cli(
        strongbox, "backup", "create", "prod", "--storage", "disk", "--name", "b1", "--wait"
    )
    assert taken.returncode == 0, taken.stderr
    assert "succeeded" in taken.stdout
    shown = json_of(cli(strongbox, "backup", "show", "prod", "b1", "--json"))
    assert shown["state"] == "succeeded"
    assert (folder / "prod" / "b1" / "cli_app.pgdump.zst").is_file()
    table = cli(strongbox, "backup", "list", "prod")
    assert "b1" in table.stdout
    assert "manual" in table.stdout

    in_use = cli(strongbox, "storage", "remove", "disk")
    assert_one_line_error(in_use, 2, "b1")

    deleted = cli(strongbox, "backup", "delete", "prod", "b1")
    assert deleted.returncode == 0, deleted.stderr
    assert json_of(cli(strongbox, "backup", "list", "prod", "--json")) == []
    assert cli(strongbox, "storage", "remove", "disk").returncode == 0
    assert cli(strongbox, "db", "remove", "prod").returncode == 0
    pg_server.execute("DROP DATABASE cli_app")


def test_a_failed_backup_with_wait_exits_1_with_the_reason(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    pg_server.create_database("cli_gone")
    strongbox.client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, ["cli_gone"]),
    ).raise_for_status()
    strongbox.client.post(
        "/api/v1/backup-storages",
        json={"type": "filesystem", "name": "disk", "path": str(tmp_path / "b")},
    ).raise_for_status()
    pg_server.execute("DROP DATABASE cli_gone")  # the backup will find it missing
    result = cli(strongbox, "backup", "create", "prod", "--storage", "disk", "--wait")
    assert result.returncode == 1
    assert "failed" in result.stderr
    assert "cli_gone" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["backup", "create", "prod", "--storage", "disk", "--name", "Bad_Name"], ["name"]),
        (["storage", "add", "x", "--type", "ftp"], ["ftp"]),
        (["storage", "add", "x", "--type", "s3"], ["--endpoint-url"]),
        (["storage", "show", "nope"], ["nope"]),
        (["db", "show", "ghost"], ["ghost", "`strongbox db list`", "GET /api/v1/databases"]),
        (["backup", "list", "ghost"], ["ghost"]),
        (["backup", "create"], ["database"]),
        (["db", "list", "--bogus"], ["--bogus"]),
        (["backup", "cancel", "ghost", "b"], ["ghost"]),
        (["restore", "cancel", "ghost"], ["strongbox restore cancel DB NAME"]),
        (["restore", "cancel", "ghost", "r"], ["ghost"]),
        (["worker", "--queues", "Near DC"], ["--queues", "Near DC"]),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    strongbox: RunningServer, args: list[str], words: list[str]
) -> None:
    assert_one_line_error(cli(strongbox, *args), 2, *words)


def test_a_wrong_token_says_how_to_fix_it(strongbox: RunningServer) -> None:
    result = cli(None, "db", "list", STRONGBOX_URL=strongbox.url, STRONGBOX_TOKEN="wrong")
    assert_one_line_error(result, 2, "STRONGBOX_TOKEN")


def test_an_unreachable_server_is_one_line_and_exit_code_1(port: int) -> None:
    result = cli(None, "db", "list", STRONGBOX_URL=f"http://127.0.0.1:{port}")
    assert_one_line_error(result, 1, "STRONGBOX_URL")


def test_restore_commands_plan_run_and_list(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    pg_server.create_database("cli_src")
    pg_server.execute("CREATE TABLE t AS SELECT generate_series(1, 500) AS id", "cli_src")
    folder = tmp_path / "backups"
    strongbox.client.post(
        "/api/v1/backup-storages", json={"type": "filesystem", "name": "disk", "path": str(folder)}
    ).raise_for_status()
    strongbox.client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, ["cli_src"]),
    ).raise_for_status()
    taken = cli(
        strongbox, "backup", "create", "prod", "--storage", "disk", "--name", "b1", "--wait"
    )
    assert taken.returncode == 0, taken.stderr

    plan = cli(
        strongbox, "restore", "prod", "--backup", "b1", "--map", "cli_src=cli_dst", "--dry-run"
    )
    assert plan.returncode == 0, plan.stderr
    assert "create database cli_dst" in plan.stdout
    assert "pg_restore" in plan.stdout
    assert pg_server.password not in plan.stdout
    assert cli(strongbox, "restore", "list", "prod", "--json").stdout.strip() == "[]"

    done = cli(
        strongbox,
        "restore",
        "prod",
        "--backup",
        "b1",
        "--map",
        "cli_src=cli_dst",
        "--exact-counts",
        "--wait",
    )
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout
    assert pg_server.query("SELECT count(*) FROM t", "cli_dst")[0][0] == 500
    listed = json_of(cli(strongbox, "restore", "list", "prod", "--json"))
    assert listed[0]["state"] == "succeeded"
    assert listed[0]["summary"][0]["rows"] == 500
    assert (listed[0]["exact_counts"], listed[0]["summary"][0]["rows_estimated"]) == (True, False)

    refused = cli(strongbox, "restore", "prod", "--backup", "b1", "--map", "cli_src=cli_dst")
    assert_one_line_error(refused, 2, "cli_dst", "overwrite")
    bad_map = cli(strongbox, "restore", "prod", "--backup", "b1", "--map", "nonsense")
    assert_one_line_error(bad_map, 2, "--map")
    logical = cli(
        strongbox, "restore", "prod", "--backup", "b1", "--new-instance", "copy", "--port", "6543"
    )
    assert_one_line_error(logical, 2, "physical")
    no_port = cli(strongbox, "restore", "prod", "--backup", "b1", "--new-instance", "copy")
    assert_one_line_error(no_port, 2, "--port")
    imported = json_of(cli(strongbox, "backup", "import", "--storage", "disk", "--json"))
    assert imported["skipped"] == ["prod/b1"]
    pg_server.execute("DROP DATABASE cli_dst")
    pg_server.execute("DROP DATABASE cli_src")


def test_schedule_commands_create_list_edit_pause_and_remove(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    strongbox.client.post(
        "/api/v1/backup-storages",
        json={"type": "filesystem", "name": "disk", "path": str(tmp_path / "b")},
    ).raise_for_status()
    strongbox.client.post(
        "/api/v1/databases",
        json=postgres_database(pg_server, ["postgres"]),
    ).raise_for_status()
    preview = cli(
        strongbox, "schedule", "create", "prod", "--storage", "disk", "--every", "day",
        "--at", "02:00", "--tz", "Europe/Berlin", "--name", "nightly", "--dry-run",
    )  # fmt: skip
    assert preview.returncode == 0, preview.stderr
    assert "Dry run" in preview.stdout
    assert "Every day at 02:00 (Europe/Berlin)" in preview.stdout
    assert json_of(cli(strongbox, "schedule", "list", "prod", "--json")) == []

    created = cli(
        strongbox, "schedule", "create", "prod", "--storage", "disk", "--every", "day",
        "--at", "02:00", "--tz", "Europe/Berlin", "--keep", "7", "--name", "nightly",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    weekly = cli(
        strongbox, "schedule", "create", "prod", "--storage", "disk", "--every", "week",
        "--on", "sun", "--at", "03:30", "--name", "weekly", "--json",
    )  # fmt: skip
    assert json_of(weekly)["cron"] == "30 3 * * 0"
    hourly = cli(
        strongbox, "schedule", "create", "prod", "--storage", "disk", "--every", "hour",
        "--minute", "15", "--name", "hourly", "--json",
    )  # fmt: skip
    assert json_of(hourly)["description"] == "Every hour at minute 15 (UTC)"
    monthly = cli(
        strongbox, "schedule", "create", "prod", "--storage", "disk", "--every", "month",
        "--day", "1", "--at", "04:00", "--name", "monthly", "--json",
    )  # fmt: skip
    assert json_of(monthly)["cron"] == "0 4 1 * *"
    by_cron = cli(
        strongbox,
        "schedule",
        "create",
        "prod",
        "--storage",
        "disk",
        "--cron",
        "5 1 * * 1-5",
        "--name",
        "weekdays",
        "--json",
    )
    assert json_of(by_cron)["cron"] == "5 1 * * 1-5"

    table = cli(strongbox, "schedule", "list", "prod")
    assert "Every day at 02:00 (Europe/Berlin)" in table.stdout
    assert "nightly" in table.stdout

    edited = json_of(
        cli(
            strongbox,
            "schedule",
            "edit",
            "prod",
            "nightly",
            "--every",
            "day",
            "--at",
            "01:30",
            "--json",
        )
    )
    assert edited["description"] == "Every day at 01:30 (Europe/Berlin)"
    assert edited["retention_copies"] == 7
    assert cli(strongbox, "schedule", "pause", "prod", "nightly").returncode == 0
    assert (
        json_of(cli(strongbox, "schedule", "show", "prod", "nightly", "--json"))["enabled"] is False
    )
    resumed = cli(strongbox, "schedule", "resume", "prod", "nightly")
    assert "next run" in resumed.stdout
    assert json_of(cli(strongbox, "schedule", "runs", "prod", "nightly", "--json")) == []
    assert cli(strongbox, "schedule", "remove", "prod", "nightly").returncode == 0

    bad_time = cli(
        strongbox,
        "schedule",
        "create",
        "prod",
        "--storage",
        "disk",
        "--every",
        "day",
        "--at",
        "25:00",
    )
    assert_one_line_error(bad_time, 2, "25:00")
    bad_zone = cli(
        strongbox,
        "schedule",
        "create",
        "prod",
        "--storage",
        "disk",
        "--every",
        "day",
        "--at",
        "02:00",
        "--tz",
        "Nowhere/City",
    )
    assert_one_line_error(bad_zone, 2, "Nowhere/City")
    no_timing = cli(strongbox, "schedule", "create", "prod", "--storage", "disk")
    assert_one_line_error(no_timing, 2, "--every")


def test_pitr_commands_enable_show_and_disable_a_stream(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    pg_server.create_database("cli_pitr")
    assert (
        cli(
            strongbox, "storage", "add", "disk", "--type", "filesystem", "--path", str(tmp_path)
        ).returncode
        == 0
    )
    body = postgres_database(pg_server, ["cli_pitr"], name="clipitr")
    strongbox.client.post("/api/v1/databases", json=body).raise_for_status()

    bad = cli(strongbox, "pitr", "enable", "clipitr", "--storage", "disk", "--interval", "5")
    assert_one_line_error(bad, 2, "upload_interval_seconds")
    enabled = json_of(
        cli(
            strongbox,
            "pitr",
            "enable",
            "clipitr",
            "--storage",
            "disk",
            "--interval",
            "30",
            "--json",
        )
    )
    assert (enabled["enabled"], enabled["upload_interval_seconds"]) == (True, 30)
    table = cli(strongbox, "pitr", "status", "clipitr")
    assert table.returncode == 0, table.stderr
    assert "upload_interval_seconds" in table.stdout
    assert "no window yet" in table.stdout
    take = ["backup", "create", "clipitr", "--storage", "disk", "--method", "physical"]
    base = json_of(cli(strongbox, *take, "--wait", "--json"))
    assert (base["method"], base["state"], base["pitr_base"]) == ("physical", "succeeded", True)
    off = json_of(cli(strongbox, "pitr", "disable", "clipitr", "--json"))
    assert off["state"] == "disabled"
    slots = pg_server.query(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'strongbox_clipitr'"
    )
    assert slots == [(0,)]


def test_db_limits_are_set_changed_and_removed_with_flags(
    strongbox: RunningServer, pg_standby_pair: tuple[PostgresServer, PostgresServer]
) -> None:
    primary, standby = pg_standby_pair
    base = ["--engine", "postgresql", "--host", primary.host, "--port", str(primary.port)]
    added = json_of(
        cli(
            strongbox,
            "db",
            "add",
            "prod",
            *base,
            "--username",
            primary.superuser,
            "--max-rate-mb-per-s",
            "25",
            "--lock-timeout-seconds",
            "15",
            "--backup-source",
            f"{standby.host}:{standby.port}",
            "--json",
            STRONGBOX_DB_PASSWORD=primary.password,
        )
    )
    assert added["max_rate_mb_per_s"] == 25
    assert added["lock_timeout_seconds"] == 15
    assert added["worker_queue"] is None
    pinned = json_of(cli(strongbox, "db", "edit", "prod", "--worker-queue", "dc-east", "--json"))
    assert pinned["worker_queue"] == "dc-east"
    unpinned = json_of(cli(strongbox, "db", "edit", "prod", "--no-worker-queue", "--json"))
    assert unpinned["worker_queue"] is None
    assert added["backup_source"]["port"] == standby.port

    edited = json_of(
        cli(strongbox, "db", "edit", "prod", "--no-max-rate", "--no-backup-source", "--json")
    )
    assert edited["max_rate_mb_per_s"] is None
    assert edited["backup_source"] is None
    assert edited["lock_timeout_seconds"] == 15

    not_a_standby = cli(
        strongbox, "db", "edit", "prod", "--backup-source", f"{primary.host}:{primary.port}"
    )
    assert_one_line_error(not_a_standby, 2, "not a standby")
    assert_one_line_error(
        cli(strongbox, "db", "edit", "prod", "--backup-source", "standby"), 2, "HOST:PORT"
    )
    assert_one_line_error(
        cli(strongbox, "db", "edit", "prod", "--max-rate-mb-per-s", "0"), 2, "max_rate_mb_per_s"
    )
