"""Scheduler leadership on a real PostgreSQL catalog: one replica holds the advisory lock on a
connection of its own, a standby takes the lead once that connection is gone (its replica died)
or given up, and the lock's connection asks the server to notice a vanished peer quickly. With
SQLite the one process leads. Each look is a `step()` the test calls: nothing waits on time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fixtures.catalogs import PostgresCatalog, sqlite_catalog_url
from strongbox.catalog.db import Catalog
from strongbox.scheduler.leadership import (
    AdvisoryLockLeader,
    SoleLeader,
    leadership_for,
    lock_connection_factory,
)

pytestmark = pytest.mark.integration


class Recorded:
    def __init__(self) -> None:
        self.changes: list[bool] = []

    def __call__(self, leading: bool) -> None:
        self.changes.append(leading)


def lock_holders(catalog: Catalog) -> list[int]:
    with catalog.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        ).all()
    return [row[0] for row in rows]


def wait_until_unheld(catalog: Catalog) -> None:
    deadline = time.monotonic() + 30
    while lock_holders(catalog):
        assert time.monotonic() < deadline, "the terminated backend still holds the lock"
        time.sleep(0.05)


def test_one_replica_leads_and_a_standby_takes_over_when_its_connection_dies(
    postgres_catalog: PostgresCatalog,
) -> None:
    catalog = Catalog.open(postgres_catalog.url)
    first_changes, second_changes = Recorded(), Recorded()
    connect = lock_connection_factory(catalog.engine)
    first = AdvisoryLockLeader(connect, first_changes)
    second = AdvisoryLockLeader(connect, second_changes)
    try:
        first.step()
        second.step()
        assert (first.is_leader(), second.is_leader()) == (True, False)
        second.step()  # trying again changes nothing while the leader lives
        first.step()  # the leader's check of its connection keeps the lead
        assert (first.is_leader(), second.is_leader()) == (True, False)
        [holder] = lock_holders(catalog)

        # The leader's replica dies: its connection is gone, and with it the lock.
        postgres_catalog.server.execute(f"SELECT pg_terminate_backend({holder})")
        wait_until_unheld(catalog)  # the signal is sent; the backend ends a moment later
        second.step()
        assert second.is_leader()
        first.step()  # the old leader notices at its next look
        assert not first.is_leader()
        first.step()  # and is now a standby
        assert not first.is_leader()
        assert first_changes.changes == [True, False]
        assert second_changes.changes == [True]
    finally:
        first.stop()
        second.stop()
        catalog.close()


def test_a_leader_that_stops_gives_the_lead_up(postgres_catalog: PostgresCatalog) -> None:
    catalog = Catalog.open(postgres_catalog.url)
    connect = lock_connection_factory(catalog.engine)
    first, second = AdvisoryLockLeader(connect), AdvisoryLockLeader(connect)
    try:
        first.step()
        second.step()
        assert not second.is_leader()
        first.stop()
        assert not first.is_leader()
        wait_until_unheld(catalog)  # the server ends the closed session a moment later
        second.step()
        assert second.is_leader()
    finally:
        second.stop()
        catalog.close()


def test_the_lock_is_held_outside_the_pool_with_keepalives_on_both_ends(
    postgres_catalog: PostgresCatalog,
) -> None:
    catalog = Catalog.open(postgres_catalog.url)
    leader = AdvisoryLockLeader(lock_connection_factory(catalog.engine))
    try:
        leader.step()
        assert leader.is_leader()
        # Recycling the whole pool leaves the lock where it is.
        catalog.engine.dispose()
        [holder] = lock_holders(catalog)
        connection = leader._connection
        assert connection is not None
        assert connection.info.backend_pid == holder
        # The server's side: it drops a silent peer, and so frees the lock, within seconds.
        server_side = {
            name: str(connection.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in (
                "tcp_keepalives_idle",
                "tcp_keepalives_interval",
                "tcp_keepalives_count",
                "tcp_user_timeout",
            )
        }
        assert server_side == {
            "tcp_keepalives_idle": "5",
            "tcp_keepalives_interval": "2",
            "tcp_keepalives_count": "3",
            "tcp_user_timeout": "10000",  # milliseconds
        }
        # The client's side: the leader's own check fails as fast.
        client_side = connection.info.get_parameters()
        assert (client_side["keepalives_idle"], client_side["tcp_user_timeout"]) == ("5", "10000")
    finally:
        leader.stop()
        catalog.close()


def test_the_one_process_on_an_sqlite_catalog_leads(tmp_path: Path) -> None:
    catalog = Catalog.open(sqlite_catalog_url(tmp_path))
    changes = Recorded()
    try:
        leadership = leadership_for(catalog, changes)
        assert isinstance(leadership, SoleLeader)
        leadership.start()
        assert leadership.is_leader()
        assert changes.changes == [True]
        leadership.stop()
    finally:
        catalog.close()
