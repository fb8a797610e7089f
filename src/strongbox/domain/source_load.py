"""What a backup cost its source: rates computed from snapshots of the source's cumulative
activity counters and of the bytes the backup had read, taken while it ran.

`source_load` on a backup is the JSON `summarize` returns:

    {"sample_seconds": 2.0,
     "samples": [{"elapsed_seconds": 2.0, "backup_read_mb_per_s": 31.5,
                  "transactions_per_s": 412.0, "blocks_read_per_s": 3900.0}, ...],
     "average": {"backup_read_mb_per_s": ..., "transactions_per_s": ..., ...}}

Pure: the snapshots come with their (monotonic) times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from strongbox.domain.pacing import BYTES_PER_MB

MAX_SAMPLES = 120  # a chart's width; longer backups are shown at a coarser step
BACKUP_RATE = "backup_read_mb_per_s"


@dataclass(frozen=True)
class Snapshot:
    """The source's counters and the backup's raw bytes read, at `at` seconds (monotonic)."""

    at: float
    counters: dict[str, int]
    backup_bytes: int


def rates(earlier: Snapshot, later: Snapshot, start: float) -> dict[str, float]:
    """The per-second rates between two snapshots, and when the later was taken.

    A counter that went down (the server restarted, its statistics were reset) gives no rate.

    >>> a = Snapshot(10.0, {"transactions": 100}, 0)
    >>> b = Snapshot(12.0, {"transactions": 300}, 4_000_000)
    >>> rates(a, b, start=10.0)
    {'elapsed_seconds': 2.0, 'backup_read_mb_per_s': 2.0, 'transactions_per_s': 100.0}
    """
    span = later.at - earlier.at
    out = {"elapsed_seconds": round(later.at - start, 3)}
    if span <= 0:
        return out
    out[BACKUP_RATE] = round((later.backup_bytes - earlier.backup_bytes) / span / BYTES_PER_MB, 3)
    for name, value in later.counters.items():
        before = earlier.counters.get(name)
        if before is not None and value >= before:
            out[f"{name}_per_s"] = round((value - before) / span, 3)
    return out


def summarize(snapshots: Sequence[Snapshot], sample_seconds: float) -> dict[str, Any] | None:
    """`source_load` from snapshots in time order: one sample per consecutive pair (merged
    pairwise until there are at most MAX_SAMPLES), and the average over the whole run. None
    with fewer than two snapshots.

    >>> snaps = [Snapshot(float(t), {"questions": 10 * t * t}, 1_000_000 * t) for t in range(4)]
    >>> load = summarize(snaps, 1.0)
    >>> [s["questions_per_s"] for s in load["samples"]], load["average"]["questions_per_s"]
    ([10.0, 30.0, 50.0], 30.0)
    >>> load["average"]["backup_read_mb_per_s"]
    1.0
    """
    if len(snapshots) < 2:
        return None
    points = list(snapshots)
    while len(points) - 1 > MAX_SAMPLES:
        points = points[::2] if len(points) % 2 else [*points[:-1:2], points[-1]]
    start = points[0].at
    samples = [rates(a, b, start) for a, b in pairwise(points)]
    average = rates(points[0], points[-1], start)
    average.pop("elapsed_seconds")
    return {"sample_seconds": sample_seconds, "samples": samples, "average": average}
