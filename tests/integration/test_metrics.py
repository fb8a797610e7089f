"""/metrics, /healthz and /readyz: the figures scraped are the catalog's, behind a token."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, postgres_database
from integration.people import client_with, service_token
from strongbox.catalog.models import Backup, PitrStream, Schedule, ScheduleRun

pytestmark = pytest.mark.integration

METRICS_TOKEN = "metrics-token-0123456789abcdef"


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


@pytest.fixture
def little(pg_server: PostgresServer) -> Iterator[str]:
    pg_server.create_database("m_app")
    pg_server.execute("CREATE TABLE t AS SELECT generate_series(1, 5000) AS id", "m_app")
    yield "m_app"
    pg_server.execute("DROP DATABASE IF EXISTS m_app WITH (FORCE)")


DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"


def test_the_grafana_dashboard_uses_only_metrics_that_exist(strongbox: RunningServer) -> None:
    used = set(re.findall(r"strongbox_[a-z_]+", DASHBOARD.read_text()))
    assert len(used) >= 12
    exposed = {
        family.name
        for family in text_string_to_metric_families(strongbox.client.get("/metrics").text)
    }
    assert used <= exposed, used - exposed


def scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], metric: str, **labels: str
) -> float:
    return samples[(f"strongbox_{metric}", tuple(sorted(labels.items())))]


def test_metrics_after_a_success_and_a_failure_match_the_catalog(
    strongbox: RunningServer, pg_server: PostgresServer, little: str, tmp_path: Path
) -> None:
    client = strongbox.client
    client.post("/api/v1/backup-storages", json=folder_storage(tmp_path / "b")).raise_for_status()
    client.post("/api/v1/databases", json=postgres_database(pg_server, [little])).raise_for_status()
    client.post("/api/v1/databases/prod/backups", json={"storage": "disk", "name": "good"})
    good = strongbox.wait_for_backup("prod", "good")
    assert good["state"] == "succeeded", good
    pg_server.execute(f"DROP DATABASE {little} WITH (FORCE)")
    client.post("/api/v1/databases/prod/backups", json={"storage": "disk", "name": "bad"})
    assert strongbox.wait_for_backup("prod", "bad")["state"] == "failed"

    # Rows the scheduler, a worker and the WAL stream would have written.
    ctx = strongbox.embedded.context
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    with ctx.catalog.session() as session:
        schedule = Schedule(
            database="prod",
            name="nightly",
            storage="disk",
            cron="0 2 * * *",
            frequency=None,
            timezone="UTC",
            retention_copies=3,
            enabled=False,
            on_overlap="skip",
            slots_since=now,
            created_at=now,
            updated_at=now,
        )
        session.add(schedule)
        session.flush()
        slots = [
            ("started", "good"),
            ("started", "bad"),
            ("skipped", None),
            ("missed", None),
            ("missed", None),
        ]
        for i, (state, backup) in enumerate(slots):
            session.add(
                ScheduleRun(
                    schedule_id=schedule.id,
                    slot_at=now - timedelta(days=i),
                    state=state,
                    backup=backup,
                    created_at=now,
                )
            )
        session.add(
            Backup(
                name="busy",
                database="other",
                storage="disk",
                method="logical",
                trigger="manual",
                state="running",
                created_at=now,
                started_at=now,
                heartbeat_at=now - timedelta(seconds=42),
                progress_bytes=0,
                artifacts=[],
            )
        )
        session.add(
            PitrStream(
                database="prod",
                enabled=True,
                storage="disk",
                upload_interval_seconds=60,
                state="lagging",
                lag_seconds=17.5,
                last_upload_at=now - timedelta(seconds=20),
                created_at=now,
                updated_at=now,
            )
        )
    ctx.clock = FixedClock(now)

    samples = scrape(client)
    assert value(samples, "database_info", database="prod", engine="postgresql") == 1
    assert value(samples, "backups", database="prod", state="succeeded") == 1
    assert value(samples, "backups", database="prod", state="failed") == 1
    finished = datetime.fromisoformat(good["finished_at"])
    assert value(
        samples, "last_backup_success_timestamp_seconds", database="prod"
    ) == pytest.approx(finished.timestamp())
    assert value(samples, "seconds_since_last_backup_success", database="prod") == pytest.approx(
        (now - finished).total_seconds()
    )
    assert value(samples, "last_backup_success_duration_seconds", database="prod") == pytest.approx(
        good["duration_seconds"]
    )
    assert value(samples, "last_backup_success_size_bytes", database="prod") == good["size_bytes"]
    assert (
        value(samples, "last_backup_success_stored_bytes", database="prod") == good["stored_bytes"]
    )
    assert value(samples, "backups_dumped_bytes", database="prod") == good["size_bytes"]
    assert value(samples, "backups_uploaded_bytes", database="prod") == good["stored_bytes"]
    for state, count in (("succeeded", 1), ("failed", 1), ("skipped", 1), ("missed", 2)):
        assert (
            value(samples, "schedule_slots", database="prod", schedule="nightly", state=state)
            == count
        )
    assert value(samples, "jobs", kind="backup", state="running") == 1
    assert value(samples, "jobs", kind="backup", state="queued") == 0
    assert value(samples, "jobs", kind="restore", state="running") == 0
    assert value(
        samples, "job_heartbeat_age_seconds", kind="backup", database="other", name="busy"
    ) == pytest.approx(42)
    assert value(samples, "pitr_lag_seconds", database="prod") == 17.5
    assert value(samples, "pitr_state", database="prod", state="lagging") == 1
    # The failed backup has no "last success" of its own: the database's stays the good one.
    assert (
        "strongbox_last_backup_success_timestamp_seconds",
        (("database", "other"),),
    ) not in samples


def test_metrics_need_the_metrics_token_or_a_viewer_token(strongbox: RunningServer) -> None:
    anonymous = httpx.get(f"{strongbox.url}/metrics")
    assert anonymous.status_code == 401
    wrong = httpx.get(
        f"{strongbox.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert wrong.status_code == 401  # no metrics token is set yet
    with client_with(strongbox, service_token(strongbox, "grafana", "viewer")) as viewer:
        assert "strongbox_jobs" in viewer.get("/metrics").text
    ctx = strongbox.embedded.context
    ctx.settings = ctx.settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})
    with httpx.Client(
        base_url=strongbox.url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    ) as prometheus:
        assert "strongbox_jobs" in prometheus.get("/metrics").text
        # It opens /metrics only, not the API.
        assert prometheus.get("/api/v1/databases").status_code == 401


def test_health_and_readiness_check_the_catalog_and_the_broker(strongbox: RunningServer) -> None:
    assert httpx.get(f"{strongbox.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{strongbox.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"catalog": "ok"}}
    ctx = strongbox.embedded.context
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        ctx.settings = ctx.settings.model_copy(
            update={"broker_url": SecretStr(f"redis://:secret@127.0.0.1:{port}/0")}
        )
        reachable = httpx.get(f"{strongbox.url}/readyz")
        assert reachable.json()["checks"] == {"catalog": "ok", "broker": "ok"}
    gone = httpx.get(f"{strongbox.url}/readyz")  # the listener is closed now
    assert gone.status_code == 503
    assert gone.json() == {
        "status": "not ready",
        "checks": {"catalog": "ok", "broker": "unreachable"},
    }
    assert "secret" not in gone.text
