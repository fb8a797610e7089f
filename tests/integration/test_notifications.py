"""Notifications through apprise to a real local receiver: targets, test-send, freshness with a
controllable clock, retries, and failures that never fail the work that caused them."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.ports import free_port
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, postgres_database
from integration.people import add_user, csrf_of, page_sign_in
from integration.problems import assert_problem, fields_of
from strongbox.catalog.models import AuditEntry, NotificationTarget
from strongbox.services import freshness, notify, schedule_runs

pytestmark = pytest.mark.integration

SECRET = "s3cret-pass-word"
T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


class Receiver:
    """An HTTP server that keeps the JSON bodies posted to it; `fail_first` answers 500 to
    that many requests first."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.requests = 0
        self.fail_first = fail_first
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with receiver._changed:
                    receiver.requests += 1
                    failing = receiver.requests <= receiver.fail_first
                    if not failing:
                        receiver.bodies.append(body)
                    receiver._changed.notify_all()
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, secret: str = SECRET) -> str:
        return f"json://hook:{secret}@127.0.0.1:{self.port}/hook"

    def wait_for(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.bodies) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.bodies)} messages arrived, not {count}")
                self._changed.wait(left)
            return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


class ManualClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


@pytest.fixture
def quiet_box(tmp_path: Path) -> Iterator[RunningServer]:
    """A server whose own freshness check never runs during the test: the test runs it."""
    running, server = start_server(tmp_path / "data", freshness_check_seconds=3600)
    yield running
    stop_server(running, server)


@pytest.fixture
def fresh_db(pg_server: PostgresServer) -> Iterator[str]:
    pg_server.create_database("n_app")
    pg_server.execute("CREATE TABLE t AS SELECT generate_series(1, 3000) AS id", "n_app")
    yield "n_app"
    pg_server.execute("DROP DATABASE IF EXISTS n_app WITH (FORCE)")


