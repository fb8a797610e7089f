"""Request bodies that many API tests send: a registered PostgreSQL server, storages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer


def postgres_database(
    server: PostgresServer, databases: list[str], name: str = "prod", **extra: Any
) -> dict[str, Any]:
    """POST /api/v1/databases body for a throwaway PostgreSQL server, as its superuser."""
    return {
        "name": name,
        "engine": "postgresql",
        "host": server.host,
        "port": server.port,
        "username": server.superuser,
        "password": server.password,
        "databases": databases,
        **extra,
    }


def s3_storage(seaweed: SeaweedServer, bucket: str, name: str = "bucket") -> dict[str, Any]:
    """POST /api/v1/backup-storages body for a SeaweedFS bucket."""
    return {
        "type": "s3",
        "name": name,
        "endpoint_url": seaweed.endpoint_url,
        "bucket": bucket,
        "access_key_id": seaweed.access_key,
        "secret_access_key": seaweed.secret_key,
        "force_path_style": True,
    }


def folder_storage(path: Path, name: str = "disk") -> dict[str, Any]:
    return {"type": "filesystem", "name": name, "path": str(path)}
