"""Only the scheduler leader runs PITR receivers: two replicas reading one slot (or one binlog)
would fight over it or store every file twice."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from strongbox.catalog.models import PitrStream
from strongbox.config import Settings
from strongbox.jobs.wal_streams import WalStreams
from strongbox.server import build_context

pytestmark = pytest.mark.integration


def receivers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("strongbox-wal-")]


def test_receivers_run_only_while_this_replica_leads(tmp_path: Path) -> None:
    ctx = build_context(Settings(data_dir=tmp_path, secret_key="wal-stream-leadership"))
    now = ctx.clock.now()
    with ctx.catalog.session() as session:
        session.add(
            PitrStream(
                database="leaderless",
                enabled=True,
                storage="nowhere",
                upload_interval_seconds=60,
                state="starting",
                created_at=now,
                updated_at=now,
            )
        )
    leading = False
    streams = WalStreams(ctx, leads=lambda: leading)
    try:
        streams.sync()
        assert receivers() == []  # a standby starts none

        leading = True
        streams.sync()
        assert receivers() == ["strongbox-wal-leaderless"]

        leading = False  # the lead moved to another replica: this one stops its receiver
        streams.sync()
        assert receivers() == []
    finally:
        streams.stop()
        ctx.catalog.close()
