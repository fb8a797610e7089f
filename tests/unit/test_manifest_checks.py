"""The rules a manifest read from a storage must keep, and its comparison with the catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongbox.domain.artifact_objects import MAX_OBJECTS
from strongbox.domain.keys import artifact_key
from strongbox.domain.manifest import ArtifactObject, Manifest, ManifestArtifact
from strongbox.domain.manifest_checks import (
    MAX_BYTES,
    catalog_artifacts,
    differences,
    file_name_problem,
    manifest_problems,
)
from strongbox.engines.common import safe_file_stems
from strongbox.engines.registry import artifact_formats

# The formats every registered engine kind declares, as the services pass them.
FORMATS = artifact_formats()

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SHA = "ab" * 32


def artifact(name: str = "app.pgdump.zst", **changes: Any) -> ManifestArtifact:
    fields: dict[str, Any] = {
        "name": name,
        "key": artifact_key("team", "prod", "b1", name),
        "kind": "database",
        "dbname": "app",
        "format": "pg_dump-custom",
        "raw_bytes": 100,
        "stored_bytes": 40,
        "sha256": SHA,
    }
    fields.update(changes)
    return ManifestArtifact(**fields)


def roles() -> ManifestArtifact:
    return artifact("globals.sql.zst", kind="globals", dbname=None, format="sql")


def manifest(*artifacts: ManifestArtifact, **changes: Any) -> Manifest:
    chosen = list(artifacts) or [artifact(), roles()]
    fields: dict[str, Any] = {
        "strongbox_version": "0.1.0",
        "backup": "b1",
        "database": "prod",
        "engine": "postgresql",
        "server_version": "15.20",
        "method": "logical",
        "trigger": "manual",
        "tool_versions": {"pg_dump": "15.20"},
        "started_at": NOW - timedelta(hours=1),
        "finished_at": NOW - timedelta(minutes=50),
        "size_bytes": sum(a.raw_bytes for a in chosen),
        "stored_bytes": sum(a.stored_bytes for a in chosen),
        "compression": {"algorithm": "zstd", "level": 3},
        "artifacts": chosen,
    }
    fields.update(changes)
    return Manifest(**fields)


def problems(m: Manifest) -> list[str]:
    return manifest_problems(
        m, formats=FORMATS, storage_prefix="team", database="prod", backup="b1", now=NOW
    )


def test_a_manifest_as_backups_write_it_keeps_every_rule() -> None:
    assert problems(manifest()) == []
    mysql = artifact("shop.sql.zst", dbname="shop", format="sql")
    assert problems(manifest(mysql, engine="mysql", trigger="schedule:nightly")) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../x", "contains '/'"),
        ("/etc/cron.d/x.pgdump.zst", "contains '/'"),
        ("..\\x.pgdump.zst", "contains '\\\\'"),
        ("..", "path step"),
        (".hidden.pgdump.zst", "not made of letters"),
        ("app\n.pgdump.zst", "control characters"),
        ("app.tar", "does not end with '.pgdump.zst'"),
        ("", "is empty"),
        ("a" * 300 + ".pgdump.zst", "more than 200"),
    ],
)
def test_names_that_are_paths_or_not_of_the_layout_are_refused(name: str, expected: str) -> None:
    found = problems(manifest(artifact(name, key=f"team/prod/b1/{name}")))
    assert any(expected in p and "name" in p for p in found), found


def test_a_key_that_is_not_the_layouts_is_refused_even_when_the_name_is_good() -> None:
    other = artifact(key="team/prod/other-backup/app.pgdump.zst")
    found = problems(manifest(other))
    assert found == [
        "artifact 'app.pgdump.zst': key is 'team/prod/other-backup/app.pgdump.zst', but the "
        "layout puts it at 'team/prod/b1/app.pgdump.zst'"
    ]


def test_the_globals_dump_has_one_name_and_no_database() -> None:
    renamed = artifact("x.sql.zst", kind="globals", dbname=None, format="sql")
    assert any("not 'globals.sql.zst'" in p for p in problems(manifest(renamed)))
    with_db = artifact("globals.sql.zst", kind="globals", format="sql")
    assert any("dbname is set" in p for p in problems(manifest(with_db)))
    mysql_roles = artifact("globals.sql.zst", kind="globals", dbname=None, format="sql")
    assert any("kind 'globals'" in p for p in problems(manifest(mysql_roles, engine="mysql")))


def base(name: str = "base.tar.zst", **changes: Any) -> ManifestArtifact:
    fields: dict[str, Any] = {"kind": "base", "dbname": None, "format": "pg_basebackup-tar"}
    return artifact(name, **(fields | changes))


def test_a_physical_backup_is_one_base_tar_of_postgresql_only() -> None:
    assert problems(manifest(base(), method="physical")) == []
    renamed = base("cluster.tar.zst")
    assert any("not 'base.tar.zst'" in p for p in problems(manifest(renamed)))
    assert any("dbname is set" in p for p in problems(manifest(base(dbname="app"))))
    assert any("kind 'base'" in p for p in problems(manifest(base(), engine="mysql")))
    as_dump = base(format="pg_dump-custom")
    assert any("is not 'pg_basebackup-tar'" in p for p in problems(manifest(as_dump)))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"kind": "shell"}, "kind 'shell'"),
        ({"format": "sql"}, "format 'sql' is not 'pg_dump-custom'"),
        ({"sha256": "AB" * 32}, "sha256 is not 64 lowercase"),
        ({"sha256": "ab"}, "sha256 is not 64 lowercase"),
        ({"raw_bytes": -1}, "raw_bytes -1"),
        ({"stored_bytes": MAX_BYTES + 1}, f"stored_bytes {MAX_BYTES + 1}"),
        ({"dbname": None}, "dbname is missing"),
        ({"dbname": "a\0b"}, "dbname contains control"),
        ({"dbname": "x" * 65}, "dbname is 65 characters"),
    ],
)
def test_each_bad_artifact_field_is_named(changes: dict[str, Any], expected: str) -> None:
    found = problems(manifest(artifact(**changes)))
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"engine": "oracle"}, "engine 'oracle'"),
        ({"database": "other"}, "database is 'other', but the manifest lies in the folder"),
        ({"backup": "b2"}, "backup is 'b2'"),
        ({"method": "magic"}, "method 'magic'"),
        ({"trigger": "schedule:Bad Name"}, "trigger"),
        ({"trigger": "cron"}, "trigger"),
        ({"format_version": 2}, "format_version 2"),
        ({"server_version": "15\n"}, "server_version"),
        ({"started_at": NOW, "finished_at": NOW - timedelta(seconds=1)}, "is after finished_at"),
        ({"finished_at": NOW + timedelta(days=2)}, "in the future"),
        ({"started_at": datetime(1999, 1, 1, tzinfo=UTC)}, "before 2000"),
        ({"started_at": datetime(2026, 1, 1)}, "time zone"),
        ({"size_bytes": 1}, "size_bytes is not the sum"),
        ({"stored_bytes": 1}, "stored_bytes is not the sum"),
        ({"artifacts": []}, "no artifact"),
    ],
)
def test_each_bad_header_field_is_named(changes: dict[str, Any], expected: str) -> None:
    found = problems(manifest(**changes))
    assert any(expected in p for p in found), found


def test_two_artifacts_may_not_share_a_name_or_a_database() -> None:
    found = problems(manifest(artifact(), artifact()))
    assert "two artifacts share the name 'app.pgdump.zst'" in found
    assert "two artifacts share the dbname 'app'" in found


@given(st.lists(st.text(min_size=1, max_size=64), min_size=1, max_size=5, unique=True))
def test_every_file_name_the_engines_make_is_valid(dbnames: list[str]) -> None:
    for stem in safe_file_stems(dbnames).values():
        assert file_name_problem(f"{stem}.pgdump.zst", "database", "pg_dump-custom") is None
        assert file_name_problem(f"{stem}.sql.zst", "database", "sql") is None


@given(st.text(max_size=40))
def test_no_valid_name_is_a_path(name: str) -> None:
    if file_name_problem(name, "database", "sql") is None:
        assert "/" not in name
        assert "\\" not in name
        assert not name.startswith(".")
        assert name not in ("", ".", "..")


def test_the_catalog_and_the_storage_agreeing_have_no_difference() -> None:
    assert differences([artifact(), roles()], [roles(), artifact()]) == []


def test_each_difference_names_the_artifact_the_field_and_both_values() -> None:
    swapped = artifact(sha256="cd" * 32, stored_bytes=41)
    found = differences([artifact()], [swapped])
    assert found == [
        "artifact 'app.pgdump.zst': stored_bytes is 40 in the catalog and 41 in the storage",
        f"artifact 'app.pgdump.zst': sha256 is {SHA!r} in the catalog and {'cd' * 32!r} in the "
        "storage",
    ]
    assert differences([artifact(), roles()], [artifact()]) == [
        "artifact 'globals.sql.zst' is in the catalog, not in the storage"
    ]
    assert differences([artifact()], [artifact(), roles()]) == [
        "artifact 'globals.sql.zst' is in the storage, not in the catalog"
    ]


def test_catalog_records_without_a_format_get_the_engines_format() -> None:
    old = [a.model_dump(exclude={"format"}) for a in (artifact(), roles())]
    assert [a.format for a in catalog_artifacts("postgresql", old, FORMATS)] == [
        "pg_dump-custom",
        "sql",
    ]
    mysql = artifact("shop.sql.zst", dbname="shop", format="sql").model_dump(exclude={"format"})
    assert catalog_artifacts("mysql", [mysql], FORMATS)[0].format == "sql"
    # A record that says its format keeps it (and the layout rules then judge it).
    assert (
        catalog_artifacts("postgresql", [artifact(format="sql").model_dump()], FORMATS)[0].format
        == "sql"
    )


def test_a_catalog_record_that_cannot_be_read_names_the_artifact() -> None:
    broken = artifact().model_dump(exclude={"format"})
    broken["kind"] = "shell"
    with pytest.raises(ValueError, match=r"artifact 'app\.pgdump\.zst'"):
        catalog_artifacts("postgresql", [broken], FORMATS)


# --- an artifact stored as several objects: names, order, count, sizes and checksums ---

FIRST = "team/prod/b1/app.pgdump.zst"


def objects(*keys: str, size: int = 20, sha: str = SHA) -> list[ArtifactObject]:
    return [ArtifactObject(key=k, stored_bytes=size, sha256=sha) for k in keys]


def split(**changes: Any) -> ManifestArtifact:
    fields: dict[str, Any] = {"objects": objects(FIRST, FIRST + ".00002"), "stored_bytes": 40}
    return artifact(**(fields | changes))


def test_an_artifact_in_objects_named_in_order_keeps_every_rule() -> None:
    three = objects(FIRST, FIRST + ".00002", FIRST + ".00003")
    assert problems(manifest(split())) == []
    assert problems(manifest(split(objects=three, stored_bytes=60))) == []
    assert split(objects=three).object_keys() == [o.key for o in three]
    assert artifact().object_keys() == [FIRST]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ((FIRST + ".00002", FIRST), "object 1 is 'team/prod/b1/app.pgdump.zst.00002'"),
        ((FIRST, FIRST + ".00003"), "object 2 is"),
        ((FIRST, FIRST + ".00002/../../../other/b9/x"), "object 2 is"),
        ((FIRST, "team/prod/b2/app.pgdump.zst.00002"), "but the layout puts it at"),
        ((FIRST, FIRST), "object 2 is"),
    ],
)
def test_objects_out_of_order_or_elsewhere_are_refused(
    keys: tuple[str, ...], expected: str
) -> None:
    found = problems(manifest(split(objects=objects(*keys))))
    assert any(expected in p for p in found), found


def test_a_count_outside_the_bounds_is_refused() -> None:
    one = problems(manifest(split(objects=objects(FIRST), stored_bytes=20)))
    assert any("lists 1 objects" in p for p in one), one
    many = [FIRST] + [f"{FIRST}.{i:05d}" for i in range(2, MAX_OBJECTS + 2)]
    too_many = problems(manifest(split(objects=objects(*many, size=1), stored_bytes=len(many))))
    assert any(f"lists {MAX_OBJECTS + 1} objects" in p for p in too_many), too_many


def test_objects_must_add_up_to_the_artifact_and_carry_checksums() -> None:
    wrong_sum = problems(manifest(split(stored_bytes=41)))
    assert any("do not add up" in p for p in wrong_sum), wrong_sum
    bad_sha = problems(manifest(split(objects=objects(FIRST, FIRST + ".00002", sha="X" * 64))))
    assert any("object 1: sha256 is not" in p for p in bad_sha), bad_sha
    negative = problems(manifest(split(objects=objects(FIRST, FIRST + ".00002", size=-20))))
    assert any("object 1: stored_bytes -20" in p for p in negative), negative
