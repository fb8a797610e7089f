"""The one program lookup both engines use (`engines.tools`), with small shell scripts standing
in for client programs: which files count, what `--version` answers are read, and which vendor's
program a MySQL or MariaDB server gets."""

from __future__ import annotations

import os
from pathlib import Path

from strongbox.engines.base import ServerInfo
from strongbox.engines.mysql.client_tools import client_tool, dump_tool
from strongbox.engines.tools import find_programs, path_dirs, probe


def script(folder: Path, name: str, body: str, *, runnable: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755 if runnable else 0o644)
    return path


def test_find_programs_lists_each_runnable_file_once_in_folder_order(tmp_path: Path) -> None:
    first = script(tmp_path / "a", "tool", "echo a")
    script(tmp_path / "b", "tool", "echo b", runnable=False)
    (tmp_path / "c").mkdir()
    os.symlink(first, tmp_path / "c" / "tool")  # the same program again, through a link
    last = script(tmp_path / "d", "tool", "echo d")
    dirs = [tmp_path / name for name in ("a", "b", "c", "d", "missing")]
    assert find_programs("tool", dirs) == [first, last]


def test_path_dirs_splits_a_search_path(tmp_path: Path) -> None:
    assert path_dirs(f"{tmp_path}/a{os.pathsep}{os.pathsep}{tmp_path}/b") == [
        tmp_path / "a",
        tmp_path / "b",
    ]


def test_probe_reads_the_version_and_refuses_what_is_not_one(tmp_path: Path) -> None:
    def parse(output: str) -> str | None:
        return output.split()[-1] if output.startswith("tool ") else None

    assert probe(script(tmp_path, "good", "echo 'tool 1.2'"), parse) == "1.2"
    assert probe(script(tmp_path, "other", "echo 'something else'"), parse) is None
    assert probe(script(tmp_path, "fails", "echo 'tool 1.2'; exit 1"), parse) is None
    assert probe(tmp_path / "absent", parse) is None


def test_mysql_programs_of_the_servers_own_vendor_come_first(tmp_path: Path) -> None:
    maria = "echo 'mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu'"
    script(tmp_path, "mariadb-dump", maria)
    script(tmp_path, "mysqldump", "echo 'mysqldump  Ver 8.0.36 for Linux on x86_64'")
    script(tmp_path, "mariadb", maria.replace("mariadb-dump", "mariadb"))
    script(tmp_path, "mysql", "echo 'mysql  Ver 8.0.36 for Linux on x86_64'")
    mariadb_server = ServerInfo("10.11.19-MariaDB", 10, "MariaDB")
    mysql_server = ServerInfo("8.0.36", 8, "MySQL")

    assert dump_tool(mariadb_server, str(tmp_path)).name == "mariadb-dump"
    assert dump_tool(mysql_server, str(tmp_path)).name == "mysqldump"
    assert client_tool(mariadb_server, str(tmp_path)).mariadb
    assert client_tool(mysql_server, str(tmp_path)).name == "mysql"


def test_mysql_falls_back_to_the_other_vendors_program(tmp_path: Path) -> None:
    script(tmp_path, "mysqldump", "echo 'mysqldump  Ver 8.0.36 for Linux on x86_64'")
    tool = dump_tool(ServerInfo("10.11.19-MariaDB", 10, "MariaDB"), str(tmp_path))
    assert (tool.name, tool.version, tool.mariadb) == ("mysqldump", "8.0.36", False)
