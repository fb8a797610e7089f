"""What a restore will do, decided before anything is touched.

The same plan serves `?dry_run=true` (shown to a person) and the restore itself (carried out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from strongbox.domain.manifest import Manifest, ManifestArtifact
from strongbox.errors import StrongboxError, conflict, invalid

# What happens to a target database.
CREATE = "create"  # it does not exist: created, and dropped again if the restore fails
FILL = "fill"  # it exists and is empty: restored into after the artifact is verified
OVERWRITE = "overwrite"  # it holds data: dropped and recreated after the artifact is verified


@dataclass(frozen=True)
class PlannedDatabase:
    artifact: ManifestArtifact
    source: str
    target: str
    action: str

    @property
    def verify_first(self) -> bool:
        """An existing database is only touched once the whole artifact proved intact."""
        return self.action in (FILL, OVERWRITE)


def plan_databases(
    manifest: Manifest,
    database_map: Mapping[str, str],
    target_states: Mapping[str, str],
    *,
    overwrite: bool,
) -> list[PlannedDatabase]:
    """The databases of `manifest` to restore and what happens to each target.

    `database_map` renames sources (source -> target; others keep their names);
    `target_states` gives 'absent', 'empty' or 'nonempty' for every target name. Raises a
    StrongboxError when the map names a database the backup does not hold, when two sources
    would land in one target, or when a target holds data and `overwrite` is false.

    >>> from datetime import datetime, UTC
    >>> a = ManifestArtifact(name="app.pgdump.zst", key="k", kind="database", dbname="app",
    ...     format="pg_dump-custom", raw_bytes=10, stored_bytes=5, sha256="00")
    >>> m = Manifest(strongbox_version="0", backup="b", database="d", engine="postgresql",
    ...     server_version="15", method="logical", trigger="manual", tool_versions={},
    ...     started_at=datetime(2026, 1, 1, tzinfo=UTC), finished_at=datetime(2026, 1, 1,
    ...     tzinfo=UTC), size_bytes=10, stored_bytes=5, compression={}, artifacts=[a])
    >>> [(p.source, p.target, p.action) for p in plan_databases(m, {"app": "app_copy"},
    ...     {"app_copy": "absent"}, overwrite=False)]
    [('app', 'app_copy', 'create')]
    """
    dumps = [a for a in manifest.artifacts if a.kind == "database" and a.dbname is not None]
    sources = {a.dbname for a in dumps}
    unknown = sorted(set(database_map) - sources)
    if unknown:
        raise invalid(
            f"database_map names {', '.join(unknown)}, which backup '{manifest.backup}' does not "
            f"hold; it holds {', '.join(sorted(s for s in sources if s))}",
            "unknown-source-database",
            field_name="body.database_map",
        )
    planned: list[PlannedDatabase] = []
    for artifact in dumps:
        assert artifact.dbname is not None
        target = database_map.get(artifact.dbname, artifact.dbname)
        state = target_states[target]
        action = {"absent": CREATE, "empty": FILL}.get(state, OVERWRITE)
        planned.append(PlannedDatabase(artifact, artifact.dbname, target, action))
    _refuse_shared_targets(planned)
    _refuse_unasked_overwrites(planned, overwrite)
    return planned


def target_names(manifest: Manifest, database_map: Mapping[str, str]) -> list[str]:
    """The target database names a restore of `manifest` would write, in artifact order."""
    return [
        database_map.get(a.dbname, a.dbname)
        for a in manifest.artifacts
        if a.kind == "database" and a.dbname is not None
    ]


def _refuse_shared_targets(planned: list[PlannedDatabase]) -> None:
    seen: dict[str, str] = {}
    for item in planned:
        if item.target in seen:
            raise invalid(
                f"databases {seen[item.target]} and {item.source} would both be restored into "
                f"{item.target}: map them to different names",
                "target-collision",
                field_name="body.database_map",
            )
        seen[item.target] = item.source


def _refuse_unasked_overwrites(planned: list[PlannedDatabase], overwrite: bool) -> None:
    filled = [p.target for p in planned if p.action == OVERWRITE]
    if filled and not overwrite:
        error: StrongboxError = conflict(
            f"target database {', '.join(filled)} exists and is not empty: restore into a new "
            "name with database_map, or set overwrite to true to replace its content",
            "target-not-empty",
        )
        raise error
