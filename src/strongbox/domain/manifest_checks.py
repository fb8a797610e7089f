"""The rules a manifest read from a storage must keep before anything acts on it, and its
comparison with the catalog's record of the same backup.

A storage is not trusted: whoever can write to the bucket can write a manifest. So no manifest
may name a key outside its backup's folder or another backup's object, give a file name that
is a path, or state sizes, times and checksums that make no sense. Everything here is pure:
the present time is passed in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from strongbox.domain.artifact_objects import object_problems
from strongbox.domain.keys import BASE_BACKUP_NAME, artifact_key
from strongbox.domain.manifest import MANIFEST_FORMAT_VERSION, Manifest, ManifestArtifact
from strongbox.domain.names import is_valid_name

KNOWN_METHODS = ("logical", "physical")
DATABASE, GLOBALS, BASE = "database", "globals", "base"
PG_CUSTOM, SQL, PG_BASEBACKUP_TAR = "pg_dump-custom", "sql", "pg_basebackup-tar"
GLOBALS_NAME = "globals.sql.zst"
# The artifact formats each engine writes, per artifact kind: {"mysql": {"database": "sql"}}.
# Each engine kind declares its own (engines/); callers pass them in, as domain/ knows no engine.
EngineFormats = Mapping[str, Mapping[str, str]]
SUFFIX_OF_FORMAT = {PG_CUSTOM: ".pgdump.zst", SQL: ".sql.zst", PG_BASEBACKUP_TAR: ".tar.zst"}
MAX_NAME_CHARS = 200  # a 64-character database name, escaped and suffixed, fits easily
MAX_DBNAME_CHARS = 64  # MySQL's limit; PostgreSQL's is 63 bytes
MAX_TEXT_CHARS = 255  # versions and other descriptive strings (the catalog's column width)
MAX_ARTIFACTS = 10_000
MAX_BYTES = 2**50  # 1 PiB: larger than any artifact this tool will ever stream
MAX_CLOCK_SKEW = timedelta(days=1)  # a server whose clock runs ahead still made a real backup
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MANUAL_TRIGGER, SCHEDULE_TRIGGER_PREFIX = "manual", "schedule:"

_SHA256 = re.compile(r"[0-9a-f]{64}")
# What engines.common.safe_file_stems makes of a database name: no leading dot.
_FILE_STEM = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
AGE_SUFFIX = ".age"
MAX_RECIPIENTS = 16
_AGE_RECIPIENT = re.compile(r"age1[0-9a-z]{58}")
_ARTIFACT_FIELDS = (
    "encrypted_to",
    "key",
    "kind",
    "dbname",
    "format",
    "raw_bytes",
    "stored_bytes",
    "sha256",
    "database_properties",
    "objects",
)


def manifest_problems(
    manifest: Manifest,
    *,
    formats: EngineFormats,
    storage_prefix: str,
    database: str,
    backup: str,
    now: datetime,
) -> list[str]:
    """Every way `manifest`, found at the manifest key of `database`/`backup` under
    `storage_prefix`, breaks the layout's rules; empty when it keeps them all. Its engine must
    be one of `formats`, and its artifacts of the formats given there.

    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> a = ManifestArtifact(name="../../x", key="p/d/b/../../x", kind="database",
    ...     dbname="app", format="pg_dump-custom", raw_bytes=10, stored_bytes=5, sha256="0" * 64)
    >>> m = Manifest(strongbox_version="0", backup="b", database="d", engine="postgresql",
    ...     server_version="15", method="logical", trigger="manual", tool_versions={},
    ...     started_at=t, finished_at=t, size_bytes=10, stored_bytes=5, compression={},
    ...     artifacts=[a])
    >>> pg = {"postgresql": {"database": "pg_dump-custom", "globals": "sql"}}
    >>> manifest_problems(m, formats=pg, storage_prefix="p", database="d", backup="b", now=t)[0]
    "artifact '../../x': name contains '/': a file name of the backup folder has none"
    """
    problems = _header_problems(manifest, formats, database, backup, now)
    problems += artifact_set_problems(
        manifest.artifacts,
        engine=manifest.engine,
        formats=formats,
        storage_prefix=storage_prefix,
        database=database,
        backup=backup,
    )
    if manifest.size_bytes != sum(a.raw_bytes for a in manifest.artifacts):
        problems.append("size_bytes is not the sum of the artifacts' raw_bytes")
    if manifest.stored_bytes != sum(a.stored_bytes for a in manifest.artifacts):
        problems.append("stored_bytes is not the sum of the artifacts' stored_bytes")
    return problems


def artifact_set_problems(
    artifacts: Sequence[ManifestArtifact],
    *,
    engine: str,
    formats: EngineFormats,
    storage_prefix: str,
    database: str,
    backup: str,
) -> list[str]:
    """Every rule of the layout that the artifacts of one backup break: names, keys, kinds,
    formats, database names, checksums and sizes; no two artifacts sharing a name or a
    database, at most one globals dump."""
    if not artifacts:
        return ["it lists no artifact"]
    if len(artifacts) > MAX_ARTIFACTS:
        return [f"it lists {len(artifacts)} artifacts, more than {MAX_ARTIFACTS}"]
    problems: list[str] = []
    for artifact in artifacts:
        problems += artifact_problems(artifact, engine, formats, storage_prefix, database, backup)
    problems += _duplicates("name", [a.name for a in artifacts])
    problems += _duplicates("dbname", [a.dbname for a in artifacts if a.kind == DATABASE])
    if sum(a.kind == GLOBALS for a in artifacts) > 1:
        problems.append("it lists more than one globals dump")
    return problems


def artifact_problems(
    artifact: ManifestArtifact,
    engine: str,
    formats: EngineFormats,
    storage_prefix: str,
    database: str,
    backup: str,
) -> list[str]:
    """The rules one artifact of a backup of `engine` breaks (see `artifact_set_problems`)."""
    label = f"artifact {_show(artifact.name)}"
    problems = [f"{label}: {p}" for p in _kind_and_format_problems(artifact, engine, formats)]
    name_problem = _encrypted_name_problem(artifact) or file_name_problem(
        artifact.name.removesuffix(AGE_SUFFIX) if artifact.encrypted_to else artifact.name,
        artifact.kind,
        artifact.format,
    )
    if name_problem:
        problems.append(f"{label}: name {name_problem}")
    else:
        expected = artifact_key(storage_prefix, database, backup, artifact.name)
        if artifact.key != expected:
            problems.append(
                f"{label}: key is {_show(artifact.key)}, but the layout puts it at {expected!r}"
            )
    dbname_problem = _dbname_problem(artifact)
    if dbname_problem:
        problems.append(f"{label}: dbname {dbname_problem}")
    if not _SHA256.fullmatch(artifact.sha256):
        problems.append(f"{label}: sha256 is not 64 lowercase hexadecimal digits")
    for field in ("raw_bytes", "stored_bytes"):
        value = getattr(artifact, field)
        if not 0 <= value <= MAX_BYTES:
            problems.append(f"{label}: {field} {value} is not between 0 and {MAX_BYTES}")
    # The objects' keys follow from the artifact's key, itself checked against the layout above.
    problems += [f"{label}: {p}" for p in object_problems(artifact, MAX_BYTES)]
    return problems


def _encrypted_name_problem(artifact: ManifestArtifact) -> str | None:
    """Why the name or recipients of an artifact do not say the same about its encryption.

    >>> a = ManifestArtifact(name="app.pgdump.zst.age", key="k", kind="database", dbname="app",
    ...     format="pg_dump-custom", raw_bytes=1, stored_bytes=1, sha256="0" * 64)
    >>> _encrypted_name_problem(a)
    "ends with '.age' but lists no age recipient"
    """
    encrypted_name = artifact.name.endswith(AGE_SUFFIX)
    if artifact.encrypted_to is None:
        return f"ends with {AGE_SUFFIX!r} but lists no age recipient" if encrypted_name else None
    if not encrypted_name:
        return f"of an artifact encrypted with age does not end with {AGE_SUFFIX!r}"
    if not 1 <= len(artifact.encrypted_to) <= MAX_RECIPIENTS:
        return f"lists {len(artifact.encrypted_to)} age recipients, not 1 to {MAX_RECIPIENTS}"
    bad = [r for r in artifact.encrypted_to if not _AGE_RECIPIENT.fullmatch(r)]
    return f"lists {_show(bad[0])}, which is not an age recipient" if bad else None


def file_name_problem(name: str, kind: str, artifact_format: str) -> str | None:
    """Why `name` is not a file name the layout gives an artifact of `kind` and `format`, or
    None when it is one: `<stem>.pgdump.zst` or `<stem>.sql.zst` for a database (the stem made
    of letters, digits, '_', '.', '-', not starting with '.'), `globals.sql.zst` for roles.

    >>> file_name_problem("app.pgdump.zst", "database", "pg_dump-custom") is None
    True
    >>> file_name_problem("/etc/cron.d/x", "database", "sql")
    "contains '/': a file name of the backup folder has none"
    >>> file_name_problem("..", "database", "sql")
    "is a path step ('.' or '..'), not a file name"
    """
    if not name:
        return "is empty"
    if len(name) > MAX_NAME_CHARS:
        return f"is {len(name)} characters long, more than {MAX_NAME_CHARS}"
    if _CONTROL.search(name):
        return "contains control characters"
    if "/" in name or "\\" in name:
        sep = "/" if "/" in name else "\\"
        return f"contains {sep!r}: a file name of the backup folder has none"
    if name in (".", ".."):
        return "is a path step ('.' or '..'), not a file name"
    if kind == GLOBALS:
        return None if name == GLOBALS_NAME else f"of a globals dump is not {GLOBALS_NAME!r}"
    if kind == BASE:
        return None if name == BASE_BACKUP_NAME else f"of a base backup is not {BASE_BACKUP_NAME!r}"
    suffix = SUFFIX_OF_FORMAT.get(artifact_format)
    if suffix is None:
        return None  # the unknown format is reported on its own
    stem = name.removesuffix(suffix)
    if stem == name:
        return f"of a {artifact_format!r} artifact does not end with {suffix!r}"
    if not _FILE_STEM.fullmatch(stem):
        return (
            "is not made of letters, digits, '_', '.' and '-' (not starting with '.') "
            f"before {suffix!r}"
        )
    return None


def catalog_artifacts(
    engine: str, rows: Sequence[Mapping[str, Any]], formats: EngineFormats
) -> list[ManifestArtifact]:
    """The artifacts of a backup's catalog record. Records written before the format was kept
    get it from the engine and the kind (each engine writes one format per kind, given in
    `formats`); raises ValueError naming the artifact when a record cannot be read.

    >>> pg = {"postgresql": {"database": "pg_dump-custom", "globals": "sql"}}
    >>> [a.format for a in catalog_artifacts("postgresql", [{"name": "globals.sql.zst",
    ...     "key": "k", "kind": "globals", "dbname": None, "raw_bytes": 1, "stored_bytes": 1,
    ...     "sha256": "0" * 64}], pg)]
    ['sql']
    """
    artifacts = []
    for row in rows:
        fields = dict(row)
        if "format" not in fields:
            fields["format"] = formats.get(engine, {}).get(str(fields.get("kind")))
        try:
            artifacts.append(ManifestArtifact.model_validate(fields))
        except ValueError as exc:
            raise ValueError(f"artifact {_show(fields.get('name'))}: {exc}") from exc
    return artifacts


def differences(
    catalog: Sequence[ManifestArtifact], stored: Sequence[ManifestArtifact]
) -> list[str]:
    """How the artifacts a storage's manifest lists differ from the catalog's record, one
    sentence per artifact missing on either side or per field that differs (key, kind,
    dbname, format, sizes, sha256, database properties), catalog value first. Empty when they agree.

    >>> a = ManifestArtifact(name="app.pgdump.zst", key="d/b/app.pgdump.zst", kind="database",
    ...     dbname="app", format="pg_dump-custom", raw_bytes=10, stored_bytes=5, sha256="0" * 64)
    >>> differences([a], [a.model_copy(update={"stored_bytes": 6})])
    ["artifact 'app.pgdump.zst': stored_bytes is 5 in the catalog and 6 in the storage"]
    """
    by_name = {a.name: a for a in stored}
    recorded = {a.name for a in catalog}
    found: list[str] = []
    for artifact in catalog:
        other = by_name.get(artifact.name)
        if other is None:
            found.append(f"artifact {_show(artifact.name)} is in the catalog, not in the storage")
            continue
        for field in _ARTIFACT_FIELDS:
            mine, theirs = getattr(artifact, field), getattr(other, field)
            if mine != theirs:
                found.append(
                    f"artifact {_show(artifact.name)}: {field} is {_show(mine)} in the catalog "
                    f"and {_show(theirs)} in the storage"
                )
    found += [
        f"artifact {_show(a.name)} is in the storage, not in the catalog"
        for a in stored
        if a.name not in recorded
    ]
    return found


def _header_problems(
    manifest: Manifest, formats: EngineFormats, database: str, backup: str, now: datetime
) -> list[str]:
    problems: list[str] = []
    if manifest.format_version != MANIFEST_FORMAT_VERSION:
        problems.append(
            f"format_version {manifest.format_version} is not {MANIFEST_FORMAT_VERSION}, the "
            "one this version reads"
        )
    if manifest.engine not in formats:
        problems.append(f"engine {_show(manifest.engine)} is not one of {tuple(formats)}")
    for field, where in (("database", database), ("backup", backup)):
        value = getattr(manifest, field)
        if value != where:
            problems.append(
                f"{field} is {_show(value)}, but the manifest lies in the folder of {where!r}"
            )
        elif not is_valid_name(value):
            problems.append(f"{field} {_show(value)} is not a valid name")
    if manifest.method not in KNOWN_METHODS:
        problems.append(f"method {_show(manifest.method)} is not one of {KNOWN_METHODS}")
    trigger = manifest.trigger
    schedule = trigger.removeprefix(SCHEDULE_TRIGGER_PREFIX)
    if trigger != MANUAL_TRIGGER and (schedule == trigger or not is_valid_name(schedule)):
        problems.append(
            f"trigger {_show(trigger)} is neither 'manual' nor 'schedule:' and a schedule name"
        )
    for field in ("strongbox_version", "server_version"):
        value = getattr(manifest, field)
        if len(value) > MAX_TEXT_CHARS or _CONTROL.search(value):
            problems.append(f"{field} is longer than {MAX_TEXT_CHARS} or has control characters")
    problems += _time_problems(manifest.started_at, manifest.finished_at, now)
    return problems


def _time_problems(started: datetime, finished: datetime, now: datetime) -> list[str]:
    if started.tzinfo is None or finished.tzinfo is None:
        return ["started_at and finished_at must carry a time zone"]
    problems = []
    if started > finished:
        problems.append(f"started_at {started.isoformat()} is after finished_at")
    if started < EARLIEST:
        problems.append(f"started_at {started.isoformat()} is before {EARLIEST.year}")
    if finished > now + MAX_CLOCK_SKEW:
        problems.append(
            f"finished_at {finished.isoformat()} is in the future (now is {now.isoformat()})"
        )
    return problems


def _kind_and_format_problems(
    artifact: ManifestArtifact, engine: str, formats: EngineFormats
) -> list[str]:
    of_engine = formats.get(engine)
    if of_engine is None:
        return []  # the unknown engine is reported on its own
    if artifact.kind not in of_engine:
        return [f"kind {_show(artifact.kind)} is not one of {tuple(of_engine)} for {engine}"]
    expected = of_engine[artifact.kind]
    if artifact.format != expected:
        return [
            f"format {_show(artifact.format)} is not {expected!r}, the format of a "
            f"{engine} {artifact.kind} artifact"
        ]
    return []


def _dbname_problem(artifact: ManifestArtifact) -> str | None:
    name = artifact.dbname
    if artifact.kind != DATABASE:
        return None if name is None else "is set on an artifact that is not a database dump"
    if name is None or not name:
        return "is missing"
    if len(name) > MAX_DBNAME_CHARS:
        return f"is {len(name)} characters long, more than {MAX_DBNAME_CHARS}"
    if _CONTROL.search(name):
        return "contains control characters"
    return None


def _duplicates(field: str, values: Sequence[str | None]) -> list[str]:
    counts = Counter(values)
    return [f"two artifacts share the {field} {_show(v)}" for v, n in counts.items() if n > 1]


def _show(value: object) -> str:
    """A value for a message: repr, cut short (a hostile manifest can hold anything)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
