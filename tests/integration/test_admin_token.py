"""The admin token: its rules at start, whitespace, and `strongbox token rotate`."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from fixtures.app import start_server, stop_server
from integration.host_cli import run_cli
from strongbox.config import Settings
from strongbox.server import Embedded
from strongbox.services import auth
from strongbox.services.auth import ADMIN_TOKEN_FILE
from strongbox.web.session import COOKIE_NAME

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("token", ["", "   ", "short-token", "  twenty-three-characters  "])
def test_an_empty_or_short_admin_token_is_refused_at_start_with_one_line(
    tmp_path: Path, token: str
) -> None:
    result = run_cli(
        "serve", "--port", "1", STRONGBOX_ADMIN_TOKEN=token, STRONGBOX_DATA_DIR=str(tmp_path)
    )
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("strongbox: error: STRONGBOX_ADMIN_TOKEN: ")
    assert "at least 24 characters" in lines[0]
    assert not (tmp_path / "catalog.sqlite3").exists()  # refused before anything was made


def test_a_token_given_with_surrounding_spaces_is_stored_and_checked_stripped(
    tmp_path: Path,
) -> None:
    token = "a-token-of-thirty-characters-x"
    embedded = Embedded.prepare(
        Settings(data_dir=tmp_path, secret_key="k", admin_token=f"  {token}\n")
    )
    try:
        ctx = embedded.context
        assert auth.authenticate(ctx, f"Bearer {token}").role == "admin"
        assert auth.authenticate(ctx, f"Bearer   {token}  ").role == "admin"
    finally:
        embedded.stop()


def test_rotate_replaces_the_token_of_a_running_server_and_ends_its_sessions(
    tmp_path: Path,
) -> None:
    running, server = start_server(tmp_path / "data")
    try:
        old = running.token
        signed_in = httpx.post(f"{running.url}/sign-in", data={"token": old})
        cookies = {COOKIE_NAME: signed_in.cookies[COOKIE_NAME]}
        page = httpx.get(f"{running.url}/databases", cookies=cookies, follow_redirects=False)
        assert page.status_code == 200
        result = run_cli("token", "rotate", "--data-dir", str(tmp_path / "data"))
        assert result.returncode == 0, result.stderr
        new = result.stdout.strip()
        assert new.startswith("sbx_")
        assert len(new) >= 24
        assert "no longer works" in result.stderr

        def status(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return httpx.get(f"{running.url}/api/v1/databases", headers=headers).status_code

        assert status(old) == 401
        assert status(new) == 200
        # The page's session made with the old token has ended too.
        page = httpx.get(f"{running.url}/databases", cookies=cookies, follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == "/"
    finally:
        stop_server(running, server)


def test_rotate_rewrites_a_generated_token_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Embedded.prepare(Settings(data_dir=data, secret_key="k")).stop()
    token_file = data / ADMIN_TOKEN_FILE
    first = token_file.read_text().strip()
    result = run_cli("token", "rotate", STRONGBOX_DATA_DIR=str(data))
    assert result.returncode == 0, result.stderr
    new = result.stdout.strip()
    assert new != first
    assert token_file.read_text().strip() == new
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_rotate_without_a_catalog_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("token", "rotate", "--data-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.startswith("strongbox: error: no Strongbox catalog in ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "nowhere").exists()
