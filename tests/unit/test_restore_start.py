"""When a restore starts while its artifact streams: only a parallel restore into a database the
restore made itself (a new one, or the side database of a PostgreSQL overwrite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongbox.domain.manifest import ManifestArtifact
from strongbox.domain.restore_plan import CREATE, FILL, OVERWRITE, PlannedDatabase
from strongbox.engines.base import RestoreCommand
from strongbox.engines.mysql.engine import MySQLEngine
from strongbox.engines.postgresql import early_restore
from strongbox.engines.postgresql.engine import PostgresEngine
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
    limited = early_restore.with_sections(command, ("pre-data", "data"))
    assert limited.argv == [
        "/usr/bin/pg_restore",
        "--section=pre-data",
        "--section=data",
        "--exit-on-error",
        "-d",
        "app",
    ]


STREAMED = RestoreCommand(["/usr/bin/pg_restore", "--exit-on-error", "-d", "app"], {}, None)
FROM_COPY = RestoreCommand(
    ["/usr/bin/pg_restore", "--exit-on-error", "-j", "2", "-d", "app", "/s/1.dump"], {}, "/s/1.dump"
)
LISTING = """;
; Archive created at 2026-11-30 02:00:00 UTC
;
215; 1259 16386 TABLE public customers app
216; 1259 16390 TABLE public orders app
217; 1259 16399 TABLE public notes app
3380; 0 16386 TABLE DATA public customers app
3381; 0 16390 TABLE DATA public orders app
3382; 0 16399 TABLE DATA public notes app
3383; 0 0 SEQUENCE SET public orders_id_seq app
3230; 2606 16404 CONSTRAINT public orders orders_pkey app
"""


def test_the_early_plan_reads_the_stream_for_its_listing_schema_and_rows_and_the_copy_last() -> (
    None
):
    plan = early_restore.plan(STREAMED, FROM_COPY)
    assert plan.listing.argv[:2] == ["/usr/bin/pg_restore", "--list"]
    assert plan.schema.argv[1] == "--section=pre-data"
    assert plan.data.argv[1] == "--section=data"
    assert plan.rest.argv[1] == "--section=post-data"
    assert plan.data_script.argv == ["/usr/bin/pg_restore", "--section=data", "-f", "-"]
    assert plan.rest.input_path == "/s/1.dump"
    assert {c.input_path for c in (plan.listing, plan.schema, plan.data, plan.data_script)} == {
        None
    }


def test_the_rows_are_dealt_out_by_table_and_every_other_entry_goes_with_the_first_share(
    tmp_path: Path,
) -> None:
    plan = early_restore.plan(STREAMED, FROM_COPY)
    commands = early_restore.data_commands(plan, LISTING, 2, tmp_path)
    assert len(commands) == 2
    lists = []
    for command in commands:
        assert command.argv[1:3] == ["-L", command.argv[2]]
        assert "--section=data" in command.argv
        lists.append(Path(command.argv[2]).read_text().splitlines())
    ids = [[line.split(";")[0] for line in lines] for lines in lists]
    # In the archive's order; tables dealt out in turn; the schema, sequence values and
    # constraints (which --section=data filters out or keeps) all with the first share.
    assert ids == [["215", "216", "217", "3380", "3382", "3383", "3230"], ["3381"]]
    # Every entry is in exactly one share.
    entries = [line for line in LISTING.splitlines() if not line.startswith(";")]
    assert sorted(line for share in lists for line in share) == sorted(entries)


@pytest.mark.parametrize("jobs", [1, 4])
def test_one_run_when_one_job_or_one_table_and_no_more_runs_than_tables(
    jobs: int, tmp_path: Path
) -> None:
    plan = early_restore.plan(STREAMED, FROM_COPY)
    one_table = "\n".join(
        line for line in LISTING.splitlines() if "notes" not in line and "orders" not in line
    )
    assert early_restore.data_commands(plan, one_table, jobs, tmp_path) == [plan.data]
    runs = early_restore.data_commands(plan, LISTING, jobs, tmp_path)
    assert len(runs) == min(jobs, 3)
    if jobs == 1:
        assert runs == [plan.data]


def test_a_name_that_looks_like_table_data_does_not_make_an_entry_table_data() -> None:
    listing = "5; 1259 16386 TABLE public TABLE DATA app\n6; 0 16386 TABLE DATA public x app\n"
    assert early_restore.data_shares(listing, 2) == [
        [listing.splitlines()[0], listing.splitlines()[1]]
    ]
