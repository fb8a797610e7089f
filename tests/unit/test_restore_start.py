"""When a restore starts while its artifact streams: only a parallel restore into a database the
restore made itself (a new one, or the side database of a PostgreSQL overwrite)."""

from __future__ import annotations

import pytest

from strongbox.domain.manifest import ManifestArtifact
from strongbox.domain.restore_plan import CREATE, FILL, OVERWRITE, PlannedDatabase
from strongbox.engines.base import RestoreCommand
from strongbox.engines.mysql.engine import MySQLEngine
from strongbox.engines.postgresql.engine import PostgresEngine, _with_sections
from strongbox.services.restore_steps import starts_early

ARTIFACT = ManifestArtifact(
    name="app.pgdump.zst",
    key="prod/b1/app.pgdump.zst",
    kind="database",
    dbname="app",
    format="pg_dump-custom",
    raw_bytes=100,
    stored_bytes=40,
    sha256="ab" * 32,
)


def planned(action: str) -> PlannedDatabase:
    return PlannedDatabase(artifact=ARTIFACT, source="app", target="app", action=action)


@pytest.mark.parametrize(
    ("action", "jobs", "early"),
    [
        (CREATE, 2, True),
        (OVERWRITE, 2, True),  # into the side database, swapped in only once verified
        (FILL, 2, False),  # an existing database: only from a copy verified whole
        (CREATE, 1, False),  # one job streams without a copy at all
        (OVERWRITE, 1, False),
    ],
)
def test_postgresql_starts_early_only_into_a_database_it_made(
    action: str, jobs: int, early: bool
) -> None:
    assert starts_early(PostgresEngine(), planned(action), jobs) is early


@pytest.mark.parametrize("action", [CREATE, OVERWRITE, FILL])
def test_mariadb_never_starts_early(action: str) -> None:
    assert starts_early(MySQLEngine(), planned(action), 2) is False


def test_the_sections_go_right_after_the_program() -> None:
    command = RestoreCommand(["/usr/bin/pg_restore", "--exit-on-error", "-d", "app"], {}, None)
    limited = _with_sections(command, ("pre-data", "data"))
    assert limited.argv == [
        "/usr/bin/pg_restore",
        "--section=pre-data",
        "--section=data",
        "--exit-on-error",
        "-d",
        "app",
    ]
