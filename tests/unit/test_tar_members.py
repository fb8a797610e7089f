"""Which members of an untrusted base backup tar may be written into a new data folder."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from strongbox.domain.tar_members import (
    FILE,
    FOLDER,
    SYMLINK,
    UnsafeMemberError,
    checked_member_path,
)


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("base/1/1259", FILE, "base/1/1259"),
        ("./global/pg_control", FILE, "global/pg_control"),
        ("pg_wal/", FOLDER, "pg_wal"),
        ("./", FOLDER, "."),
    ],
)
def test_plain_members_are_accepted_as_relative_paths(name: str, kind: str, expected: str) -> None:
    assert checked_member_path(name, kind) == PurePosixPath(expected)


def test_a_link_pointing_inside_its_folder_is_accepted() -> None:
    assert checked_member_path("pg_wal/x", SYMLINK, "y") == PurePosixPath("pg_wal/x")


@pytest.mark.parametrize(
    ("name", "kind", "link", "reason"),
    [
        ("../escaped", FILE, "", "goes up with '..'"),
        ("base/../../etc/passwd", FILE, "", "goes up with '..'"),
        ("/etc/cron.d/job", FILE, "", "absolute path"),
        ("", FILE, "", "no usable name"),
        ("./", FILE, "", "no usable name"),
        ("pg_tblspc/16400", SYMLINK, "/srv/space", "outside the data folder"),
        ("pg_wal", SYMLINK, "../../elsewhere", "outside the data folder"),
        ("link", SYMLINK, "", "outside the data folder"),
        ("global/pg_control", "hard link", "", "only files, folders and symbolic links"),
        ("dev/sda", "device", "", "only files, folders and symbolic links"),
    ],
)
def test_unsafe_members_are_refused_naming_the_member(
    name: str, kind: str, link: str, reason: str
) -> None:
    with pytest.raises(UnsafeMemberError) as refused:
        checked_member_path(name, kind, link)
    assert reason in str(refused.value)
    assert repr(name) in str(refused.value)
