"""WAL files for a restore_command: real segments of a throwaway server, stored compressed and
indexed, are staged by the restore worker (verified against the index) and handed to
PostgreSQL by `strongbox wal-fetch` byte for byte; a bad name and a damaged object are
refused."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard
from sqlalchemy import select

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from integration.bodies import folder_storage
from strongbox.catalog.models import WalSegment
from strongbox.domain.keys import wal_key
from strongbox.domain.wal import DEFAULT_SEGMENT_SIZE, parse_wal_name
from strongbox.errors import StrongboxError
from strongbox.services import storages
from strongbox.services.wal_staging import stage_wal_segments

pytestmark = pytest.mark.integration


def _completed_segments(server: PostgresServer, count: int) -> dict[str, bytes]:
    """`count` WAL segments the server has completed (switched away from), by name."""
    names = []
    for _ in range(count):
        server.execute("SELECT txid_current()")  # a commit record: WAL to switch away from
        names.append(server.query("SELECT pg_walfile_name(pg_current_wal_lsn())")[0][0])
        server.execute("SELECT pg_switch_wal()")
    return {name: (server.data_dir / "pg_wal" / name).read_bytes() for name in names}


def _wal_fetch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongbox", "wal-fetch", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_staged_wal_reaches_postgresql_byte_identical_and_bad_input_is_refused(
    strongbox: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    ctx = strongbox.embedded.context
    strongbox.client.post(
        "/api/v1/backup-storages", json=folder_storage(tmp_path / "store")
    ).raise_for_status()
    storage, prefix = storages.open_by_name(ctx, "disk")
    originals = _completed_segments(pg_server, 3)
    last = sorted(originals)[-1]
    with ctx.catalog.session() as session:
        for name in sorted(originals):
            # The newest one is stored as the partial the stream would have uploaded.
            stored_name = name if name != last else f"{name}.partial"
            stored = zstandard.ZstdCompressor().compress(originals[name])
            key = wal_key(prefix, "prod", stored_name)
            storage.put_bytes(key, stored)
            wal = parse_wal_name(stored_name)
            session.add(
                WalSegment(
                    database="prod",
                    storage="disk",
                    name=stored_name,
                    kind=wal.kind,
                    timeline=wal.timeline,
                    start_lsn=wal.start_lsn(),
                    end_lsn=wal.start_lsn() + DEFAULT_SEGMENT_SIZE,
                    first_commit_at=None,
                    last_commit_at=None,
                    key=key,
                    sha256=hashlib.sha256(stored).hexdigest(),
                    size_bytes=len(originals[name]),
                    stored_bytes=len(stored),
                    stored_at=ctx.clock.now(),
                )
            )
    with ctx.catalog.session() as session:
        rows = list(session.scalars(select(WalSegment).where(WalSegment.database == "prod")))
        session.expunge_all()

    staging = tmp_path / "instance" / "wal"
    staged = stage_wal_segments(storage, rows, staging, stall_seconds=30)
    assert sorted(p.name for p in staged) == sorted(originals)  # the partial under its segment name
    assert sorted(p.name for p in staging.iterdir()) == sorted(originals)  # nothing half-written

    pg_wal = tmp_path / "pg_wal"
    pg_wal.mkdir()
    for name in sorted(originals):
        done = _wal_fetch(str(staging), name, str(pg_wal / "RECOVERYXLOG"))
        assert done.returncode == 0, done.stderr
        assert (pg_wal / "RECOVERYXLOG").read_bytes() == originals[name]
    assert sorted(p.name for p in pg_wal.iterdir()) == ["RECOVERYXLOG"]  # no temporary left

    absent = _wal_fetch(str(staging), "0000000100000000000000FF", str(pg_wal / "next"))
    assert absent.returncode == 1
    assert "is not staged" in absent.stderr
    bad = _wal_fetch(str(staging), "../../etc/passwd", str(pg_wal / "evil"))
    assert bad.returncode == 2
    assert "not a WAL file name" in bad.stderr
    assert not (pg_wal / "evil").exists()

    damaged = rows[0]
    damaged.sha256 = "0" * 64
    elsewhere = tmp_path / "other" / "wal"
    with pytest.raises(StrongboxError) as refused:
        stage_wal_segments(storage, [damaged], elsewhere, stall_seconds=30)
    assert refused.value.code == "checksum-mismatch"
    assert list(elsewhere.iterdir()) == []


def test_the_restore_command_starts_without_the_cli_catalog_or_s3_client(tmp_path: Path) -> None:
    """PostgreSQL runs the restore_command once per WAL file it replays: `python -m strongbox
    wal-fetch` copies the staged file having imported only the WAL-name rules."""
    name = "000000010000000000000003"
    staging = tmp_path / "wal"
    staging.mkdir()
    (staging / name).write_bytes(b"segment bytes")
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "strongbox",
            "wal-fetch",
            str(staging),
            name,
            str(tmp_path / "RECOVERYXLOG"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "RECOVERYXLOG").read_bytes() == b"segment bytes"
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "strongbox.staged_wal" in imported
    for heavy in ("typer", "sqlalchemy", "boto3", "httpx", "strongbox.cli.main"):
        assert heavy not in imported, heavy

    helped = _wal_fetch("--help")
    assert helped.returncode == 0
    assert "restore_command" in helped.stdout
