"""Database properties read back from a manifest: aclitem parsing, list settings, the strict
patterns every value must match, and the SQL built from them (quoted, never concatenated)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from strongbox.domain.database_properties import (
    AclEntry,
    DatabaseProperties,
    parse_aclitem,
    split_guc_list,
)
from strongbox.domain.manifest import ManifestArtifact
from strongbox.engines.common import LOCALE_UNAVAILABLE
from strongbox.engines.postgresql.properties import create_statement, statements_after_restore
from strongbox.errors import StrongboxError


def test_an_aclitem_names_grantee_privileges_and_grantor() -> None:
    assert parse_aclitem("reader=c/postgres") == AclEntry("reader", ("CONNECT",), (), "postgres")
    assert parse_aclitem("owner=CTc/owner").privileges == ("CREATE", "TEMPORARY", "CONNECT")


def test_an_empty_grantee_is_public() -> None:
    assert parse_aclitem("=Tc/postgres").grantee is None


def test_a_star_marks_a_grantable_privilege() -> None:
    entry = parse_aclitem("admin=C*Tc*/postgres")
    assert entry.privileges == ("CREATE", "TEMPORARY", "CONNECT")
    assert entry.grantable == ("CREATE", "CONNECT")


def test_quoted_names_keep_their_spaces_quotes_and_separators() -> None:
    entry = parse_aclitem('"we=ird/ ""x"""=c/"Big Boss"')
    assert entry.grantee == 'we=ird/ "x"'
    assert entry.grantor == "Big Boss"


@pytest.mark.parametrize(
    "text",
    [
        "reader=r/postgres",  # SELECT is a table privilege
        "reader=cc/postgres",  # twice the same
        "reader=c",  # no grantor
        "reader/postgres",  # no '='
        "reader=c/postgres;DROP",  # trailing text
        '"reader=c/postgres',  # open quote
        "reader=c/",  # empty grantor
        "",
    ],
)
def test_anything_else_is_not_an_aclitem(text: str) -> None:
    with pytest.raises(ValueError, match="database grant"):
        parse_aclitem(text)


def test_list_settings_split_into_their_elements() -> None:
    assert split_guc_list('"$user", public') == ["$user", "public"]
    assert split_guc_list("a,b ,  c") == ["a", "b", "c"]
    assert split_guc_list('"x, y"') == ["x, y"]


@pytest.mark.parametrize("value", ["a,,b", '"open', "a b", "a,", ""])
def test_a_list_setting_that_is_not_a_list_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="search_path"):
        split_guc_list(value, "search_path")


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("encoding", "UTF8'; DROP DATABASE x; --", "encoding"),
        ("encoding", "", "encoding"),
        ("lc_collate", "C' TEMPLATE template1", "locale"),
        ("lc_ctype", "en_US.UTF-8\n", "locale"),
        ("icu_locale", "und' x", "ICU locale"),
        ("character_set", "latin1 COLLATE x", "character set"),
        ("collation", "latin1_swedish_ci`; DROP", "character set or collation"),
        ("comment", "a\x00b", "comment"),
        ("comment", "x" * 70_000, "comment"),
        ("settings", {"work_mem = 1; SET role": "x"}, "setting name"),
        ("settings", {"work_mem": "1\x00"}, "work_mem"),
        ("settings", {"search_path": '"open'}, "search_path"),
        ("grants", ["reader=r/postgres"], "database grant"),
        ("locale_provider", "ldap", "locale_provider"),
    ],
)
def test_an_invalid_property_is_refused_naming_it(field: str, value: Any, named: str) -> None:
    with pytest.raises(ValidationError) as caught:
        DatabaseProperties.model_validate({field: value})
    assert named in str(caught.value)


def test_valid_properties_pass_as_recorded() -> None:
    properties = DatabaseProperties(
        encoding="LATIN1",
        lc_collate="de_DE.UTF-8@euro",
        lc_ctype="C",
        locale_provider="icu",
        icu_locale="und-u-ks-level2",
        settings={"work_mem": "7MB", "app.tenant": "it's, fine", "search_path": '"$user", public'},
        comment="Shop data, don't drop\nsecond line",
        grants=["=Tc/postgres", '"app ro"=c*/postgres'],
    )
    assert DatabaseProperties.model_validate_json(properties.model_dump_json()) == properties


def test_an_artifact_recorded_before_properties_existed_still_reads() -> None:
    artifact = ManifestArtifact.model_validate(
        {
            "name": "app.pgdump.zst",
            "key": "k",
            "kind": "database",
            "dbname": "app",
            "format": "pg_dump-custom",
            "raw_bytes": 1,
            "stored_bytes": 1,
            "sha256": "00",
        }
    )
    assert artifact.database_properties is None


def test_create_quotes_every_recorded_value() -> None:
    properties = DatabaseProperties(encoding="LATIN1", lc_collate="C", lc_ctype="C")
    statement = create_statement('new "db"', properties, 15).as_string(None)
    assert statement == (
        'CREATE DATABASE "new ""db""" TEMPLATE template0 ENCODING \'LATIN1\' '
        "LC_COLLATE 'C' LC_CTYPE 'C' LOCALE_PROVIDER libc"
    )
    # A server before 15 has no provider to name.
    assert "LOCALE_PROVIDER" not in create_statement("d", properties, 14).as_string(None)


def test_create_without_properties_is_as_before() -> None:
    assert create_statement("d", None, 15).as_string(None) == (
        'CREATE DATABASE "d" TEMPLATE template0'
    )


def test_an_icu_database_names_its_icu_locale_and_needs_a_server_that_has_icu() -> None:
    properties = DatabaseProperties(
        encoding="UTF8", lc_collate="C", lc_ctype="C", locale_provider="icu", icu_locale="und"
    )
    assert "LOCALE_PROVIDER icu ICU_LOCALE 'und'" in create_statement(
        "d", properties, 16
    ).as_string(None)
    with pytest.raises(StrongboxError) as caught:
        create_statement("d", properties, 14)
    assert caught.value.code == LOCALE_UNAVAILABLE
    assert "icu" in caught.value.detail


def test_settings_comment_and_grants_become_quoted_statements() -> None:
    properties = DatabaseProperties(
        settings={"work_mem": "7MB", "search_path": '"$user", public', "app.label": "it's"},
        comment="don't",
        grants=["=Tc/postgres", '"app ro"=c*T/postgres'],
    )
    statements = [s.as_string(None) for s in statements_after_restore("d", properties)]
    assert statements == [
        """ALTER DATABASE "d" SET "work_mem" = '7MB'""",
        """ALTER DATABASE "d" SET "search_path" = '$user', 'public'""",
        """ALTER DATABASE "d" SET "app"."label" = 'it''s'""",
        """COMMENT ON DATABASE "d" IS 'don''t'""",
        'REVOKE ALL ON DATABASE "d" FROM PUBLIC',
        'GRANT TEMPORARY, CONNECT ON DATABASE "d" TO PUBLIC',
        'GRANT TEMPORARY ON DATABASE "d" TO "app ro"',
        'GRANT CONNECT ON DATABASE "d" TO "app ro" WITH GRANT OPTION',
    ]


def test_default_privileges_are_left_alone() -> None:
    statements = statements_after_restore("d", DatabaseProperties(grants=None))
    assert statements == []
