"""Schedules through the API: words, next runs, warnings, edits, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from integration.problems import assert_problem, fields_of

pytestmark = pytest.mark.integration


@pytest.fixture
def prod(strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path) -> RunningServer:
    strongbox.client.post(
        "/api/v1/databases",
        json={
            "name": "prod",
            "engine": "postgresql",
            "host": pg_server.host,
            "port": pg_server.port,
            "username": pg_server.superuser,
            "password": pg_server.password,
            "databases": ["postgres"],
            "production_hours": {
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "start": "08:00",
                "end": "20:00",
                "timezone": "Europe/Berlin",
            },
        },
    ).raise_for_status()
    strongbox.client.post(
        "/api/v1/backup-storages",
        json={"type": "filesystem", "name": "disk", "path": str(tmp_path / "b")},
    ).raise_for_status()
    return strongbox


def add_history(running: RunningServer, minutes: int) -> None:
    """Three successful backups of `prod` that took `minutes` each (the estimate's input)."""
    from strongbox.catalog.models import Backup

    ctx = running.embedded.context
    with ctx.catalog.session() as session:
        for n in range(3):
            started = datetime(2026, 1, 1 + n, 2, 0, tzinfo=UTC)
            session.add(
                Backup(
                    name=f"old-{n}",
                    database="prod",
                    storage="disk",
                    method="logical",
                    trigger="manual",
                    state="succeeded",
                    created_at=started,
                    started_at=started,
                    finished_at=started + timedelta(minutes=minutes),
                    progress_bytes=0,
                    artifacts=[],
                )
            )


def create(running: RunningServer, **body: Any) -> Any:
    return running.client.post("/api/v1/databases/prod/schedules", json={"storage": "disk", **body})


def test_a_daily_schedule_reads_in_words_with_its_next_runs(prod: RunningServer) -> None:
    response = create(
        prod, name="nightly", frequency={"every": "day", "time": "02:00"}, timezone="Europe/Berlin"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["description"] == "Every day at 02:00 (Europe/Berlin)"
    assert body["cron"] == "0 2 * * *"
    assert len(body["next_runs"]) == 5
    # 02:00 in Berlin is 01:00 or 00:00 UTC depending on daylight saving time.
    assert all(t[11:16] in ("00:00", "01:00") for t in body["next_runs"])
    assert body["last_run"] is None
    assert body["warnings"] == []
    assert body["retention_copies"] == 0
    assert body["enabled"] is True
    assert body["on_overlap"] == "skip"
    # A small database without history: its size at 20 MB/s is under the floor.
    assert body["estimated_duration"] == {"seconds": 60.0, "basis": "the one-minute minimum"}
    listed = prod.client.get("/api/v1/databases/prod/schedules").json()["items"]
    assert [s["name"] for s in listed] == ["nightly"]


def test_every_frequency_shape_and_a_cron_line(prod: RunningServer) -> None:
    shapes = [
        ({"every": "hour", "minute": 15}, "15 * * * *", "Every hour at minute 15 (UTC)"),
        (
            {"every": "week", "weekday": "sun", "time": "03:30"},
            "30 3 * * 0",
            "Every week on Sunday at 03:30 (UTC)",
        ),
        (
            {"every": "month", "day": 1, "time": "04:00"},
            "0 4 1 * *",
            "Every month on day 1 at 04:00 (UTC)",
        ),
    ]
    for frequency, cron, words in shapes:
        body = create(prod, frequency=frequency).json()
        assert body["cron"] == cron
        assert body["description"] == words
        assert body["name"].startswith("schedule-")
    cron_body = create(prod, cron="*/30 1-5 * * 1-5").json()
    assert cron_body["frequency"] is None
    assert cron_body["description"].endswith("(UTC)")


def test_production_hours_and_overlaps_are_warned_about_and_strict_refuses(
    prod: RunningServer,
) -> None:
    busy = create(
        prod, name="midday", frequency={"every": "day", "time": "12:00"}, timezone="Europe/Berlin"
    )
    assert busy.status_code == 201
    codes = [w["code"] for w in busy.json()["warnings"]]
    assert codes == ["production_hours"]
    warning = busy.json()["warnings"][0]
    assert warning["times"]
    assert "estimated to take 1 min (based on the one-minute minimum)" in warning["message"]

    add_history(prod, minutes=5)  # backups of prod took five minutes
    tight = create(prod, name="tight", cron="*/2 * * * *").json()
    assert tight["estimated_duration"]["seconds"] == 300
    previous = next(w for w in tight["warnings"] if w["code"] == "overlap_previous_run")
    assert "last 3 successful backups" in previous["message"]
    assert len(previous["times"]) == 2

    clash = create(prod, name="clash", cron="0 11 * * *", timezone="UTC", storage="disk")
    assert "overlap_other_schedule" in {w["code"] for w in clash.json()["warnings"]}

    strict = prod.client.post(
        "/api/v1/databases/prod/schedules",
        params={"strict": "true"},
        json={
            "storage": "disk",
            "name": "strict-one",
            "frequency": {"every": "day", "time": "13:00"},
            "timezone": "Europe/Berlin",
        },
    )
    assert_problem(strict, 409, "schedule-warnings")
    assert prod.client.get("/api/v1/databases/prod/schedules/strict-one").status_code == 404


def test_dry_run_answers_the_would_be_schedule_and_saves_nothing(prod: RunningServer) -> None:
    response = prod.client.post(
        "/api/v1/databases/prod/schedules",
        params={"dry_run": "true"},
        json={"storage": "disk", "name": "preview", "frequency": {"every": "day", "time": "02:00"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "Every day at 02:00 (UTC)"
    assert len(response.json()["next_runs"]) == 5
    assert prod.client.get("/api/v1/databases/prod/schedules").json()["items"] == []


def test_patch_edits_and_shows_the_new_next_runs_and_pause_clears_them(prod: RunningServer) -> None:
    create(prod, name="nightly", frequency={"every": "day", "time": "02:00"})
    edited = prod.client.patch(
        "/api/v1/databases/prod/schedules/nightly",
        json={
            "frequency": {"every": "day", "time": "03:15"},
            "timezone": "America/New_York",
            "retention_copies": 7,
        },
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["description"] == "Every day at 03:15 (America/New_York)"
    assert body["retention_copies"] == 7
    assert all(t[14:16] == "15" for t in body["next_runs"])
    to_cron = prod.client.patch(
        "/api/v1/databases/prod/schedules/nightly", json={"cron": "5 4 * * *"}
    )
    assert to_cron.json()["frequency"] is None
    paused = prod.client.patch("/api/v1/databases/prod/schedules/nightly", json={"enabled": False})
    assert paused.json()["enabled"] is False
    assert paused.json()["next_runs"] == []
    resumed = prod.client.patch("/api/v1/databases/prod/schedules/nightly", json={"enabled": True})
    assert len(resumed.json()["next_runs"]) == 5
    # A dry-run edit changes nothing.
    preview = prod.client.patch(
        "/api/v1/databases/prod/schedules/nightly",
        params={"dry_run": "true"},
        json={"cron": "0 9 * * *"},
    )
    assert preview.json()["cron"] == "0 9 * * *"
    assert prod.client.get("/api/v1/databases/prod/schedules/nightly").json()["cron"] == "5 4 * * *"
    assert prod.client.delete("/api/v1/databases/prod/schedules/nightly").status_code == 204
    assert_problem(prod.client.get("/api/v1/databases/prod/schedules/nightly"), 404)


def test_a_twin_schedule_is_a_409_naming_the_first(prod: RunningServer) -> None:
    create(prod, name="first", frequency={"every": "day", "time": "02:00"})
    twin = create(prod, name="second", cron="0 2 * * *")
    problem = assert_problem(twin, 409, "schedule-duplicate")
    assert "first" in problem["detail"]
    assert_problem(create(prod, name="first", cron="0 5 * * *"), 409, "name-taken")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"frequency": {"every": "day", "time": "02:00"}, "timezone": "Mars/Olympus"},
            "body.timezone",
        ),
        ({"frequency": {"every": "day", "time": "25:00"}}, "body.frequency.time"),
        (
            {"frequency": {"every": "week", "weekday": "funday", "time": "02:00"}},
            "body.frequency.weekday",
        ),
        ({"frequency": {"every": "month", "day": 32, "time": "02:00"}}, "body.frequency.day"),
        ({"frequency": {"every": "hour", "minute": 60}}, "body.frequency.minute"),
        ({"frequency": {"every": "fortnight"}}, "body.frequency.every"),
        ({"cron": "0 2 * * * *"}, "body.cron"),
        ({"cron": "0 2 * *"}, "body.cron"),
        ({"frequency": {"every": "day", "time": "02:00"}, "storage": "nowhere"}, "body.storage"),
        (
            {"frequency": {"every": "day", "time": "02:00"}, "retention_copies": -1},
            "body.retention_copies",
        ),
        (
            {"frequency": {"every": "day", "time": "02:00"}, "on_overlap": "panic"},
            "body.on_overlap",
        ),
        ({"frequency": {"every": "day", "time": "02:00"}, "name": "Bad Name"}, "body.name"),
        ({}, "body"),
    ],
)
def test_bad_schedule_input_names_the_field(
    prod: RunningServer, body: dict[str, Any], field: str
) -> None:
    response = prod.client.post(
        "/api/v1/databases/prod/schedules", json={"storage": "disk", **body}
    )
    assert 400 <= response.status_code < 500
    problem = assert_problem(response, response.status_code)
    assert field in fields_of(problem), problem


def test_the_six_field_cron_message_says_five_are_needed(prod: RunningServer) -> None:
    problem = assert_problem(create(prod, cron="0 2 * * * *"), 422)
    assert "5" in problem["detail"]


def test_storages_and_databases_in_use_by_a_schedule_are_not_removed(prod: RunningServer) -> None:
    create(prod, name="nightly", frequency={"every": "day", "time": "02:00"})
    storage = assert_problem(prod.client.delete("/api/v1/backup-storages/disk"), 409)
    assert "prod/nightly" in storage["detail"]
    forced = prod.client.delete("/api/v1/backup-storages/disk", params={"force": "true"})
    assert_problem(forced, 409, "storage-in-use")
    database = assert_problem(prod.client.delete("/api/v1/databases/prod"), 409)
    assert "nightly" in database["detail"]
    assert prod.client.delete("/api/v1/databases/prod/schedules/nightly").status_code == 204
    assert prod.client.delete("/api/v1/databases/prod").status_code == 204
    assert prod.client.delete("/api/v1/backup-storages/disk").status_code == 204
