"""The rules of an artifact stored as several objects (see `pipeline`), as a manifest states it.

A manifest is untrusted: its objects must be the artifact's own, named as the layout names
them, in order, and add up to the artifact. Their checksums are checked again while reading.
"""

from __future__ import annotations

import re

from strongbox.domain.manifest import ManifestArtifact
from strongbox.domain.partsize import continuation_key

# 1 PiB (manifest_checks.MAX_BYTES) in objects of at least 40 MiB (partsize.PartPlan.cut_at).
MAX_OBJECTS = 30_000
_SHA256 = re.compile(r"[0-9a-f]{64}")


def object_problems(artifact: ManifestArtifact, max_bytes: int) -> list[str]:
    """Every rule the `objects` of `artifact` break; empty when it has none or they keep them.

    >>> from strongbox.domain.manifest import ArtifactObject
    >>> def obj(key, size=5): return ArtifactObject(key=key, stored_bytes=size, sha256="a" * 64)
    >>> a = ManifestArtifact(name="x.sql.zst", key="p/x.sql.zst", kind="database", format="sql",
    ...     raw_bytes=20, stored_bytes=10, sha256="0" * 64,
    ...     objects=[obj("p/x.sql.zst"), obj("p/x.sql.zst.00002")])
    >>> object_problems(a, 2**50)
    []
    >>> a.objects.reverse()
    >>> object_problems(a, 2**50)[0]
    "object 1 is 'p/x.sql.zst.00002', but the layout puts it at 'p/x.sql.zst'"
    """
    objects = artifact.objects
    if objects is None:
        return []
    if not 2 <= len(objects) <= MAX_OBJECTS:
        return [
            f"it lists {len(objects)} objects: an artifact in several objects has 2 to "
            f"{MAX_OBJECTS}, and one in a single object lists none"
        ]
    problems: list[str] = []
    for number, stored in enumerate(objects, start=1):
        expected = artifact.key if number == 1 else continuation_key(artifact.key, number)
        if stored.key != expected:
            problems.append(
                f"object {number} is {_show(stored.key)}, but the layout puts it at {expected!r}"
            )
        if not _SHA256.fullmatch(stored.sha256):
            problems.append(f"object {number}: sha256 is not 64 lowercase hexadecimal digits")
        if not 0 <= stored.stored_bytes <= max_bytes:
            problems.append(
                f"object {number}: stored_bytes {stored.stored_bytes} is not between 0 and "
                f"{max_bytes}"
            )
    if sum(o.stored_bytes for o in objects) != artifact.stored_bytes:
        problems.append("the objects' stored_bytes do not add up to the artifact's stored_bytes")
    return problems


def _show(value: str) -> str:
    """A value from the manifest, shortened and quoted, for a message."""
    return repr(value if len(value) <= 80 else value[:77] + "...")
