"""TLS that verifies against a private CA: a PostgreSQL and a MariaDB that accept TLS logins only,
and SeaweedFS on https, each with a certificate from a test CA. With that CA Strongbox checks,
backs up and restores; with another CA, or for another host name, it refuses with a 4xx naming
the certificate problem, in its own connections and in the dump and restore programs alike."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fixtures.app import RunningServer
from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from fixtures.tls import TestCA
from integration.bodies import folder_storage, mariadb_database, postgres_database, s3_storage
from integration.problems import assert_problem, fields_of
from integration.seeds import mariadb_fingerprint, pg_fingerprint, seed_mariadb, seed_postgres
from integration.test_cli import assert_one_line_error, cli, json_of
from integration.test_restore import restore
from strongbox.engines.base import CHECK_FAILED, TLS_FAILED, ConnectionInfo
from strongbox.engines.mysql import MySQLEngine
from strongbox.engines.postgresql import PostgresEngine
from strongbox.errors import StrongboxError

pytestmark = pytest.mark.integration

TIMEOUT = 10.0


def verifying(conn: ConnectionInfo, ca: TestCA, folder: Path, mode: str = "verify-full") -> Any:
    ca_file = ca.write(folder / f"{ca.certificate.serial_number}.pem")
    return replace(conn, ssl_mode=mode, ssl_ca_file=str(ca_file))


def refusal(check: Callable[[], object]) -> StrongboxError:
    with pytest.raises(StrongboxError) as caught:
        check()
    return caught.value


def run_tool(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Run a planned program with nothing on its stdin (a restore client then reads no SQL)."""
    return subprocess.run(
        argv,
        env={"PATH": os.environ["PATH"], **env},
        input=b"",
        capture_output=True,
        timeout=60,
        check=False,
    )


# --- PostgreSQL -------------------------------------------------------------------------------


def test_postgresql_verify_full_accepts_the_server_signed_by_its_ca(
    pg_tls_server: PostgresServer, test_ca: TestCA, tmp_path: Path
) -> None:
    conn = verifying(pg_tls_server.connection(), test_ca, tmp_path)
    info = PostgresEngine().check(conn, [], TIMEOUT)
    assert info.flavor == "PostgreSQL"


def test_postgresql_refuses_a_server_signed_by_another_ca(
    pg_tls_server: PostgresServer, other_ca: TestCA, tmp_path: Path
) -> None:
    conn = verifying(pg_tls_server.connection(), other_ca, tmp_path)
    error = refusal(lambda: PostgresEngine().check(conn, [], TIMEOUT))
    assert error.code == TLS_FAILED
    assert "unknown CA" in error.detail
    assert "ssl_ca" in error.detail
    assert [e.field for e in error.errors] == ["ssl_ca"]


def test_postgresql_verify_full_refuses_a_certificate_for_another_host_and_verify_ca_not(
    pg_tls_server: PostgresServer, test_ca: TestCA, tmp_path: Path
) -> None:
    by_name = replace(verifying(pg_tls_server.connection(), test_ca, tmp_path), host="localhost")
    error = refusal(lambda: PostgresEngine().check(by_name, [], TIMEOUT))
    assert error.code == TLS_FAILED
    assert "hostname mismatch" in error.detail
    assert "'localhost'" in error.detail

    PostgresEngine().check(replace(by_name, ssl_mode="verify-ca"), [], TIMEOUT)


def test_postgresql_require_refuses_a_server_without_tls(pg_server: PostgresServer) -> None:
    conn = replace(pg_server.connection(), ssl_mode="require")
    error = refusal(lambda: PostgresEngine().check(conn, [], TIMEOUT))
    assert error.code == TLS_FAILED
    assert "does not offer TLS" in error.detail


def test_postgresql_disable_connects_without_tls(pg_tls_server: PostgresServer) -> None:
    # The server accepts TLS logins only, so a refusal shows that no TLS was tried.
    conn = replace(pg_tls_server.connection(), ssl_mode="disable")
    error = refusal(lambda: PostgresEngine().check(conn, [], TIMEOUT))
    assert error.code == CHECK_FAILED
    assert "no encryption" in error.detail


