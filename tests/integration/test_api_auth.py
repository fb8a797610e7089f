import os
import stat
from pathlib import Path

import httpx
import pytest

from fixtures.app import RunningServer, start_server, stop_server
from integration.problems import assert_problem
from strongbox.config import Settings
from strongbox.server import Embedded
from strongbox.services.auth import ADMIN_TOKEN_FILE

pytestmark = pytest.mark.integration


def test_a_request_without_a_token_is_a_401_problem(strongbox: RunningServer) -> None:
    response = httpx.get(f"{strongbox.url}/api/v1/databases")
    body = assert_problem(response, 401)
    assert "Authorization" in body["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_wrong_token_is_a_401_problem(strongbox: RunningServer) -> None:
    response = httpx.get(
        f"{strongbox.url}/api/v1/databases", headers={"Authorization": "Bearer nope"}
    )
    body = assert_problem(response, 401)
    assert "not valid" in body["detail"]


def test_a_non_bearer_scheme_is_a_401_problem(strongbox: RunningServer) -> None:
    response = httpx.get(
        f"{strongbox.url}/api/v1/databases", headers={"Authorization": "Basic YTpi"}
    )
    assert_problem(response, 401)


def test_the_admin_token_works(strongbox: RunningServer) -> None:
    assert strongbox.client.get("/api/v1/databases").json()["items"] == []


def test_an_unknown_path_is_a_404_problem(strongbox: RunningServer) -> None:
    assert_problem(strongbox.client.get("/api/v1/nothing-here"), 404)


def test_openapi_and_docs_are_served(strongbox: RunningServer) -> None:
    spec = httpx.get(f"{strongbox.url}/api/v1/openapi.json").json()
    assert "/api/v1/databases/{database}/backups" in spec["paths"]
    assert httpx.get(f"{strongbox.url}/api/docs").status_code == 200
    assert "Strongbox" in httpx.get(f"{strongbox.url}/").text


def test_a_generated_admin_token_is_saved_0600_and_only_its_hash_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    embedded = Embedded.prepare(Settings(data_dir=data, secret_key="k"))
    try:
        token_file = data / ADMIN_TOKEN_FILE
        token = token_file.read_text().strip()
        assert len(token) > 30
        assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
        assert token in capsys.readouterr().err  # printed once to the console
        assert token.encode() not in (data / "catalog.sqlite3").read_bytes()
    finally:
        embedded.stop()
    # A second start keeps the token and prints nothing.
    again = Embedded.prepare(Settings(data_dir=data, secret_key="k"))
    again.stop()
    assert token not in capsys.readouterr().err
    assert token_file.read_text().strip() == token


def test_the_generated_token_authenticates_requests(tmp_path: Path) -> None:
    running, server = start_server(tmp_path / "data")
    try:
        # start_server sets STRONGBOX_ADMIN_TOKEN; the token file is only for generated tokens.
        assert not (tmp_path / "data" / ADMIN_TOKEN_FILE).exists()
        ok = httpx.get(
            f"{running.url}/api/v1/backup-storages",
            headers={"Authorization": f"Bearer {running.token}"},
        )
        assert ok.status_code == 200
    finally:
        stop_server(running, server)
