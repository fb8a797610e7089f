"""Settings, read from `STRONGBOX_*` environment variables."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from strongbox.catalog.url import normal_catalog_url
from strongbox.secret_env import SERVER_SECRET_FIELDS, secret_from_env

# An admin token shorter than this is refused: it would be guessable, and a value such as ""
# (an unset variable in a compose file) would otherwise become a token that nobody can send.
ADMIN_TOKEN_MIN_LENGTH = 24


def normal_token(text: str) -> str:
    """A token as stored and as checked: without surrounding whitespace (a copied token often
    brings a line break or spaces along).

    >>> normal_token("  sbx_abc\\n")
    'sbx_abc'
    """
    return text.strip()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRONGBOX_", extra="ignore")

    data_dir: Path = Path("./strongbox-data")
    # SQLAlchemy URL of the catalog (catalog/url.py); default a SQLite file in the data folder.
    # Secret: it may hold the catalog's password.
    catalog_url: SecretStr | None = None
    admin_token: SecretStr | None = None
    secret_key: SecretStr | None = None
    workers: int = Field(default=2, ge=1, le=64)
    zstd_level: int = Field(default=3, ge=1, le=19)
    # Threads zstd may use for one backup; 0 means one per core.
    zstd_threads: int = Field(default=0, ge=0, le=64)
    # Parts uploaded in parallel per object; each holds a 5 MiB part (docs/configuration.md).
    upload_concurrency: int = Field(default=2, ge=1, le=32)
    # S3's limit of parts per object; lowered only by tests, so that a small database is
    # stored as several objects. Not for production use.
    test_parts_per_object: int = Field(default=10_000, ge=2, le=10_000)
    # A backup whose dump produces no byte for this long is failed as stalled.
    stall_timeout_seconds: float = Field(default=300.0, gt=0)
    # After a downtime, the newest missed slot of a schedule still runs if it is this recent.
    catch_up_window: timedelta = timedelta(hours=1)
    # How often the objects of failed backups that could not be removed are tried again.
    cleanup_retry_seconds: float = Field(default=60.0, gt=0)
    # Timeout of the live checks of storages and databases.
    check_timeout_seconds: float = Field(default=10.0, gt=0)
    # Folder of the decompressed artifacts restores keep while they run; default {data}/scratch.
    scratch_dir: Path | None = None
    # Folder where streamed WAL waits for its upload, one subfolder per database;
    # default {data}/spool.
    spool_dir: Path | None = None
    # How long the exact row count of a restored database may take before the summary falls
    # back to the planner's estimate (the restore succeeds either way).
    restore_count_timeout_seconds: float = Field(default=300.0, gt=0)
    # Folder with PostgreSQL client programs to prefer (e.g. /usr/lib/postgresql/16/bin).
    pg_bin_dir: Path | None = None
    # Folder of the PostgreSQL instances restores make (one folder each); default
    # {data}/instances. Every parent must be traversable by the instances' OS user.
    instances_dir: Path | None = None
    # The OS user that runs those instances; default postgres when Strongbox runs as root
    # (PostgreSQL refuses root), else Strongbox's own user.
    instance_os_user: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    # The Python the instances' OS user runs `-m strongbox wal-fetch` with (the restore_command
    # of a point-in-time restore); default Strongbox's own, when that user can run it.
    wal_fetch_python: str | None = Field(default=None, pattern=r"^/[!-~]+$", max_length=1024)
    # How long a new instance may take to recover and be promoted before the restore fails.
    recovery_timeout_seconds: float = Field(default=600.0, gt=0)
    log_format: str = Field(default="console", pattern="^(console|json)$")
    # Who runs backups and restores: threads inside `strongbox serve` (local), or Celery workers
    # (`strongbox worker`) reached through the broker.
    executor: str = Field(default="local", pattern="^(local|celery)$")
    broker_url: SecretStr | None = None
    # A running job whose heartbeat is older than this is failed as "worker lost".
    job_lost_after: float = Field(default=60.0, gt=0, le=86_400)
    # The address people use, e.g. https://backups.example.com; an https one makes the page's
    # session cookie Secure even when a proxy in front talks plain http to Strongbox.
    public_url: str | None = Field(default=None, pattern=r"^https?://[!-~]+$", max_length=1024)

    # Watching Strongbox: a bearer token that opens /metrics only (any viewer API token does
    # too). /readyz also checks the broker when `broker_url` is set.
    metrics_token: SecretStr | None = None
    # How often databases with freshness_hours are checked for a backup that is too old.
    freshness_check_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        """`STRONGBOX_<SECRET>_FILE` names a file holding the secret (see secret_env.py)."""
        if not isinstance(data, dict):
            return data
        for field in SERVER_SECRET_FIELDS:
            name = f"STRONGBOX_{field.upper()}"
            # A value given in code (not from the environment) is kept.
            given_in_code = field in data and name not in os.environ
            if f"{name}_FILE" in os.environ and not given_in_code:
                data[field] = secret_from_env(name, os.environ)
        return data

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = normal_token(value.get_secret_value())
        if len(token) < ADMIN_TOKEN_MIN_LENGTH:
            raise ValueError(
                f"the metrics token must be at least {ADMIN_TOKEN_MIN_LENGTH} characters "
                f"(without surrounding spaces; got {len(token)}): set a longer one"
            )
        return SecretStr(token)

    @field_validator("catalog_url")
    @classmethod
    def _catalog_url_supported(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # an empty variable (an unset one in a compose file) means the default
        return SecretStr(normal_catalog_url(value.get_secret_value()))

    @field_validator("admin_token")
    @classmethod
    def _admin_token_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = normal_token(value.get_secret_value())
        if len(token) < ADMIN_TOKEN_MIN_LENGTH:
            raise ValueError(
                f"the admin token must be at least {ADMIN_TOKEN_MIN_LENGTH} characters "
                f"(without surrounding spaces; got {len(token)}): set a longer one, or unset "
                "it to have one generated"
            )
        return SecretStr(token)

    @model_validator(mode="after")
    def _celery_needs_a_broker(self) -> Settings:
        if self.executor == "celery" and self.broker_url is None:
            raise ValueError(
                "STRONGBOX_EXECUTOR=celery needs STRONGBOX_BROKER_URL (redis://... or amqp://...)"
            )
        return self

    def resolved_scratch_dir(self) -> Path:
        return self.scratch_dir if self.scratch_dir is not None else self.data_dir / "scratch"

    def resolved_spool_dir(self) -> Path:
        return self.spool_dir if self.spool_dir is not None else self.data_dir / "spool"

    def resolved_instances_dir(self) -> Path:
        return self.instances_dir if self.instances_dir is not None else self.data_dir / "instances"

    @property
    def catalog_file(self) -> Path:
        """The embedded catalog's SQLite file (used when no catalog URL is set)."""
        return self.data_dir / "catalog.sqlite3"

    def resolved_catalog_url(self) -> str:
        if self.catalog_url is not None:
            return self.catalog_url.get_secret_value()
        return f"sqlite:///{self.catalog_file.resolve()}"
