"""Every secret setting also reads from a file named by its `_FILE` variable: the server's
(`STRONGBOX_ADMIN_TOKEN`, `STRONGBOX_SECRET_KEY`, `STRONGBOX_CATALOG_URL`) and the CLI's
(`STRONGBOX_TOKEN`, `STRONGBOX_DB_PASSWORD`, ...)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from fixtures.app import RunningServer
from fixtures.ports import free_port
from fixtures.postgres import PostgresServer
from integration.host_cli import STRONGBOX, run_cli
from strongbox.config import Settings

pytestmark = pytest.mark.integration


def secret_file(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    return str(path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("admin_token", "an-admin-token-from-a-file-0123"),
        ("secret_key", "a passphrase from a file"),
        ("catalog_url", "postgresql+psycopg://strongbox:pw@db.example/strongbox"),
    ],
)
def test_a_server_secret_is_read_from_its_file_without_the_line_break(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: str
) -> None:
    name = f"STRONGBOX_{field.upper()}"
    monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(f"{name}_FILE", secret_file(tmp_path, "s", value + "\n"))
    read = getattr(Settings(), field)
    assert (read if isinstance(read, str) else read.get_secret_value()) == value


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"STRONGBOX_SECRET_KEY": "inline", "STRONGBOX_SECRET_KEY_FILE": "{tmp}/key"},
            "STRONGBOX_SECRET_KEY and STRONGBOX_SECRET_KEY_FILE are both set: keep one of them",
        ),
        (
            {"STRONGBOX_ADMIN_TOKEN_FILE": "{tmp}/missing"},
            "STRONGBOX_ADMIN_TOKEN_FILE: cannot read '{tmp}/missing': No such file or directory",
        ),
    ],
    ids=["both-set", "unreadable"],
)
def test_serve_refuses_a_secret_set_twice_or_an_unreadable_file_in_one_line(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    secret_file(tmp_path, "key", "a passphrase\n")
    given = {k: v.format(tmp=tmp_path) for k, v in env.items()}
    result = run_cli("serve", "--port", "1", STRONGBOX_DATA_DIR=str(tmp_path / "d"), **given)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "strongbox: error: " + message.format(tmp=tmp_path)
    ]
    assert not (tmp_path / "d").exists()  # refused before anything was made


def test_serve_takes_its_admin_token_and_secret_key_from_files(tmp_path: Path) -> None:
    token = "an-admin-token-read-from-a-file"
    port = free_port()
    env = {
        "STRONGBOX_DATA_DIR": str(tmp_path / "data"),
        "STRONGBOX_ADMIN_TOKEN_FILE": secret_file(tmp_path, "token", token + "\n"),
        "STRONGBOX_SECRET_KEY_FILE": secret_file(tmp_path, "key", "a passphrase\n"),
    }
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRONGBOX_")}
    process = subprocess.Popen(
        [str(STRONGBOX), "serve", "--port", str(port)],
        env={**environment, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/backup-storages"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                assert process.poll() is None, "the server stopped"
                time.sleep(0.2)
        assert answer.status_code == 200
        wrong = httpx.get(url, headers={"Authorization": f"Bearer {token}\\n"})
        assert wrong.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_cli_reads_its_token_and_a_database_password_from_files(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    pg_server.create_database("from_files")
    env = {
        "STRONGBOX_URL": strongbox.url,
        "STRONGBOX_TOKEN_FILE": secret_file(tmp_path, "token", strongbox.token + "\n"),
        "STRONGBOX_DB_PASSWORD_FILE": secret_file(tmp_path, "pw", pg_server.password + "\n"),
    }
    args = ["--engine", "postgresql", "--host", pg_server.host, "--port", str(pg_server.port)]
    result = run_cli(
        "db", "add", "filed", *args, "--username", pg_server.superuser, "-d", "from_files", **env
    )
    assert result.returncode == 0, result.stderr
    assert strongbox.client.get("/api/v1/databases/filed").status_code == 200
    pg_server.execute("DROP DATABASE from_files")


def test_the_cli_refuses_its_token_set_twice(tmp_path: Path) -> None:
    result = run_cli(
        "storage", "list",
        STRONGBOX_TOKEN="inline", STRONGBOX_TOKEN_FILE=secret_file(tmp_path, "t", "x"),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "strongbox: error: STRONGBOX_TOKEN and STRONGBOX_TOKEN_FILE are both set: keep one of them"
    )
