"""Users: signing in to the page with a name and password, changing one's own password, admins
managing users; the page refuses what a role may not do; the CLI's user, token and audit
commands."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from fixtures.app import RunningServer
from integration.people import PASSWORD, add_user, client_with, csrf_of, page_sign_in
from integration.problems import assert_problem
from integration.test_cli import assert_one_line_error, cli, json_of

pytestmark = pytest.mark.integration

NEW_PASSWORD = "a brand new passphrase"


def test_a_user_signs_in_with_name_and_password_and_a_wrong_one_is_refused(
    strongbox: RunningServer,
) -> None:
    add_user(strongbox, "ada", "viewer")
    with httpx.Client(base_url=strongbox.url) as page:
        wrong = page.post("/sign-in", data={"name": "ada", "password": "nope nope nope"})
        assert wrong.status_code == 401
        assert "wrong user name or password" in wrong.text
        unknown = page.post("/sign-in", data={"name": "nobody", "password": PASSWORD})
        assert unknown.status_code == 401
        assert "wrong user name or password" in unknown.text
    with page_sign_in(strongbox, "ada") as ada:
        databases = ada.get("/databases")
        assert databases.status_code == 200
        assert "ada (viewer)" in databases.text


def test_the_password_is_stored_as_an_argon2_hash(strongbox: RunningServer) -> None:
    add_user(strongbox, "ada", "viewer")
    with sqlite3.connect(strongbox.data_dir / "catalog.sqlite3") as db:
        stored = db.execute("SELECT password_hash FROM users WHERE name = 'ada'").fetchone()[0]
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_a_user_changes_their_own_password_and_older_sessions_end(
    strongbox: RunningServer,
) -> None:
    add_user(strongbox, "ada", "operator")
    with page_sign_in(strongbox, "ada") as first, page_sign_in(strongbox, "ada") as second:
        wrong = first.post(
            "/account/password",
            data={
                "current_password": "not it at all",
                "new_password": NEW_PASSWORD,
                "csrf_token": csrf_of(first),
            },
        )
        assert wrong.status_code == 422
        assert "current password is wrong" in wrong.text
        changed = first.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "csrf_token": csrf_of(first),
            },
        )
        assert changed.status_code == 200, changed.text
        assert "Your password is changed" in changed.text
        assert first.get("/databases").status_code == 200  # signed in again by the change
        assert second.get("/databases").is_redirect  # the other session has ended
    with httpx.Client(base_url=strongbox.url) as page:
        assert page.post("/sign-in", data={"name": "ada", "password": PASSWORD}).status_code == 401
    with page_sign_in(strongbox, "ada", NEW_PASSWORD) as again:
        assert again.get("/databases").status_code == 200


def test_an_admin_manages_users_on_the_page_and_a_removed_user_is_signed_out(
    strongbox: RunningServer,
) -> None:
    add_user(strongbox, "root", "admin")
    with page_sign_in(strongbox, "root") as root:
        added = root.post(
            "/settings/users",
            data={
                "name": "bob",
                "role": "viewer",
                "password": PASSWORD,
                "csrf_token": csrf_of(root),
            },
        )
        assert added.status_code == 303, added.text
        short = root.post(
            "/settings/users",
            data={
                "name": "eve",
                "role": "viewer",
                "password": "short",
                "csrf_token": csrf_of(root),
            },
        )
        assert short.status_code == 422
        assert "at least 12 characters" in short.text
        with page_sign_in(strongbox, "bob") as bob:
            assert "bob (viewer)" in bob.get("/databases").text
            raised = root.post(
                "/settings/users/bob", data={"role": "operator", "csrf_token": csrf_of(root)}
            )
            assert raised.status_code == 303
            assert "bob (operator)" in bob.get("/databases").text  # the role as it is now
            removed = root.post("/settings/users/bob/delete", data={"csrf_token": csrf_of(root)})
            assert removed.status_code == 303
            assert bob.get("/databases").is_redirect
        users = strongbox.client.get("/api/v1/users").json()["items"]
        assert [u["name"] for u in users] == ["root"]


def test_the_page_hides_and_refuses_what_a_viewer_may_not_do(strongbox: RunningServer) -> None:
    add_user(strongbox, "ada", "viewer")
    with page_sign_in(strongbox, "ada") as ada:
        listing = ada.get("/settings/backup-storages").text
        assert "Add backup storage" not in listing
        assert "Add database" not in ada.get("/databases").text
        assert "/settings/users" not in listing
        forced = ada.post(
            "/settings/backup-storages",
            data={
                "type": "filesystem",
                "name": "sneaky",
                "path": "/srv/sneaky",
                "csrf_token": csrf_of(ada),
            },
        )
        assert forced.status_code == 403
        assert "needs the admin role" in forced.text
        assert ada.get("/settings/users").status_code == 403
        assert ada.get("/settings/audit").status_code == 403
        assert ada.get("/databases/new").status_code == 403
    assert strongbox.client.get("/api/v1/backup-storages").json()["items"] == []


def test_an_admin_sees_the_users_and_audit_pages(strongbox: RunningServer) -> None:
    add_user(strongbox, "root", "admin")
    with page_sign_in(strongbox, "root") as root:
        assert "Add backup storage" in root.get("/settings/backup-storages").text
        users = root.get("/settings/users")
        assert users.status_code == 200
        assert 'data-user="root"' in users.text
        audit = root.get("/settings/audit", params={"actor": "root"})
        assert audit.status_code == 200
        assert "POST /sign-in" in audit.text


def test_user_token_and_audit_commands(strongbox: RunningServer) -> None:
    added = cli(
        strongbox, "user", "add", "cli-user", "--role", "operator", STRONGBOX_USER_PASSWORD=PASSWORD
    )
    assert added.returncode == 0, added.stderr
    listed = json_of(cli(strongbox, "user", "list", "--json"))
    assert [(u["name"], u["role"]) for u in listed] == [("cli-user", "operator")]
    made = cli(
        strongbox, "token", "create", "robot", "--role", "viewer", "--service", "--days", "30"
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("sbx_")
    with client_with(strongbox, token) as robot:
        assert robot.get("/api/v1/me").json()["role"] == "viewer"
    tokens = json_of(cli(strongbox, "token", "list", "--json"))
    robot_row = next(t for t in tokens if t["name"] == "robot")
    assert robot_row["expires_at"] is not None
    assert robot_row["last_used_at"] is not None
    refused = cli(None, "user", "list", STRONGBOX_URL=strongbox.url, STRONGBOX_TOKEN=token)
    assert_one_line_error(refused, 2, "admin role")
    assert cli(strongbox, "token", "revoke", "robot").returncode == 0
    with client_with(strongbox, token) as robot:
        assert_problem(robot.get("/api/v1/me"), 401)
    changed = cli(strongbox, "user", "set", "cli-user", "--role", "viewer")
    assert changed.returncode == 0, changed.stderr
    log = json_of(cli(strongbox, "audit", "--json", "--actor", "token:admin", "--limit", "3"))
    assert [e["action"] for e in log["entries"]] == [
        "PATCH /api/v1/users/{name}",
        "DELETE /api/v1/tokens/{name}",
        "POST /api/v1/tokens",
    ]
    assert cli(strongbox, "user", "remove", "cli-user").returncode == 0
    text = cli(strongbox, "audit", "--outcome", "refused")
    assert text.returncode == 0, text.stderr
    assert "token:robot" in text.stdout
