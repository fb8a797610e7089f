"""Where the bytes of a restored database's dump come from, and how their progress is told: a
stored artifact (downloaded, verified by its SHA-256, decrypted, decompressed by
`restore_pipeline`); the dump program of a recovered instance is the other source
(`physical_transfer`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from strongbox import restore_pipeline
from strongbox.domain.manifest import ManifestArtifact
from strongbox.engines.base import RestoreCommand
from strongbox.storage.base import BackupStorage


class Progress(Protocol):
    """Bytes fed to the tools and a heartbeat, written on the restore's row."""

    def __call__(self, raw_bytes: int) -> None: ...

    def artifact_done(self, raw_bytes: int) -> None: ...

    def heartbeat(self, _bytes: int = 0) -> None: ...


class ArtifactSource(Protocol):
    """Where the bytes of a database's dump come from: a stored artifact (verified by its
    SHA-256), or a dump program run against a recovered instance (a physical backup)."""

    def feed(
        self,
        artifact: ManifestArtifact,
        command: RestoreCommand,
        progress: Progress,
    ) -> int:
        """Stream the dump into `command`'s stdin; returns the bytes fed."""
        ...

    def download(self, artifact: ManifestArtifact, path: Path, progress: Progress) -> int:
        """Write the whole dump into the new file `path`; returns its size."""
        ...


class StoredArtifacts:
    """Dumps read from a storage, verified, decompressed (`restore_pipeline`)."""

    def __init__(
        self,
        storage: BackupStorage,
        stall_seconds: float,
        identities: restore_pipeline.Identities = None,
    ) -> None:
        self.storage = storage
        self.stall = stall_seconds
        self.identities = identities  # of an encrypted backup's recipients, in memory only

    def feed(
        self,
        artifact: ManifestArtifact,
        command: RestoreCommand,
        progress: Progress,
    ) -> int:
        return restore_pipeline.feed_from_storage(
            self.storage,
            artifact.object_keys(),
            artifact.sha256,
            command,
            self.stall,
            progress,
            identities=self.identities if artifact.encrypted_to else None,
        )

    def download(self, artifact: ManifestArtifact, path: Path, progress: Progress) -> int:
        return restore_pipeline.download(
            self.storage,
            artifact.object_keys(),
            artifact.sha256,
            path,
            self.stall,
            progress.heartbeat,
            identities=self.identities if artifact.encrypted_to else None,
        )


class Growing:
    """The progress of an artifact whose local copy is read while it is written: the bytes
    written are the restore's progress (its programs read them as they come), and the copy is
    told how far it can be read."""

    def __init__(self, progress: Progress, grew: Callable[[int], None]) -> None:
        self._progress = progress
        self._grew = grew

    def __call__(self, raw_bytes: int) -> None:
        self._progress(raw_bytes)
        self._grew(raw_bytes)

    def artifact_done(self, raw_bytes: int) -> None:
        self._progress.artifact_done(raw_bytes)

    def heartbeat(self, raw_bytes: int = 0) -> None:
        self(raw_bytes)
