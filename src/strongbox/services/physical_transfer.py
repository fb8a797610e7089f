"""A physical backup restored into a registered database: the base is recovered into a
temporary instance on this host (`instance_build`, not registered), each database named is
dumped from it (`pg_dump -Fc`) and restored through the same steps as a logical backup's
artifact (`restore_steps`: a new name, or a side database and a swap for an overwrite), and
the temporary instance is removed whatever happens.

The plan is made before anything starts, as for any restore: the databases to transfer are
the keys of `database_map`, else the source's registered `databases`; each gets a planning
artifact standing for its dump, which the base's verified bytes will produce.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from strongbox.domain.manifest import Manifest, ManifestArtifact
from strongbox.domain.restore_plan import PlannedDatabase
from strongbox.engines.base import ConnectionInfo, DumpCommand, Engine, RestoreCommand
from strongbox.engines.postgresql.connection import parse_server_version
from strongbox.errors import StrongboxError, invalid
from strongbox.restore_pipeline import Identities, download_from_tool, feed_from_tool
from strongbox.services import databases
from strongbox.services.context import Context
from strongbox.services.instance_build import (
    LOCALHOST,
    InstanceSpec,
    PitrRecovery,
    build_instance,
    tear_down,
)
from strongbox.services.managed_instances import TRANSFER_PREFIX
from strongbox.services.restore_sources import ArtifactSource, Progress
from strongbox.storage.base import BackupStorage

DUMP_FORMAT = "pg_dump-custom"  # what `pg_dump -Fc` of the temporary instance gives
NO_DATABASES = "transfer-needs-databases"


def planning_manifest(manifest: Manifest, names: list[str]) -> Manifest:
    """`manifest` of a physical backup with one planning artifact per database in `names`
    (the dumps the temporary instance will give), so that the ordinary restore plan applies.
    Raises invalid(...) when no database is named."""
    if not names:
        raise invalid(
            f"backup '{manifest.backup}' is physical and holds the whole cluster: name the "
            'databases to transfer with database_map ({"app": "app_copy"}), or register the '
            "source with its databases",
            NO_DATABASES,
            field_name="body.database_map",
        )
    base = base_of(manifest)
    dumps = [
        ManifestArtifact(
            name=f"{name}.pgdump",
            key=f"pg_dump of {name} from {base.key}, recovered",
            kind="database",
            dbname=name,
            format=DUMP_FORMAT,
            raw_bytes=base.raw_bytes,  # at most the cluster: the room a local copy may need
            stored_bytes=base.stored_bytes,
            sha256=base.sha256,
        )
        for name in dict.fromkeys(names)
    ]
    return manifest.model_copy(update={"artifacts": dumps})


def base_of(manifest: Manifest) -> ManifestArtifact:
    bases = [a for a in manifest.artifacts if a.kind == "base"]
    if len(bases) != 1:
        raise StrongboxError(
            f"backup '{manifest.backup}' records {len(bases)} base artifacts, not one",
            "backup-not-restorable",
        )
    return bases[0]


def server_major(manifest: Manifest) -> int:
    try:
        return parse_server_version(manifest.server_version)[1]
    except ValueError as exc:
        raise StrongboxError(
            f"the backup's server version {manifest.server_version!r} is not PostgreSQL's",
            "backup-not-restorable",
        ) from exc


class DumpedDatabases:
    """Dumps made by pg_dump from the temporary instance, one per database."""

    def __init__(self, commands: dict[str, DumpCommand], stall_seconds: float) -> None:
        self.commands = commands
        self.stall = stall_seconds

    def feed(
        self,
        artifact: ManifestArtifact,
        command: RestoreCommand,
        progress: Progress,
    ) -> int:
        dump = self._dump(artifact)
        what = f"pg_dump of {artifact.dbname}"
        return feed_from_tool(dump.argv, dump.env, command, self.stall, what, progress)

    def download(self, artifact: ManifestArtifact, path: Path, progress: Progress) -> int:
        dump = self._dump(artifact)
        return download_from_tool(dump.argv, dump.env, path, self.stall, progress.heartbeat)

    def _dump(self, artifact: ManifestArtifact) -> DumpCommand:
        assert artifact.dbname is not None
        return self.commands[artifact.dbname]


@contextmanager
def recovered_source(
    ctx: Context,
    source_database: str,
    storage: BackupStorage,
    manifest: Manifest,
    base: ManifestArtifact,
    planned: list[PlannedDatabase],
    engine: Engine,
    *,
    pitr: PitrRecovery | None = None,
    identities: Identities = None,
) -> Iterator[tuple[ArtifactSource, list[PlannedDatabase]]]:
    """Recover `base` into a temporary instance (to the end of the base, or to the point in
    time of `pitr`) and yield the source of its databases' dumps with `planned`
    given each database's recorded properties (read from the instance, as a logical backup
    records them); the instance is stopped and removed on the way out."""
    with ctx.catalog.session() as session:
        row = databases.get_row(session, source_database)
        username, password = row.username, ctx.secrets.decrypt(row.password_encrypted)
    spec = InstanceSpec(
        name=f"{TRANSFER_PREFIX}{secrets.token_hex(4)}",
        port=_free_port(),
        storage=storage,
        base=base,
        server_major=server_major(manifest),
        username=username,
        password=password,
        identities=identities,
    )
    built = build_instance(ctx, spec, pitr)
    try:
        conn = ConnectionInfo(LOCALHOST, spec.port, username, password, ssl_mode="disable")
        names = [item.source for item in planned]
        commands, _tools = engine.plan_dump(conn, names, ctx.settings.check_timeout_seconds)
        dumps = {c.dbname: c for c in commands if c.kind == "database" and c.dbname}
        with_properties = [
            replace(
                item,
                artifact=item.artifact.model_copy(
                    update={"database_properties": dumps[item.source].properties}
                ),
            )
            for item in planned
        ]
        yield DumpedDatabases(dumps, ctx.settings.stall_timeout_seconds), with_properties
    finally:
        tear_down(ctx, built.server)


def _free_port() -> int:
    """A port the system says is free now (the instance's start fails clearly if it is taken
    in between)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOCALHOST, 0))
        return int(probe.getsockname()[1])
