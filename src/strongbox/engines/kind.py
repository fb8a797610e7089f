"""What an engine kind declares about itself, once, in its own package: the facts services,
pages and manifest checks need without naming the kind (see `engines.registry`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from strongbox.engines.base import Engine


@dataclass(frozen=True)
class EngineOptions:
    """The settings engines are made with. `pg_bin_dir`: a preferred folder of PostgreSQL
    client programs (STRONGBOX_PG_BIN_DIR); other kinds ignore it."""

    pg_bin_dir: Path | None = None


@dataclass(frozen=True)
class EngineKind:
    """One kind of database server.

    `name` is the `engine` of databases, backups and manifests; `label` is how pages show it;
    `default_port` is taken when a database is registered without a port;
    `artifact_formats` maps each artifact kind its backups write ("database", "globals") to
    the format of that artifact, which manifests are held to; `parallel_restore` says whether
    a restore runs the requested parallel jobs (else one); `make` builds the engine itself."""

    name: str
    label: str
    default_port: int
    artifact_formats: Mapping[str, str]
    parallel_restore: bool
    make: Callable[[EngineOptions], Engine]
