"""`/metrics` in the Prometheus text format, computed from the catalog at each scrape."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from strongbox.services import metrics
from strongbox.services.context import Context

PREFIX = "strongbox"


class CatalogCollector(Collector):
    """Turns `services.metrics.snapshot` into metric families, once per scrape."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[GaugeMetricFamily]:
        found = metrics.snapshot(self.ctx)
        yield from _databases(found)
        yield from _counts(found)
        yield from _jobs(found)
        yield from _pitr(found)
        yield from _workers(found)


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)


def _databases(found: metrics.Snapshot) -> Iterator[GaugeMetricFamily]:
    info = _gauge("database_info", "A registered database (always 1)", ["database", "engine"])
    for name, engine in sorted(found.databases.items()):
        info.add_metric([name, engine], 1)
    yield info
    at = _gauge(
        "last_backup_success_timestamp_seconds",
        "When the database's newest succeeded backup ended (Unix time)",
        ["database"],
    )
    since = _gauge(
        "seconds_since_last_backup_success",
        "Seconds from the end of the newest succeeded backup to the scrape",
        ["database"],
    )
    duration = _gauge(
        "last_backup_success_duration_seconds",
        "How long the newest succeeded backup ran",
        ["database"],
    )
    size = _gauge(
        "last_backup_success_size_bytes",
        "Raw bytes dumped by the newest succeeded backup",
        ["database"],
    )
    stored = _gauge(
        "last_backup_success_stored_bytes",
        "Bytes the newest succeeded backup takes in its storage",
        ["database"],
    )
    for last in sorted(found.last_success, key=lambda s: s.database):
        labels = [last.database]
        at.add_metric(labels, last.finished_at.timestamp())
        since.add_metric(labels, max(0.0, (found.now - last.finished_at).total_seconds()))
        if last.duration_seconds is not None:
            duration.add_metric(labels, last.duration_seconds)
        if last.size_bytes is not None:
            size.add_metric(labels, last.size_bytes)
        if last.stored_bytes is not None:
            stored.add_metric(labels, last.stored_bytes)
    yield from (at, since, duration, size, stored)


def _counts(found: metrics.Snapshot) -> Iterator[GaugeMetricFamily]:
    backups = _gauge("backups", "Backups in the catalog by state", ["database", "state"])
    for (database, state), count in sorted(found.backups.items()):
        backups.add_metric([database, state], count)
    restores = _gauge("restores", "Restores in the catalog by state", ["database", "state"])
    for (database, state), count in sorted(found.restores.items()):
        restores.add_metric([database, state], count)
    slots = _gauge(
        "schedule_slots",
        "Schedule slots by what became of them (succeeded, failed, skipped, missed, ...)",
        ["database", "schedule", "state"],
    )
    for (database, schedule, state), count in sorted(found.slots.items()):
        slots.add_metric([database, schedule, state], count)
    dumped = _gauge(
        "backups_dumped_bytes",
        "Raw bytes dumped by the succeeded backups in the catalog",
        ["database"],
    )
    for database, total in sorted(found.dumped_bytes.items()):
        dumped.add_metric([database], total)
    uploaded = _gauge(
        "backups_uploaded_bytes",
        "Bytes uploaded (as stored) by the succeeded backups in the catalog",
        ["database"],
    )
    for database, total in sorted(found.stored_bytes.items()):
        uploaded.add_metric([database], total)
    yield from (backups, restores, slots, dumped, uploaded)


def _jobs(found: metrics.Snapshot) -> Iterator[GaugeMetricFamily]:
    jobs = _gauge("jobs", "Backups and restores queued or running", ["kind", "state"])
    for (kind, state), count in sorted(found.jobs.items()):
        jobs.add_metric([kind, state], count)
    age = _gauge(
        "job_heartbeat_age_seconds",
        "Seconds since a running job last reported progress",
        ["kind", "database", "name"],
    )
    for beat in found.heartbeats:
        age.add_metric([beat.kind, beat.database, beat.name], beat.age_seconds)
    yield from (jobs, age)


def _pitr(found: metrics.Snapshot) -> Iterator[GaugeMetricFamily]:
    lag = _gauge(
        "pitr_lag_seconds",
        "How far the uploaded change log trails the server (PITR-enabled databases)",
        ["database"],
    )
    upload = _gauge(
        "pitr_last_upload_timestamp_seconds", "When the change log was last uploaded", ["database"]
    )
    state = _gauge("pitr_state", "The state of the change-log stream (1)", ["database", "state"])
    for stream in found.pitr:
        state.add_metric([stream.database, stream.state], 1)
        if stream.lag_seconds is not None:
            lag.add_metric([stream.database], stream.lag_seconds)
        if stream.last_upload_at is not None:
            upload.add_metric([stream.database], stream.last_upload_at.timestamp())
    yield from (lag, upload, state)


def _workers(found: metrics.Snapshot) -> Iterator[GaugeMetricFamily]:
    age = _gauge(
        "worker_heartbeat_age_seconds",
        "Seconds since a process that runs jobs (serve or worker) last wrote its heartbeat",
        ["worker", "kind", "queues"],
    )
    for worker in found.workers:
        age.add_metric([worker.name, worker.kind, ",".join(worker.queues)], worker.age_seconds)
    yield age


def registry_for(ctx: Context) -> CollectorRegistry:
    """A registry of its own per application, so that two apps in one process never share."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CatalogCollector(ctx))
    return registry


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST
