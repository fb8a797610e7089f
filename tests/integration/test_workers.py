"""The processes that run jobs: a serve process is in the list with a fresh heartbeat and in
/metrics; one whose beat stopped ages and counts as lost, and the leader forgets it after a day.
The list pages like every other one. Times come from a clock the test sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fixtures.app import RunningServer
from integration.people import client_with, service_token
from integration.problems import assert_problem, fields_of
from strongbox.services import workers
from strongbox.services.workers import Presence

pytestmark = pytest.mark.integration


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def worker_ages(running: RunningServer) -> dict[tuple[str, str, str], float]:
    """The worker heartbeat ages by (worker, kind, queues), as Prometheus reads them."""
    response = running.client.get("/metrics")
    assert response.status_code == 200, response.text
    ages = {}
    for family in text_string_to_metric_families(response.text):
        if family.name == "strongbox_worker_heartbeat_age_seconds":
            for sample in family.samples:
                labels = sample.labels
                ages[(labels["worker"], labels["kind"], labels["queues"])] = sample.value
    return ages


def listed(running: RunningServer) -> dict[str, dict[str, object]]:
    answer = running.client.get("/api/v1/workers")
    answer.raise_for_status()
    body = answer.json()
    assert body["next"] is None
    return {w["name"]: w for w in body["items"]}


def test_a_serve_process_is_listed_with_a_fresh_heartbeat_and_a_silent_worker_ages_until_forgotten(
    strongbox_on_each_catalog: RunningServer,
) -> None:
    running = strongbox_on_each_catalog
    ctx = running.embedded.context
    presence = running.embedded.presence
    assert presence is not None
    me = presence.presence.name
    lost_after = ctx.settings.job_lost_after
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    clock = FixedClock(now)
    ctx.clock = clock
    presence.step()  # the beat the periodic task writes, at the test's time

    found = listed(running)
    assert list(found) == [me]
    assert found[me]["kind"] == "serve"
    assert found[me]["queues"] == []
    assert found[me]["heartbeat_age_seconds"] == 0
    assert found[me]["lost"] is False
    assert datetime.fromisoformat(str(found[me]["heartbeat_at"])) == now
    assert worker_ages(running) == {(me, "serve", ""): 0}

    # A worker that registered and then stopped beating (killed: it never left).
    far = Presence("far-host:4242:abcdef12", "worker", ("near-db", "default"), now)
    workers.register(ctx, far)
    clock.current = now + timedelta(seconds=lost_after)
    presence.step()
    found = listed(running)
    assert found[far.name]["heartbeat_age_seconds"] == lost_after
    assert found[far.name]["lost"] is False  # exactly at the limit: not yet
    assert found[me]["lost"] is False
    clock.current = now + timedelta(seconds=lost_after + 30)
    presence.step()
    found = listed(running)
    assert found[far.name]["heartbeat_age_seconds"] == lost_after + 30
    assert found[far.name]["lost"] is True
    assert found[me]["heartbeat_age_seconds"] == 0
    assert worker_ages(running) == {
        (me, "serve", ""): 0,
        (far.name, "worker", "near-db,default"): lost_after + 30,
    }

    # A day later the leader forgets it; this process, which beats, stays.
    clock.current = now + timedelta(days=1)
    presence.step()
    assert workers.forget_gone(ctx) == 0  # a day exactly: kept
    clock.current = now + timedelta(days=1, seconds=1)
    presence.step()
    assert workers.forget_gone(ctx) == 1
    assert list(listed(running)) == [me]

    # A row removed under a live process (the catalog restored, say) comes back at its beat.
    workers.leave(ctx, presence.presence)
    assert listed(running) == {}
    presence.step()
    assert list(listed(running)) == [me]


def test_workers_are_paged_newest_first_and_read_by_viewers(
    strongbox: RunningServer,
) -> None:
    ctx = strongbox.embedded.context
    start = datetime(2020, 1, 1, tzinfo=UTC)  # before this server started
    for i in range(5):
        workers.register(
            ctx, Presence(f"host-{i}:1:0000000{i}", "worker", ("default",), start + timedelta(i))
        )
    with client_with(strongbox, service_token(strongbox, "watcher", "viewer")) as viewer:
        first = viewer.get("/api/v1/workers", params={"limit": 3})
        assert first.status_code == 200, first.text
        names = [w["name"] for w in first.json()["items"]]
        cursor = first.json()["next"]
        assert cursor is not None
        rest = viewer.get("/api/v1/workers", params={"limit": 3, "cursor": cursor}).json()
    names += [w["name"] for w in rest["items"]]
    assert rest["next"] is None
    # This server started last (now); then the others, newest first.
    assert names[1:] == [f"host-{i}:1:0000000{i}" for i in (4, 3, 2, 1, 0)]
    assert names[0] == strongbox.embedded.presence.presence.name  # type: ignore[union-attr]
    body = assert_problem(strongbox.client.get("/api/v1/workers", params={"cursor": "nope"}), 422)
    assert "query.cursor" in fields_of(body)