def test_postgresql_dump_program_verifies_the_certificate_too(
    pg_tls_server: PostgresServer, test_ca: TestCA, other_ca: TestCA, tmp_path: Path
) -> None:
    pg_tls_server.create_database("tlsdump")
    conn = verifying(pg_tls_server.connection(), test_ca, tmp_path)
    commands, _tools = PostgresEngine().plan_dump(conn, ["tlsdump"], TIMEOUT)
    dump = next(c for c in commands if c.kind == "database")
    assert dump.env["PGSSLMODE"] == "verify-full"

    done = run_tool(dump.argv, dump.env)
    assert done.returncode == 0, done.stderr
    wrong = other_ca.write(tmp_path / "wrong.pem")
    done = run_tool(dump.argv, {**dump.env, "PGSSLROOTCERT": str(wrong)})
    assert done.returncode != 0
    assert b"certificate verify failed" in done.stderr


# --- MariaDB ----------------------------------------------------------------------------------


def test_mariadb_verify_full_accepts_the_server_and_refuses_another_ca(
    mariadb_tls_server: MariaDBServer, test_ca: TestCA, other_ca: TestCA, tmp_path: Path
) -> None:
    engine = MySQLEngine()
    info = engine.check(verifying(mariadb_tls_server.connection(), test_ca, tmp_path), [], TIMEOUT)
    assert info.flavor == "MariaDB"

    conn = verifying(mariadb_tls_server.connection(), other_ca, tmp_path)
    error = refusal(lambda: engine.check(conn, [], TIMEOUT))
    assert error.code == TLS_FAILED
    assert "unknown CA" in error.detail
    assert [e.field for e in error.errors] == ["ssl_ca"]


def test_mariadb_verify_full_refuses_a_certificate_for_another_host_and_verify_ca_not(
    mariadb_tls_server: MariaDBServer, test_ca: TestCA, tmp_path: Path
) -> None:
    conn = verifying(mariadb_tls_server.connection(), test_ca, tmp_path)
    by_name = replace(conn, host="localhost")
    error = refusal(lambda: MySQLEngine().check(by_name, [], TIMEOUT))
    assert error.code == TLS_FAILED
    assert "hostname mismatch" in error.detail
    assert [e.field for e in error.errors] == ["host"]

    MySQLEngine().check(replace(by_name, ssl_mode="verify-ca"), [], TIMEOUT)


def test_mariadb_require_refuses_a_server_without_tls(mariadb_server: MariaDBServer) -> None:
    conn = replace(mariadb_server.connection(), ssl_mode="require")
    error = refusal(lambda: MySQLEngine().check(conn, [], TIMEOUT))
    assert error.code == TLS_FAILED
    assert "does not offer TLS" in error.detail


def test_mariadb_dump_and_restore_programs_verify_the_certificate_too(
    mariadb_tls_server: MariaDBServer, test_ca: TestCA, other_ca: TestCA, tmp_path: Path
) -> None:
    mariadb_tls_server.execute("CREATE DATABASE IF NOT EXISTS tlsdump")
    engine = MySQLEngine()
    conn = verifying(mariadb_tls_server.connection(), test_ca, tmp_path)
    commands, _tools = engine.plan_dump(conn, ["tlsdump"], TIMEOUT)
    dump = commands[0]
    load = engine.plan_restore(conn, "sql", "tlsdump", jobs=1, input_path=None)
    wrong = f"--ssl-ca={other_ca.write(tmp_path / 'wrong.pem')}"
    for argv, env in ((dump.argv, dump.env), (load.argv, load.env)):
        assert "--ssl-verify-server-cert" in argv
        done = run_tool(argv, env)
        assert done.returncode == 0, done.stderr
        with_wrong_ca = [wrong if arg.startswith("--ssl-ca=") else arg for arg in argv]
        done = run_tool(with_wrong_ca, env)
        assert done.returncode != 0
        assert b"TLS/SSL error" in done.stderr


# --- through the API, end to end --------------------------------------------------------------


