"""The engines' pure parts: version strings, tool choice, binlog positions, file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongbox.engines import mysql, postgresql
from strongbox.engines.common import safe_file_stems, scrub
from strongbox.engines.mysql import DumpTool, binlog_position_from_head
from strongbox.engines.postgresql import ClientTool, choose_pg_dump

# --- PostgreSQL versions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n", ("15.20", 15)),
        ("pg_dumpall (PostgreSQL) 16.4 (Ubuntu 16.4-1.pgdg22.04+1)", ("16.4", 16)),
        ("pg_dump (PostgreSQL) 17beta1", ("17beta1", 17)),
        ("pg_dump (PostgreSQL) 9.6.24", ("9.6.24", 9)),
        ("mysqldump  Ver 8.0.36 for Linux", None),
        ("", None),
    ],
)
def test_it_reads_pg_tool_versions(output: str, expected: tuple[str, int] | None) -> None:
    assert postgresql.parse_tool_version(output) == expected


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("15.20 (Debian 15.20-0+deb12u1)", ("15.20", 15)),
        ("16.2", ("16.2", 16)),
        ("18devel", ("18devel", 18)),
        ("9.6.24", ("9.6.24", 9)),
    ],
)
def test_it_reads_pg_server_versions(setting: str, expected: tuple[str, int]) -> None:
    assert postgresql.parse_server_version(setting) == expected


def test_a_garbage_server_version_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL version"):
        postgresql.parse_server_version("banana")


# --- choosing pg_dump -------------------------------------------------------------------------


def tool(folder: str, version: str) -> ClientTool:
    return ClientTool(Path(folder) / "pg_dump", version, int(version.split(".")[0]))


def test_it_chooses_the_lowest_pg_dump_that_can_read_the_server() -> None:
    found = [tool("/a", "17.1"), tool("/b", "14.9"), tool("/c", "15.20"), tool("/d", "16.4")]
    assert choose_pg_dump(found, 15) == tool("/c", "15.20")


def test_it_prefers_a_suitable_pg_dump_in_the_chosen_folder() -> None:
    found = [tool("/c", "15.20"), tool("/mine", "17.1")]
    assert choose_pg_dump(found, 15, Path("/mine")) == tool("/mine", "17.1")


def test_it_ignores_the_chosen_folder_when_its_pg_dump_is_too_old() -> None:
    found = [tool("/mine", "14.1"), tool("/c", "15.20")]
    assert choose_pg_dump(found, 15, Path("/mine")) == tool("/c", "15.20")


def test_the_first_found_wins_a_tie() -> None:
    found = [tool("/first", "15.20"), tool("/second", "15.20")]
    assert choose_pg_dump(found, 15) == tool("/first", "15.20")


def test_no_pg_dump_is_chosen_when_all_are_older_than_the_server() -> None:
    assert choose_pg_dump([tool("/c", "15.20")], 16) is None
    assert choose_pg_dump([], 15) is None


def test_the_missing_client_message_names_what_was_found_and_what_to_install() -> None:
    message = postgresql.client_missing_message("16.2", 16, [tool("/c", "15.20")])
    assert message == (
        "pg_dump 16 or newer is needed to back up PostgreSQL 16.2; found pg_dump 15.20: "
        "install postgresql-client-16"
    )
    assert "found no pg_dump" in postgresql.client_missing_message("16.2", 16, [])


# --- names ------------------------------------------------------------------------------------


def test_safe_names_keep_plain_names() -> None:
    assert safe_file_stems(["app", "App-2", "x.y_z"]) == {
        "app": "app",
        "App-2": "App-2",
        "x.y_z": "x.y_z",
    }


def test_safe_names_replace_unfit_characters() -> None:
    assert safe_file_stems(["my db/x", "ünï", "a:b"]) == {
        "my db/x": "my_db_x",
        "ünï": "_n_",
        "a:b": "a_b",
    }


def test_safe_names_never_make_hidden_files_or_path_steps() -> None:
    stems = safe_file_stems([".", "..", ".hidden"])
    assert stems == {".": "_.", "..": "_..", ".hidden": "_.hidden"}


def test_safe_names_stay_unique_and_plain_names_keep_theirs() -> None:
    # "a b" sorts before "a_b", yet the database really called "a_b" keeps its name.
    stems = safe_file_stems(["a b", "a_b", "a?b", "a_b-2"])
    assert stems == {"a b": "a_b-3", "a_b": "a_b", "a?b": "a_b-4", "a_b-2": "a_b-2"}
    assert len(set(stems.values())) == len(stems)


def test_safe_names_of_duplicates_are_given_once() -> None:
    assert safe_file_stems(["app", "app"]) == {"app": "app"}


@pytest.mark.parametrize(
    ("name", "argument"),
    [
        ("app", "app"),
        ("a=b", "dbname='a=b'"),
        ("x=1 it's", "dbname='x=1 it\\'s'"),
        ("postgresql://evil", "dbname='postgresql://evil'"),
        ("-starts-with-dash", "-starts-with-dash"),
    ],
)
def test_a_database_name_is_never_read_as_a_connection_string(name: str, argument: str) -> None:
    assert postgresql.dbname_argument(name) == argument


def test_the_password_is_scrubbed_from_driver_messages() -> None:
    assert scrub("login s3cret failed", "s3cret") == "login *** failed"
    assert scrub("nothing to hide", "") == "nothing to hide"


# --- MySQL and MariaDB versions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.11.19-MariaDB-0+deb12u1-log", ("10.11.19-MariaDB", 10, "MariaDB")),
        ("11.4.2-MariaDB", ("11.4.2-MariaDB", 11, "MariaDB")),
        ("5.5.5-10.6.18-MariaDB-log", ("10.6.18-MariaDB", 10, "MariaDB")),
        ("8.0.36-0ubuntu0.22.04.1", ("8.0.36", 8, "MySQL")),
        ("8.4.0", ("8.4.0", 8, "MySQL")),
    ],
)
def test_it_reads_mysql_server_versions(raw: str, expected: tuple[str, int, str]) -> None:
    assert mysql.parse_server_version(raw) == expected


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)",
            ("10.11.19-MariaDB", True),
        ),
        (
            "mariadb-dump from 11.4.2-MariaDB, client 10.19 for Linux (x86_64)",
            ("11.4.2-MariaDB", True),
        ),
        (
            "mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)",
            ("8.0.36", False),
        ),
        ("pg_dump (PostgreSQL) 15.20", None),
    ],
)
def test_it_reads_dump_tool_versions(output: str, expected: tuple[str, bool] | None) -> None:
    assert mysql.parse_tool_version(output) == expected


@pytest.mark.parametrize(
    ("dump_tool", "option"),
    [
        (DumpTool("/usr/bin/mariadb-dump", "10.11.19-MariaDB", True), "--master-data=2"),
        (DumpTool("/usr/bin/mysqldump", "8.0.25", False), "--master-data=2"),
        (DumpTool("/usr/bin/mysqldump", "8.0.26", False), "--source-data=2"),
        (DumpTool("/usr/bin/mysqldump", "8.4.0", False), "--source-data=2"),
    ],
)
def test_it_asks_each_tool_for_the_position_in_its_own_words(
    dump_tool: DumpTool, option: str
) -> None:
    assert mysql.position_option(dump_tool) == option


def test_recording_the_position_needs_reload_and_replication_client_on_mysql_only() -> None:
    assert mysql.missing_position_privileges("MySQL", {"SELECT"}) == [
        "RELOAD",
        "REPLICATION CLIENT",
    ]
    assert mysql.missing_position_privileges("MySQL", {"RELOAD", "SUPER"}) == []
    assert mysql.missing_position_privileges("MariaDB", set()) == []


# --- binlog positions -------------------------------------------------------------------------

MARIADB_10_11_HEAD = b"""/*M!999999\\- enable the sandbox mode */
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: 127.0.0.1    Database: d1
-- Server version\t10.11.19-MariaDB-0+deb12u1-log
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

