"""The audit log: a scripted session of changes leaves exactly its entries, with who, what,
where from and the outcome; no secret reaches the log, its answers or the server's log output;
entries cannot be changed through the API."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures.app import RunningServer
from integration.bodies import folder_storage
from integration.people import PASSWORD, add_user, client_with, csrf_of, service_token
from integration.problems import assert_problem

pytestmark = pytest.mark.integration

WRONG_PASSWORD = "not the password at all"


def _entries(running: RunningServer, **filters: Any) -> list[dict[str, Any]]:
    page = running.client.get("/api/v1/audit", params={"limit": 500, **filters})
    assert page.status_code == 200, page.text
    entries: list[dict[str, Any]] = page.json()["entries"]
    return entries


def _script(running: RunningServer, tmp_path: Path) -> str:
    """Changes by an admin, a failed and a good sign-in, and requests of a user's token;
    answers the token the user made."""
    running.client.post(
        "/api/v1/backup-storages", json=folder_storage(tmp_path / "b")
    ).raise_for_status()
    add_user(running, "olga", "operator")
    with httpx.Client(base_url=running.url) as page:
        failed = page.post("/sign-in", data={"name": "olga", "password": WRONG_PASSWORD})
        assert failed.status_code == 401
        assert page.post("/sign-in", data={"name": "olga", "password": PASSWORD}).is_redirect
        made = page.post("/account/tokens", data={"name": "olga-cli", "csrf_token": csrf_of(page)})
        assert made.status_code == 200
    marker = 'class="new-token">'
    start = made.text.index(marker) + len(marker)
    token = made.text[start : made.text.index("<", start)]
    with client_with(running, token) as olga:
        assert olga.delete("/api/v1/backup-storages/disk").status_code == 403
        assert (
            olga.post("/api/v1/databases/nosuch/backups", json={"storage": "disk"}).status_code
            == 404
        )
        assert olga.get("/api/v1/databases").status_code == 200  # a read: not recorded
    with client_with(running, "sbx_wrong-token-of-no-one") as stranger:
        assert stranger.get("/api/v1/databases").status_code == 401
    assert running.client.delete("/api/v1/tokens/olga-cli").status_code == 204
    return token


def test_a_scripted_session_leaves_exactly_its_entries_and_no_secret(
    strongbox: RunningServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = _script(strongbox, tmp_path)
    entries = list(reversed(_entries(strongbox)))
    seen = [(e["actor"], e["token"], e["action"], e["outcome"], e["status"]) for e in entries]
    assert seen == [
        ("token:admin", "admin", "POST /api/v1/backup-storages", "succeeded", 201),
        ("token:admin", "admin", "POST /api/v1/users", "succeeded", 201),
        ("olga", None, "POST /sign-in", "refused", 401),
        ("olga", None, "POST /sign-in", "succeeded", 303),
        ("olga", None, "POST /account/tokens", "succeeded", 200),
        ("olga", "olga-cli", "DELETE /api/v1/backup-storages/{name}", "refused", 403),
        ("olga", "olga-cli", "POST /api/v1/databases/{database}/backups", "failed", 404),
        ("anonymous", None, "GET /api/v1/databases", "refused", 401),
        ("token:admin", "admin", "DELETE /api/v1/tokens/{name}", "succeeded", 204),
    ]
    assert entries[5]["resource"] == "/api/v1/backup-storages/disk"
    assert entries[5]["role"] == "operator"
    assert {e["address"] for e in entries} == {"127.0.0.1"}

    secrets = [PASSWORD, WRONG_PASSWORD, token, strongbox.token, "sbx_wrong-token-of-no-one"]
    catalog = (strongbox.data_dir / "catalog.sqlite3").read_bytes()
    answer = strongbox.client.get("/api/v1/audit").text
    for secret in secrets:
        assert secret.encode() not in catalog
        assert secret not in answer
        assert secret not in caplog.text


def test_pages_and_filters_walk_the_log(strongbox: RunningServer, tmp_path: Path) -> None:
    _script(strongbox, tmp_path)
    everything = _entries(strongbox)
    walked: list[dict[str, Any]] = []
    before = None
    while True:
        params = {"limit": 2, **({"before": before} if before else {})}
        page = strongbox.client.get("/api/v1/audit", params=params).json()
        assert len(page["entries"]) <= 2
        walked += page["entries"]
        before = page["next_before"]
        if before is None:
            break
    assert walked == everything
    refused = _entries(strongbox, actor="olga", outcome="refused")
    assert [e["action"] for e in refused] == [
        "DELETE /api/v1/backup-storages/{name}",
        "POST /sign-in",
    ]
    assert {e["action"] for e in _entries(strongbox, action="/tokens")} == {
        "DELETE /api/v1/tokens/{name}",
        "POST /account/tokens",
    }


def test_times_without_a_zone_are_refused_with_a_problem(strongbox: RunningServer) -> None:
    for field in ("since", "until"):
        response = strongbox.client.get("/api/v1/audit", params={field: "2026-01-01T00:00:00"})
        body = assert_problem(response, 422, "invalid-request")
        assert "time zone" in body["detail"]
        assert field in body["detail"]
    zoned = strongbox.client.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00Z"})
    assert zoned.status_code == 200


def test_entries_cannot_be_changed_through_the_api(strongbox: RunningServer) -> None:
    strongbox.client.post("/api/v1/users", json={})  # one entry (a failed change)
    entry_id = _entries(strongbox)[0]["id"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert_problem(strongbox.client.request(method, "/api/v1/audit", json={}), 405)
        changed = strongbox.client.request(method, f"/api/v1/audit/{entry_id}", json={})
        assert changed.status_code in (404, 405)
    spec = httpx.get(f"{strongbox.url}/api/v1/openapi.json").json()
    assert [p for p in spec["paths"] if p.startswith("/api/v1/audit")] == ["/api/v1/audit"]
    assert list(spec["paths"]["/api/v1/audit"]) == ["get"]


def test_only_admins_read_the_log(strongbox: RunningServer) -> None:
    for role in ("viewer", "operator"):
        with client_with(strongbox, service_token(strongbox, f"r-{role}", role)) as client:
            refused = client.get("/api/v1/audit")
            assert assert_problem(refused, 403)["required_role"] == "admin"