def add_target(box: RunningServer, name: str, url: str, **body: Any) -> dict[str, Any]:
    response = box.client.post(
        "/api/v1/notification-targets", json={"name": name, "url": url, **body}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_targets_keep_their_url_secret_and_are_managed_like_other_resources(
    strongbox: RunningServer, receiver: Receiver
) -> None:
    created = add_target(strongbox, "ops", receiver.url(), events=["backup_failed", "freshness"])
    assert SECRET not in json.dumps(created)
    assert created["url_hint"].startswith("json://hook:")
    assert created["events"] == ["backup_failed", "freshness"]
    assert created["database"] is None
    listed = strongbox.client.get("/api/v1/notification-targets").json()
    assert [t["name"] for t in listed["items"]] == ["ops"]
    assert listed["next"] is None
    assert SECRET not in strongbox.client.get("/api/v1/notification-targets/ops").text

    changed = strongbox.client.patch(
        "/api/v1/notification-targets/ops", json={"events": ["worker_lost"], "database": "prod"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["worker_lost"]
    assert changed.json()["database"] == "prod"
    ctx = strongbox.embedded.context
    with ctx.catalog.session() as session:
        row = session.query(NotificationTarget).one()
        assert SECRET not in row.url_encrypted
        assert ctx.secrets.decrypt(row.url_encrypted) == receiver.url()  # kept by the PATCH
    # The audit entry is written once the answer is sent: wait for it.
    deadline = time.monotonic() + 30
    while True:
        with ctx.catalog.session() as session:
            entries = [(e.action, e.resource) for e in session.query(AuditEntry)]
        if ("PATCH /api/v1/notification-targets/{name}", "/api/v1/notification-targets/ops") in (
            entries
        ):
            break
        assert time.monotonic() < deadline, entries
        time.sleep(0.05)
    assert ("POST /api/v1/notification-targets", "/api/v1/notification-targets") in entries
    assert SECRET not in repr(entries)

    bad = strongbox.client.post(
        "/api/v1/notification-targets", json={"name": "bad", "url": "nonsense://x"}
    )
    assert "body.url" in fields_of(assert_problem(bad, 422, "notification-url-invalid"))
    bad_event = strongbox.client.post(
        "/api/v1/notification-targets",
        json={"name": "bad", "url": receiver.url(), "events": ["backup_done"]},
    )
    assert_problem(bad_event, 422)
    assert_problem(
        strongbox.client.post(
            "/api/v1/notification-targets", json={"name": "ops", "url": receiver.url()}
        ),
        409,
        "name-taken",
    )
    assert strongbox.client.delete("/api/v1/notification-targets/ops").status_code == 204
    assert_problem(strongbox.client.get("/api/v1/notification-targets/ops"), 404)


def test_a_test_message_reaches_the_receiver_and_a_dead_one_is_reported(
    strongbox: RunningServer, receiver: Receiver
) -> None:
    add_target(strongbox, "ops", receiver.url())
    sent = strongbox.client.post("/api/v1/notification-targets/ops/test")
    assert sent.status_code == 200, sent.text
    assert sent.json()["delivered"] is True
    [body] = receiver.wait_for(1)
    assert body["title"] == "Strongbox: test notification"
    assert "'ops'" in body["message"]

    add_target(strongbox, "dead", f"json://127.0.0.1:{free_port()}/hook")
    dead = strongbox.client.post("/api/v1/notification-targets/dead/test").json()
    assert dead["delivered"] is False
    assert "did not take the message" in dead["detail"]


def test_freshness_tells_each_breach_once_and_each_recovery_once(
    quiet_box: RunningServer,
    receiver: Receiver,
    pg_server: PostgresServer,
    fresh_db: str,
    tmp_path: Path,
) -> None:
    box, ctx = quiet_box, quiet_box.embedded.context
    clock = ManualClock(T0)
    ctx.clock = clock
    box.client.post("/api/v1/backup-storages", json=folder_storage(tmp_path / "b"))
    registered = box.client.post(
        "/api/v1/databases",
        json={**postgres_database(pg_server, [fresh_db]), "freshness_hours": 0.01},
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["freshness_hours"] == 0.01  # 36 s
    add_target(box, "watch", receiver.url(), events=["freshness"], database="prod")
    add_target(box, "elsewhere", receiver.url(), events=["freshness"], database="other")

    clock.current = T0 + timedelta(seconds=30)
    assert freshness.check(ctx) == []  # a new database counts from its registration
    clock.current = T0 + timedelta(seconds=40)
    assert freshness.check(ctx) == [("prod", "breached")]
    assert freshness.check(ctx) == []  # told once
    [breach] = receiver.wait_for(1)
    assert breach["title"] == "Strongbox: prod has no recent backup"
    assert "it never had one" in breach["message"]

    box.client.post("/api/v1/databases/prod/backups", json={"storage": "disk", "name": "now"})
    assert box.wait_for_backup("prod", "now")["state"] == "succeeded"
    assert freshness.check(ctx) == [("prod", "recovered")]
    assert freshness.check(ctx) == []
    # Messages are delivered by two threads: wait for this one, so that the order is known.
    assert receiver.wait_for(2)[1]["title"] == "Strongbox: prod is backed up again"
    clock.current = T0 + timedelta(seconds=100)  # 60 s after the backup
    assert freshness.check(ctx) == [("prod", "breached")]
    assert freshness.check(ctx) == []

    bodies = receiver.wait_for(3)
    assert [b["title"] for b in bodies] == [
        "Strongbox: prod has no recent backup",
        "Strongbox: prod is backed up again",
        "Strongbox: prod has no recent backup",
    ]
    assert "the last one ended 1 min ago" in bodies[2]["message"]
    # The next test message arrives after them: nothing else was on its way.
    box.client.post("/api/v1/notification-targets/watch/test").raise_for_status()
    assert len(receiver.wait_for(4)) == 4


def test_a_failing_target_is_retried_and_never_fails_the_backup(
    strongbox: RunningServer,
    receiver: Receiver,
    pg_server: PostgresServer,
    fresh_db: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="strongbox.services.notify")
    strongbox.client.post("/api/v1/backup-storages", json=folder_storage(tmp_path / "b"))
    strongbox.client.post(
        "/api/v1/databases", json=postgres_database(pg_server, [fresh_db])
    ).raise_for_status()
    add_target(strongbox, "dead", f"json://127.0.0.1:{free_port()}/hook", events=["backup_failed"])
    add_target(strongbox, "live", receiver.url(), events=["backup_failed"], database="prod")
    pg_server.execute(f"DROP DATABASE {fresh_db} WITH (FORCE)")

    strongbox.client.post("/api/v1/databases/prod/backups", json={"storage": "disk", "name": "b1"})
    failed = strongbox.wait_for_backup("prod", "b1")
    assert failed["state"] == "failed"
    assert "notification" not in failed["error"]
    [told] = receiver.wait_for(1)
    assert told["title"] == "Strongbox: backup prod/b1 failed"
    assert fresh_db in told["message"]
    deadline = time.monotonic() + 60
    while "to target dead failed (attempt 1 of 3)" not in caplog.text:
        assert time.monotonic() < deadline, caplog.text
        time.sleep(0.1)
    assert SECRET not in caplog.text


def test_a_delivery_that_fails_first_is_delivered_on_a_later_attempt() -> None:
    flaky = Receiver(fail_first=2)
    try:
        notice = notify.Notice("backup_failed", "prod", "title", "body")
        assert notify.deliver("flaky", flaky.url(), notice, pauses=(0.0, 0.0)) is True
        assert flaky.requests == 3
        assert [b["title"] for b in flaky.bodies] == ["title"]
        dead = notify.deliver("dead", f"json://127.0.0.1:{free_port()}/", notice, pauses=(0.0,))
        assert dead is False
    finally:
        flaky.close()


def test_the_cli_adds_lists_tests_and_removes_targets(
    strongbox: RunningServer, receiver: Receiver
) -> None:
    def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {"STRONGBOX_URL": strongbox.url, "STRONGBOX_TOKEN": strongbox.token, **env}
        return subprocess.run(
            [sys.executable, "-m", "strongbox", "notify", *args],
            capture_output=True,
            text=True,
            env=environ,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )

    added = cli(
        "add", "ops", "-e", "backup_failed", "-e", "freshness", STRONGBOX_NOTIFY_URL=receiver.url()
    )
    assert added.returncode == 0, added.stderr
    assert SECRET not in added.stdout
    listed = cli("list", "--json")
    assert [(t["name"], t["events"]) for t in json.loads(listed.stdout)] == [
        ("ops", ["backup_failed", "freshness"])
    ]
    tested = cli("test", "ops")
    assert tested.returncode == 0, tested.stderr
    assert receiver.wait_for(1)[0]["title"] == "Strongbox: test notification"
    missing_url = cli("add", "other")
    assert missing_url.returncode == 2
    assert "STRONGBOX_NOTIFY_URL" in missing_url.stderr
    assert cli("remove", "ops").returncode == 0
    assert json.loads(cli("list", "--json").stdout) == []


def test_the_settings_page_adds_tests_and_removes_a_target(
    strongbox: RunningServer, receiver: Receiver
) -> None:
    add_user(strongbox, "ada", "admin")
    with page_sign_in(strongbox, "ada") as page:
        csrf = csrf_of(page)
        added = page.post(
            "/settings/notifications",
            data={
                "csrf_token": csrf,
                "name": "chat",
                "url": receiver.url(),
                "event-backup_failed": "1",
            },
        )
        assert added.status_code == 303, added.text
        listing = page.get("/settings/notifications").text
        assert 'data-target="chat"' in listing
        assert "backup_failed" in listing
        assert SECRET not in listing
        tested = page.post("/settings/notifications/chat/test", data={"csrf_token": csrf})
        assert tested.status_code == 200
        assert "was handed to" in tested.text
        assert receiver.wait_for(1)[0]["title"] == "Strongbox: test notification"
        bad = page.post(
            "/settings/notifications",
            data={"csrf_token": csrf, "name": "bad", "url": "nonsense://x"},
        )
        assert bad.status_code == 422
        assert "not an apprise URL" in bad.text
        removed = page.post("/settings/notifications/chat/delete", data={"csrf_token": csrf})
        assert removed.status_code == 303
        assert 'data-target="chat"' not in page.get("/settings/notifications").text


def test_missed_slots_are_told_once_per_pass(
    quiet_box: RunningServer,
    receiver: Receiver,
    pg_server: PostgresServer,
    fresh_db: str,
    tmp_path: Path,
) -> None:
    box, ctx = quiet_box, quiet_box.embedded.context
    # Far ahead of the wall clock, so that the server's own scheduler finds nothing due.
    start = datetime(2031, 3, 1, 8, 0, 30, tzinfo=UTC)
    clock = ManualClock(start)
    ctx.clock = clock
    box.client.post("/api/v1/backup-storages", json=folder_storage(tmp_path / "b"))
    box.client.post(
        "/api/v1/databases", json=postgres_database(pg_server, [fresh_db])
    ).raise_for_status()
    box.client.post(
        "/api/v1/databases/prod/schedules",
        json={"name": "hourly", "storage": "disk", "cron": "0 * * * *"},
    ).raise_for_status()
    add_target(box, "slots", receiver.url(), events=["slot_missed"])

    clock.current = start + timedelta(hours=5)  # 4 slots missed; the newest (13:00) runs
    schedule_runs.run_due(ctx, clock.current)
    schedule_runs.run_due(ctx, clock.current)  # nothing new: nothing told
    [told] = receiver.wait_for(1)
    assert told["title"] == "Strongbox: 4 slots were missed of schedule prod/hourly"
    assert told["message"].endswith("4 slots were missed: the server was not running at this time")
    runs = box.client.get("/api/v1/databases/prod/schedules/hourly/runs").json()["items"]
    assert [r["state"] for r in runs][1:] == ["missed"] * 4
    assert box.wait_for_backup("prod", "hourly-20310301-1300")["state"] == "succeeded"
    box.client.post("/api/v1/notification-targets/slots/test").raise_for_status()
    assert len(receiver.wait_for(2)) == 2  # the test message came next: nothing else was sent


def test_a_finished_restore_is_told(
    strongbox: RunningServer,
    receiver: Receiver,
    pg_server: PostgresServer,
    fresh_db: str,
    tmp_path: Path,
) -> None:
    client = strongbox.client
    client.post("/api/v1/backup-storages", json=folder_storage(tmp_path / "b"))
    client.post(
        "/api/v1/databases", json=postgres_database(pg_server, [fresh_db])
    ).raise_for_status()
    add_target(strongbox, "restores", receiver.url(), events=["restore_finished", "restore_failed"])
    client.post("/api/v1/databases/prod/backups", json={"storage": "disk", "name": "base"})
    assert strongbox.wait_for_backup("prod", "base")["state"] == "succeeded"
    copy = f"{fresh_db}_copy"
    try:
        started = client.post(
            "/api/v1/databases/prod/restores",
            json={"backup": "base", "name": "copied", "database_map": {fresh_db: copy}},
        )
        assert started.status_code == 202, started.text
        [told] = receiver.wait_for(1)
        assert told["title"] == "Strongbox: restore prod/copied finished"
        restored = client.get("/api/v1/databases/prod/restores/copied").json()
        assert restored["state"] == "succeeded"
    finally:
        pg_server.execute(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")
