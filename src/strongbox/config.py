"""Settings, read from `STRONGBOX_*` environment variables."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRONGBOX_", extra="ignore")

    data_dir: Path = Path("./strongbox-data")
    # SQLAlchemy URL of the catalog; default a SQLite file in the data folder.
    catalog_url: str | None = None
    admin_token: SecretStr | None = None
    secret_key: SecretStr | None = None
    workers: int = Field(default=2, ge=1, le=64)
    zstd_level: int = Field(default=3, ge=1, le=19)
    # Threads zstd may use for one backup; 0 means one per core.
    zstd_threads: int = Field(default=0, ge=0, le=64)
    upload_concurrency: int = Field(default=4, ge=1, le=32)
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
    # How long the exact row count of a restored database may take before the summary falls
    # back to the planner's estimate (the restore succeeds either way).
    restore_count_timeout_seconds: float = Field(default=300.0, gt=0)
    # Folder with PostgreSQL client programs to prefer (e.g. /usr/lib/postgresql/16/bin).
    pg_bin_dir: Path | None = None
    log_format: str = Field(default="console", pattern="^(console|json)$")

    def resolved_scratch_dir(self) -> Path:
        return self.scratch_dir if self.scratch_dir is not None else self.data_dir / "scratch"

    def resolved_catalog_url(self) -> str:
        if self.catalog_url:
            return self.catalog_url
        return f"sqlite:///{(self.data_dir / 'catalog.sqlite3').resolve()}"