def test_postgresql_and_a_bucket_behind_private_cas_back_up_and_restore_verified(
    strongbox: RunningServer,
    pg_tls_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    test_ca: TestCA,
    other_ca: TestCA,
) -> None:
    api = strongbox.client
    seed_postgres(pg_tls_server, "tlsshop", scale=0.05)
    source = pg_fingerprint(pg_tls_server, "tlsshop")
    storage = {**s3_storage(seaweed, s3_bucket), "endpoint_url": seaweed.https_endpoint_url}

    problem = assert_problem(
        api.post("/api/v1/backup-storages", json=storage), 422, "storage-tls-failure"
    )
    assert "ca_bundle" in problem["detail"]
    created = api.post("/api/v1/backup-storages", json={**storage, "ca_bundle": seaweed.ca.pem})
    assert created.status_code == 201, created.text
    assert created.json()["ca_bundle"] == seaweed.ca.pem
    assert created.json()["verify_tls"] is True

    database = postgres_database(pg_tls_server, ["tlsshop"], ssl_mode="verify-full")
    problem = assert_problem(
        api.post("/api/v1/databases", json={**database, "ssl_ca": other_ca.pem}),
        422,
        TLS_FAILED,
    )
    assert "unknown CA" in problem["detail"]
    assert fields_of(problem) == {"ssl_ca"}
    created = api.post("/api/v1/databases", json={**database, "ssl_ca": test_ca.pem})
    assert created.status_code == 201, created.text
    assert (created.json()["ssl_mode"], created.json()["ssl_ca"]) == ("verify-full", test_ca.pem)

    api.post(
        "/api/v1/databases/prod/backups", json={"storage": "bucket", "name": "b1"}
    ).raise_for_status()
    backup = strongbox.wait_for_backup("prod", "b1")
    assert backup["state"] == "succeeded", backup["error"]
    restored = restore(strongbox, "prod", backup="b1", database_map={"tlsshop": "tlsshop_copy"})
    assert restored["state"] == "succeeded", restored["error"]
    assert pg_fingerprint(pg_tls_server, "tlsshop_copy") == source

    problem = assert_problem(
        api.patch("/api/v1/backup-storages/bucket", json={"verify_tls": False}), 422
    )
    assert "ca_bundle would not be used" in problem["detail"]
    # Without its CA bundle the storage no longer passes its check.
    problem = assert_problem(
        api.patch("/api/v1/backup-storages/bucket", json={"ca_bundle": None}),
        422,
        "storage-tls-failure",
    )
    # A mode that verifies nothing drops the CA, which would no longer be used.
    changed = api.patch("/api/v1/databases/prod", json={"ssl_mode": "require"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["ssl_mode"], changed.json()["ssl_ca"]) == ("require", None)
    pg_tls_server.execute("DROP DATABASE tlsshop_copy")
    pg_tls_server.execute("DROP DATABASE tlsshop")


def test_mariadb_behind_a_private_ca_backs_up_and_restores_verified(
    strongbox: RunningServer,
    mariadb_tls_server: MariaDBServer,
    test_ca: TestCA,
    other_ca: TestCA,
    tmp_path: Path,
) -> None:
    api = strongbox.client
    seed_mariadb(mariadb_tls_server, "tlsshop", scale=0.05)
    source = mariadb_fingerprint(mariadb_tls_server, "tlsshop")
    api.post("/api/v1/backup-storages", json=folder_storage(tmp_path / "b")).raise_for_status()
    database = mariadb_database(mariadb_tls_server, ["tlsshop"], "shop", ssl_mode="verify-full")
    problem = assert_problem(
        api.post("/api/v1/databases", json={**database, "ssl_ca": other_ca.pem}), 422, TLS_FAILED
    )
    assert "unknown CA" in problem["detail"]
    created = api.post("/api/v1/databases", json={**database, "ssl_ca": test_ca.pem})
    assert created.status_code == 201, created.text

    api.post(
        "/api/v1/databases/shop/backups", json={"storage": "disk", "name": "b1"}
    ).raise_for_status()
    backup = strongbox.wait_for_backup("shop", "b1")
    assert backup["state"] == "succeeded", backup["error"]
    restored = restore(strongbox, "shop", backup="b1", database_map={"tlsshop": "tlsshop_copy"})
    assert restored["state"] == "succeeded", restored["error"]
    assert mariadb_fingerprint(mariadb_tls_server, "tlsshop_copy") == source
    mariadb_tls_server.execute("DROP DATABASE tlsshop_copy")
    mariadb_tls_server.execute("DROP DATABASE tlsshop")


def test_tls_settings_that_cannot_work_are_refused_before_any_connection(
    strongbox: RunningServer, pg_server: PostgresServer, test_ca: TestCA
) -> None:
    api = strongbox.client
    storage = {
        "type": "s3",
        "name": "never-reached",
        "endpoint_url": "https://127.0.0.1:1",
        "bucket": "bucket-1",
        "access_key_id": "key",
        "secret_access_key": "secret",
    }
    for bundle, words in (
        ("hello", "not a PEM certificate bundle"),
        (_private_key_pem(), "private key"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "cannot be read"),
    ):
        problem = assert_problem(
            api.post("/api/v1/backup-storages", json={**storage, "ca_bundle": bundle}), 422
        )
        assert fields_of(problem) == {"body.ca_bundle"}
        assert words in problem["detail"]
    unverified = {**storage, "verify_tls": False, "ca_bundle": test_ca.pem}
    problem = assert_problem(api.post("/api/v1/backup-storages", json=unverified), 422)
    assert "ca_bundle would not be used" in problem["detail"]

    database = postgres_database(pg_server, [])
    for extra, words in (
        ({"ssl_mode": "verify-full"}, "needs ssl_ca"),
        ({"ssl_ca": test_ca.pem}, "ssl_ca is used only to verify"),
        ({"ssl_mode": "allow"}, "ssl_mode"),
    ):
        problem = assert_problem(api.post("/api/v1/databases", json={**database, **extra}), 422)
        assert words in problem["detail"]
    assert api.get("/api/v1/databases").json()["items"] == []


def _private_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_cli_reads_the_ca_certificates_from_files(
    strongbox: RunningServer,
    pg_tls_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
    test_ca: TestCA,
    other_ca: TestCA,
    tmp_path: Path,
) -> None:
    right, wrong = test_ca.write(tmp_path / "ca.pem"), other_ca.write(tmp_path / "other.pem")
    db = [
        *("db", "add", "prod", "--engine", "postgresql", "--host", pg_tls_server.host),
        *("--port", str(pg_tls_server.port), "--username", pg_tls_server.superuser),
        *("--ssl-mode", "verify-full"),
    ]
    password = {"STRONGBOX_DB_PASSWORD": pg_tls_server.password}
    refused = cli(strongbox, *db, "--ssl-ca", str(wrong), **password)
    assert_one_line_error(refused, 2, "unknown CA")
    missing = cli(strongbox, *db, "--ssl-ca", str(tmp_path / "absent.pem"), **password)
    assert_one_line_error(missing, 2, "--ssl-ca", "absent.pem")
    added = json_of(cli(strongbox, *db, "--ssl-ca", str(right), "--json", **password))
    assert (added["ssl_mode"], added["ssl_ca"]) == ("verify-full", test_ca.pem)

    storage = [
        *("storage", "add", "bucket", "--endpoint-url", seaweed.https_endpoint_url),
        *("--bucket", s3_bucket, "--access-key-id", seaweed.access_key, "--force-path-style"),
    ]
    secret = {"STRONGBOX_S3_SECRET_ACCESS_KEY": seaweed.secret_key}
    refused = cli(strongbox, *storage, **secret)
    assert_one_line_error(refused, 2, "ca_bundle")
    ca_file = seaweed.ca.write(tmp_path / "seaweed.pem")
    added = json_of(cli(strongbox, *storage, "--ca-bundle", str(ca_file), "--json", **secret))
    assert added["ca_bundle"] == seaweed.ca.pem
    removed = cli(strongbox, "storage", "edit", "bucket", "--no-ca-bundle", **secret)
    assert_one_line_error(removed, 2, "ca_bundle")
