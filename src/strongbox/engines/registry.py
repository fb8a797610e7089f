"""The engine kinds Strongbox knows, in one list: adding an engine is adding its package and
one line here. Services, pages and manifest checks ask this module, never name a kind."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from strongbox.engines import mysql, postgresql
from strongbox.engines.base import Engine
from strongbox.engines.kind import EngineKind, EngineOptions
from strongbox.errors import invalid

KINDS: Mapping[str, EngineKind] = {kind.name: kind for kind in (postgresql.KIND, mysql.KIND)}
ENGINE_NAMES = tuple(KINDS)

if TYPE_CHECKING:
    EngineName = str
else:
    # The `engine` field of request bodies: one of the names above, stated as an enum in the
    # OpenAPI document (Literal[("a", "b")] is Literal["a", "b"]).
    EngineName = Literal[ENGINE_NAMES]


def kind_of(name: str) -> EngineKind:
    """The kind called `name` ("mysql" covers MariaDB too). Raises StrongboxError (INVALID,
    code "unknown-engine") for any other name."""
    kind = KINDS.get(name)
    if kind is None:
        raise invalid(
            f"unknown engine {name!r}: use one of {', '.join(ENGINE_NAMES)}",
            "unknown-engine",
            field_name="engine",
        )
    return kind


def engine_for(name: str, *, pg_bin_dir: Path | None = None) -> Engine:
    """The engine called `name`. `pg_bin_dir` is a preferred folder of PostgreSQL client
    programs. Raises the error of `kind_of` for an unknown name."""
    return kind_of(name).make(EngineOptions(pg_bin_dir=pg_bin_dir))


def artifact_formats() -> dict[str, Mapping[str, str]]:
    """The artifact formats of every kind, per artifact kind: what manifests are held to."""
    return {name: kind.artifact_formats for name, kind in KINDS.items()}
