"""Lists that scale: pages newest first, continued by a cursor, stable while rows arrive."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage, postgres_database
from integration.people import add_user, page_sign_in
from integration.problems import assert_problem, fields_of
from strongbox.catalog.models import (
    ApiToken,
    Backup,
    Database,
    NotificationTarget,
    Restore,
    Schedule,
    Storage,
    User,
)

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, tzinfo=UTC)


def seed_backups(
    box: RunningServer, names: list[str], *, first_minute: int, state: str = "succeeded"
) -> None:
    """Backups of `prod` in the catalog, two per minute (equal times: the id breaks the tie)."""
    with box.embedded.context.catalog.session() as session:
        for i, name in enumerate(names):
            at = START + timedelta(minutes=first_minute + i // 2)
            session.add(
                Backup(
                    name=name,
                    database="prod",
                    storage="disk" if i % 3 else "other",
                    method="logical",
                    trigger="manual",
                    state=state,
                    created_at=at,
                    started_at=at,
                    finished_at=at + timedelta(seconds=30),
                    progress_bytes=0,
                    artifacts=[],
                )
            )


def register(box: RunningServer, pg_server: PostgresServer, tmp_path: Path) -> None:
    box.client.post("/api/v1/backup-storages", json=folder_storage(tmp_path)).raise_for_status()
    box.client.post("/api/v1/databases", json=postgres_database(pg_server, [])).raise_for_status()


def test_pages_of_a_hundred_lose_and_repeat_nothing_while_backups_arrive(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    register(strongbox, pg_server, tmp_path)
    seed_backups(strongbox, [f"old-{i:03d}" for i in range(250)], first_minute=0)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"cursor": cursor} if cursor else {}
        response = strongbox.client.get("/api/v1/databases/prod/backups", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(page["items"])
        pages += 1
        # New backups arrive between the pages, all newer than anything listed so far.
        seed_backups(strongbox, [f"new-{pages}-{i}" for i in range(30)], first_minute=1000 * pages)
        cursor = page["next"]
        if cursor is None:
            break
    assert [len(p) for p in [seen[:100], seen[100:200], seen[200:]]] == [100, 100, 50]
    assert pages == 3
    names = [b["name"] for b in seen]
    assert len(set(names)) == len(names) == 250
    assert set(names) == {f"old-{i:03d}" for i in range(250)}
    # Newest first; of two backups created at the same time, the later inserted first.
    assert names[:4] == ["old-249", "old-248", "old-247", "old-246"]
    times = [b["created_at"] for b in seen]
    assert times == sorted(times, reverse=True)
    # A new reader starts at the newest, which now includes what arrived.
    first = strongbox.client.get("/api/v1/databases/prod/backups", params={"limit": 5}).json()
    assert [b["name"] for b in first["items"]][:1] == ["new-3-29"]
    assert first["next"] is not None


def test_every_database_backups_filter_by_state_storage_database_and_time(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    register(strongbox, pg_server, tmp_path)
    seed_backups(strongbox, [f"ok-{i}" for i in range(6)], first_minute=0)
    seed_backups(strongbox, [f"bad-{i}" for i in range(4)], first_minute=60, state="failed")

    def names(**params: Any) -> list[str]:
        response = strongbox.client.get("/api/v1/backups", params=params)
        assert response.status_code == 200, response.text
        return [b["name"] for b in response.json()["items"]]

    assert names(state="failed") == ["bad-3", "bad-2", "bad-1", "bad-0"]
    assert names(storage="other") == ["bad-3", "bad-0", "ok-3", "ok-0"]
    assert names(since=(START + timedelta(minutes=61)).isoformat()) == ["bad-3", "bad-2"]
    assert len(names(database="prod")) == 10
    assert names(database="ghost") == []
    assert names(state="succeeded", limit=2) == ["ok-5", "ok-4"]


def test_bad_paging_and_filters_are_refused_naming_the_field(strongbox: RunningServer) -> None:
    body = assert_problem(strongbox.client.get("/api/v1/backups", params={"cursor": "nope"}), 422)
    assert "query.cursor" in fields_of(body)
    body = assert_problem(strongbox.client.get("/api/v1/backups", params={"limit": 501}), 422)
    assert "query.limit" in fields_of(body)
    body = assert_problem(strongbox.client.get("/api/v1/backups", params={"state": "done"}), 422)
    assert "query.state" in fields_of(body)
    body = assert_problem(
        strongbox.client.get("/api/v1/backups", params={"since": "yesterday"}), 422
    )
    assert "query.since" in fields_of(body)
    body = assert_problem(strongbox.client.get("/api/v1/databases", params={"limit": 0}), 422)
    assert "query.limit" in fields_of(body)


def test_the_cli_lists_every_page(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    register(strongbox, pg_server, tmp_path)
    seed_backups(strongbox, [f"b-{i:04d}" for i in range(620)], first_minute=0)
    result = subprocess.run(
        [sys.executable, "-m", "strongbox", "backup", "list", "prod", "--json"],
        capture_output=True,
        text=True,
        env={"STRONGBOX_URL": strongbox.url, "STRONGBOX_TOKEN": strongbox.token, "PATH": ""},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    listed = [b["name"] for b in json.loads(result.stdout)]
    assert listed == [f"b-{i:04d}" for i in reversed(range(620))]


def test_the_database_page_pages_its_backups(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    register(strongbox, pg_server, tmp_path)
    seed_backups(strongbox, [f"p-{i:03d}" for i in range(150)], first_minute=0)
    add_user(strongbox, "vera", "viewer")
    with page_sign_in(strongbox, "vera") as page:
        first = page.get("/databases/prod/partials/backups").text
        assert first.count('data-backup="') == 100
        assert 'data-backup="p-149"' in first
        assert 'data-backup="p-049"' not in first
        assert "Newest backups" not in first
        marker = "partials/backups?cursor="
        start = first.index(marker) + len(marker)
        cursor = first[start : first.index('"', start)]
        second = page.get(f"/databases/prod/partials/backups?cursor={cursor}").text
        assert second.count('data-backup="') == 50
        assert 'data-backup="p-049"' in second
        assert 'data-backup="p-050"' not in second
        assert "Newest backups" in second
        assert "Older backups" not in second
        mangled = page.get("/databases/prod/partials/backups?cursor=garbage")
        assert mangled.status_code == 200
        assert 'data-backup="p-149"' in mangled.text


def seed_rows(box: RunningServer, count: int) -> None:
    """`count` storages, databases, users, tokens, notification targets, and schedules (every
    other one paused) and restores of `prod`,
    named `<kind>-<nnn>`, one minute apart (newest last), written as the services would."""
    ctx = box.embedded.context
    with ctx.catalog.session() as session:
        for i in range(count):
            at = START + timedelta(minutes=i)
            session.add(
                Storage(
                    name=f"s-{i:03d}",
                    type="filesystem",
                    settings={"path": f"/srv/s-{i:03d}"},
                    created_at=at,
                    updated_at=at,
                )
            )
            session.add(
                Database(
                    name=f"d-{i:03d}",
                    engine="postgresql",
                    host="127.0.0.1",
                    port=5432,
                    username="u",
                    password_encrypted=ctx.secrets.encrypt("p"),
                    databases=[],
                    server_version="17",
                    created_at=at,
                    updated_at=at,
                )
            )
            session.add(
                User(
                    name=f"u-{i:03d}",
                    password_hash="not-a-hash",
                    role="viewer",
                    created_at=at,
                    updated_at=at,
                )
            )
            session.add(
                ApiToken(
                    name=f"t-{i:03d}",
                    token_sha256=f"{i:064d}",
                    role="viewer",
                    owner=None,
                    created_at=at,
                )
            )
            session.add(
                NotificationTarget(
                    name=f"n-{i:03d}",
                    url_encrypted=ctx.secrets.encrypt("json://127.0.0.1:9/"),
                    url_hint="json://127.0.0.1:9/",
                    events=[],
                    created_at=at,
                    updated_at=at,
                )
            )
            session.add(
                Schedule(
                    database="prod",
                    name=f"c-{i:03d}",
                    storage="disk",
                    cron=f"{i % 60} {i // 60} * * *",  # each its own time: no overlaps
                    frequency=None,
                    timezone="UTC",
                    retention_copies=3,
                    enabled=i % 2 == 0,
                    on_overlap="skip",
                    slots_since=at,
                    created_at=at,
                    updated_at=at,
                )
            )
            session.add(
                Restore(
                    name=f"r-{i:03d}",
                    database="prod",
                    backup="b",
                    target="prod",
                    database_map={},
                    overwrite=False,
                    restore_globals=False,
                    parallel_jobs=1,
                    state="succeeded",
                    created_at=at,
                    started_at=at,
                    finished_at=at + timedelta(seconds=5),
                    summary=[],
                )
            )


def older_link(text: str, url: str) -> str:
    """The address of the "Older" link to `url` in `text` (a plain link or an htmx request)."""
    found = re.search(rf'(?:href|hx-get)="({re.escape(url)}\?cursor=[^"]+)"', text)
    assert found is not None, f"no link to older items of {url}"
    return html.unescape(found.group(1))


def test_every_list_on_the_page_comes_a_hundred_at_a_time_with_an_older_link(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    register(strongbox, pg_server, tmp_path)
    seed_rows(strongbox, 105)
    add_user(strongbox, "ada", "admin")
    lists = [
        ("/settings/backup-storages", "s", "storages"),
        ("/databases", "d", "databases"),
        ("/settings/users", "u", "users"),
        ("/account", "t", "tokens"),
        ("/settings/notifications", "n", "targets"),
        ("/databases/prod/partials/restores", "r", "restores"),
        ("/databases/prod/partials/schedules", "c", "schedules"),
    ]
    with page_sign_in(strongbox, "ada") as page:
        for url, prefix, what in lists:
            first = page.get(url)
            assert first.status_code == 200, (url, first.text)
            # Newest first: the last five made are on the first page, the first five are not.
            assert f"{prefix}-104" in first.text, url
            assert f"{prefix}-004" not in first.text, url
            assert f"Newest {what}" not in first.text, url
            second = page.get(older_link(first.text, url))
            assert second.status_code == 200, (url, second.text)
            assert f"{prefix}-004" in second.text, url
            assert f"{prefix}-104" not in second.text, url
            assert f"Newest {what}" in second.text, url
            assert f"Older {what}" not in second.text, url
            # A cursor mangled in the address shows the newest page instead of an error.
            mangled = page.get(f"{url}?cursor=garbage")
            assert mangled.status_code == 200, url
            assert f"{prefix}-104" in mangled.text, url
        # What uses a storage is counted by the catalog, not by listing it.
        assert "105 schedules" in page.get("/settings/backup-storages").text
        # The schedules' summary counts them all, not the page.
        box = page.get("/databases/prod/partials/schedules").text
        assert "53 active schedules" in box
        assert "(52 paused)" in box
