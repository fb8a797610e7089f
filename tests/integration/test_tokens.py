"""API tokens: shown once and stored hashed, roles no higher than their maker's, expiry and
revocation effective on the next request, last use recorded, users' tokens follow their role."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from fixtures.app import RunningServer
from integration.people import add_user, client_with, service_token, user_token
from integration.problems import assert_problem

pytestmark = pytest.mark.integration


def _catalog(running: RunningServer) -> sqlite3.Connection:
    return sqlite3.connect(running.data_dir / "catalog.sqlite3")


def test_a_token_is_shown_once_and_only_its_hash_is_in_the_catalog(
    strongbox: RunningServer,
) -> None:
    made = strongbox.client.post(
        "/api/v1/tokens", json={"name": "ci", "role": "operator", "service": True}
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    listed = strongbox.client.get("/api/v1/tokens").json()["items"]
    assert all("token" not in row for row in listed)
    assert "ci" in {row["name"] for row in listed}
    with _catalog(strongbox) as db:
        stored = db.execute("SELECT token_sha256 FROM api_tokens WHERE name = 'ci'").fetchone()[0]
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token.encode() not in (strongbox.data_dir / "catalog.sqlite3").read_bytes()
    with client_with(strongbox, token) as ci:
        assert ci.get("/api/v1/me").json() == {"user": None, "token": "ci", "role": "operator"}


def test_revoking_a_token_refuses_its_next_request(strongbox: RunningServer) -> None:
    token = service_token(strongbox, "temp", "viewer")
    with client_with(strongbox, token) as temp:
        assert temp.get("/api/v1/databases").status_code == 200
        assert strongbox.client.delete("/api/v1/tokens/temp").status_code == 204
        body = assert_problem(temp.get("/api/v1/databases"), 401)
        assert "revoked" in body["detail"]
    assert "temp" not in {t["name"] for t in strongbox.client.get("/api/v1/tokens").json()["items"]}


def test_an_expired_token_is_refused_on_its_next_request(strongbox: RunningServer) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    made = strongbox.client.post(
        "/api/v1/tokens",
        json={"name": "short", "role": "viewer", "service": True, "expires_at": tomorrow},
    ).json()
    with client_with(strongbox, made["token"]) as short:
        assert short.get("/api/v1/databases").status_code == 200
        # A day passes: the stored expiry is moved into the past instead of waiting.
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(sep=" ")
        with _catalog(strongbox) as db:
            db.execute("UPDATE api_tokens SET expires_at = ? WHERE name = 'short'", (past,))
        body = assert_problem(short.get("/api/v1/databases"), 401)
        assert "expired" in body["detail"]


def test_an_expiry_in_the_past_or_without_a_zone_is_refused(strongbox: RunningServer) -> None:
    past = strongbox.client.post(
        "/api/v1/tokens", json={"name": "x", "service": True, "expires_at": "2020-01-01T00:00Z"}
    )
    assert_problem(past, 422, "token-expiry-past")
    naive = strongbox.client.post(
        "/api/v1/tokens", json={"name": "x", "service": True, "expires_at": "2999-01-01T00:00"}
    )
    assert "time zone" in assert_problem(naive, 422, "invalid-request")["detail"]


def test_the_last_use_of_a_token_is_shown(strongbox: RunningServer) -> None:
    token = service_token(strongbox, "watch", "viewer")

    def last_used() -> str | None:
        rows = strongbox.client.get("/api/v1/tokens").json()["items"]
        value: str | None = next(r for r in rows if r["name"] == "watch")["last_used_at"]
        return value

    assert last_used() is None
    with client_with(strongbox, token) as watch:
        watch.get("/api/v1/databases").raise_for_status()
    assert last_used() is not None


def test_a_token_never_has_a_role_above_its_maker(strongbox: RunningServer) -> None:
    add_user(strongbox, "olga", "operator")
    with client_with(strongbox, user_token(strongbox, "olga")) as olga:
        higher = olga.post("/api/v1/tokens", json={"name": "olga-admin", "role": "admin"})
        assert assert_problem(higher, 403, "forbidden")["required_role"] == "admin"
        service = olga.post("/api/v1/tokens", json={"name": "olga-svc", "service": True})
        assert assert_problem(service, 403, "forbidden")["required_role"] == "admin"
        lower = olga.post("/api/v1/tokens", json={"name": "olga-ro", "role": "viewer"})
        assert lower.status_code == 201, lower.text
        assert lower.json()["owner"] == "olga"


def test_a_service_token_below_admin_makes_no_tokens(strongbox: RunningServer) -> None:
    with client_with(strongbox, service_token(strongbox, "bot", "operator")) as bot:
        made = bot.post("/api/v1/tokens", json={"name": "bot-child", "role": "viewer"})
        assert assert_problem(made, 403, "forbidden")["required_role"] == "admin"


def test_users_see_and_revoke_only_their_own_tokens(strongbox: RunningServer) -> None:
    add_user(strongbox, "olga", "operator")
    add_user(strongbox, "vic", "viewer")
    with (
        client_with(strongbox, user_token(strongbox, "olga")) as olga,
        client_with(strongbox, user_token(strongbox, "vic")) as vic,
    ):
        assert {t["name"] for t in vic.get("/api/v1/tokens").json()["items"]} == {"vic-cli"}
        assert_problem(vic.delete("/api/v1/tokens/olga-cli"), 404)
        assert olga.get("/api/v1/me").status_code == 200
        everyone = {t["name"] for t in strongbox.client.get("/api/v1/tokens").json()["items"]}
        assert {"admin", "olga-cli", "vic-cli"} <= everyone
        assert vic.delete("/api/v1/tokens/vic-cli").status_code == 204
        assert_problem(vic.get("/api/v1/me"), 401)


def test_a_users_token_acts_with_the_users_lowered_role_and_dies_with_the_user(
    strongbox: RunningServer,
) -> None:
    add_user(strongbox, "olga", "operator")
    with client_with(strongbox, user_token(strongbox, "olga")) as olga:
        assert olga.get("/api/v1/me").json()["role"] == "operator"
        strongbox.client.patch("/api/v1/users/olga", json={"role": "viewer"}).raise_for_status()
        assert olga.get("/api/v1/me").json()["role"] == "viewer"
        refused = olga.post("/api/v1/databases/x/backups", json={"storage": "s"})
        assert assert_problem(refused, 403)["required_role"] == "operator"
        assert strongbox.client.delete("/api/v1/users/olga").status_code == 204
        assert_problem(olga.get("/api/v1/me"), 401)


def test_the_bootstrap_admin_token_is_replaced_not_revoked(strongbox: RunningServer) -> None:
    assert_problem(strongbox.client.delete("/api/v1/tokens/admin"), 409, "bootstrap-token")
    assert strongbox.client.get("/api/v1/me").json() == {
        "user": None,
        "token": "admin",
        "role": "admin",
    }


def test_a_token_name_is_taken_once(strongbox: RunningServer) -> None:
    service_token(strongbox, "dup", "viewer")
    again = strongbox.client.post("/api/v1/tokens", json={"name": "dup", "service": True})
    assert_problem(again, 409, "token-exists")
    assert isinstance(again, httpx.Response)