--
-- Alternately, following is the position of the binary logging from SHOW MASTER STATUS at \
point of backup.
--

-- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000001', MASTER_LOG_POS=781;

--
-- Table structure for table `t`
"""

MARIADB_GTID_HEAD = b"""-- MariaDB dump 10.19  Distrib 10.5.23-MariaDB
--
-- Position to start replication or point-in-time recovery from
--

-- CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000042', MASTER_LOG_POS=1234567;

--
-- GTID to start replication from
--

-- SET GLOBAL gtid_slave_pos='0-1-3';
"""

MYSQL_8_HEAD = b"""-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
SET @@SESSION.SQL_LOG_BIN= 0;

--
-- GTID state at the beginning of the backup
--

SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5';

--
-- Position to start replication or point-in-time recovery from
--

-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000002', SOURCE_LOG_POS=157;
"""


def test_it_reads_the_position_from_a_mariadb_head() -> None:
    assert binlog_position_from_head(MARIADB_10_11_HEAD) == {
        "file": "mariadb-bin.000001",
        "position": 781,
        "gtid": None,
    }


def test_it_reads_the_gtid_when_mariadb_writes_it_at_the_top() -> None:
    assert binlog_position_from_head(MARIADB_GTID_HEAD) == {
        "file": "mysql-bin.000042",
        "position": 1234567,
        "gtid": "0-1-3",
    }


def test_it_reads_the_position_and_gtid_from_a_mysql_8_head() -> None:
    assert binlog_position_from_head(MYSQL_8_HEAD) == {
        "file": "binlog.000002",
        "position": 157,
        "gtid": "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
    }


def test_a_head_without_a_position_gives_none() -> None:
    assert binlog_position_from_head(b"-- MariaDB dump 10.19\nCREATE TABLE `t` (a int);\n") is None
    assert binlog_position_from_head(b"") is None


def test_a_head_cut_in_the_middle_of_the_line_gives_none() -> None:
    cut = MARIADB_10_11_HEAD[: MARIADB_10_11_HEAD.index(b"MASTER_LOG_POS")]
    assert binlog_position_from_head(cut) is None
    # Cut inside the number: "MASTER_LOG_POS=78" must not be read as position 78.
    cut = MARIADB_10_11_HEAD[: MARIADB_10_11_HEAD.index(b"781;") + 2]
    assert binlog_position_from_head(cut) is None


def test_bytes_that_are_not_utf8_do_not_break_the_parser() -> None:
    head = b"\xff\xfe garbage\n" + MARIADB_10_11_HEAD
    assert binlog_position_from_head(head) == {
        "file": "mariadb-bin.000001",
        "position": 781,
        "gtid": None,
    }
