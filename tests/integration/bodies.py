"""Request bodies that many API tests send: registered PostgreSQL and MariaDB servers, storages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from strongbox.engines.base import ConnectionInfo


def postgres_database(
    server: PostgresServer, databases: list[str], name: str = "prod", **extra: Any
) -> dict[str, Any]:
    """POST /api/v1/databases body for a throwaway PostgreSQL server, as its superuser."""
    return _database("postgresql", server.connection(), databases, name, extra)


def mariadb_database(
    server: MariaDBServer, databases: list[str], name: str = "maria", **extra: Any
) -> dict[str, Any]:
    """POST /api/v1/databases body for a throwaway MariaDB server, as its administrator."""
    return _database("mysql", server.connection(), databases, name, extra)


def _database(
    engine: str, conn: ConnectionInfo, databases: list[str], name: str, extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "name": name,
        "engine": engine,
        "host": conn.host,
        "port": conn.port,
        "username": conn.username,
        "password": conn.password,
        "databases": databases,
        **extra,
    }


def s3_storage(
    seaweed: SeaweedServer, bucket: str, name: str = "bucket", **extra: Any
) -> dict[str, Any]:
    """POST /api/v1/backup-storages body for a SeaweedFS bucket; `extra` adds or replaces
    fields (`prefix`, `region`, `endpoint_url`...)."""
    return {
        "type": "s3",
        "name": name,
        "endpoint_url": seaweed.endpoint_url,
        "bucket": bucket,
        "access_key_id": seaweed.access_key,
        "secret_access_key": seaweed.secret_key,
        "force_path_style": True,
        **extra,
    }


def folder_storage(path: Path, name: str = "disk") -> dict[str, Any]:
    return {"type": "filesystem", "name": name, "path": str(path)}
