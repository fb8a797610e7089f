"""The multipart plan of an upload: part size, parts in flight, and where an artifact is cut into
several objects.

S3 allows at most 10,000 parts per object, each but the last at least 5 MiB. The part size and
the number of parts in memory are fixed, so an upload's memory is the same for 1 GB and 5 TiB;
an artifact that would need more parts is stored as several objects in sequence, each a whole
zstd stream (see `pipeline`), so the object size never has to grow with the database.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
PART_SIZE = 5 * MIB  # S3's minimum: the least memory per part (docs/performance.md)
MIN_PART_SIZE = 5 * MIB  # S3's minimum for every part but the last
MAX_PARTS = 10_000
# Room left in an object for what the compressor still holds when the cut is decided: ending
# the zstd frame flushes it. zstd's workers hold about two 512 KiB jobs each, so 64 MiB covers
# far more cores than a small host has.
FLUSH_HEADROOM = 64 * MIB


@dataclass(frozen=True)
class PartPlan:
    """How one artifact is uploaded.

    >>> plan = part_plan(1024**4, concurrency=2)  # 1 TiB expected
    >>> plan.part_size // MIB, plan.memory_bytes // MIB, plan.expected_objects
    (5, 15, 21)
    >>> plan.object_bytes // MIB, plan.cut_at // MIB  # about 49 GiB per object
    (50000, 49936)
    """

    part_size: int
    concurrency: int
    parts_per_object: int
    expected_bytes: int | None = None

    @property
    def expected_objects(self) -> int:
        """How many objects a stream of the expected size is stored as (its stored size is at
        most its raw size: zstd never grows data by more than its small frame overhead)."""
        return self.objects_for(self.expected_bytes or 0)

    @property
    def memory_bytes(self) -> int:
        """The most part data held at once: the parts s3transfer holds (`parts_in_memory`) and
        the next one, being read or, once read, waiting for a place among them (s3transfer
        reads no further part until that one has a place; the stream hands each part out in
        one copy, `pipeline.CompressingReader.read`)."""
        return self.part_size * (self.parts_in_memory + 1)

    @property
    def parts_in_memory(self) -> int:
        """Parts s3transfer may hold read, uploading or waiting for an upload thread (its
        `max_in_memory_upload_chunks`): one per thread. It reads the next part before it waits
        for a place, so that part is ready when a thread frees one, and the threads stay busy."""
        return self.concurrency

    @property
    def object_bytes(self) -> int:
        """The largest object the plan can upload."""
        return self.part_size * self.parts_per_object

    @property
    def cut_at(self) -> int:
        """Stored bytes of an object after which the stream ends that object's zstd frame and
        starts the next object; what the frame's end flushes still fits."""
        return self.object_bytes - min(FLUSH_HEADROOM, self.object_bytes // 2)

    def objects_for(self, stored_bytes: int) -> int:
        """How many objects an artifact of `stored_bytes` is stored as (at least one).

        >>> plan = part_plan(None, concurrency=2, parts_per_object=10)
        >>> plan.cut_at // MIB, plan.objects_for(0), plan.objects_for(25 * MIB)
        (25, 1, 1)
        >>> plan.objects_for(25 * MIB + 1), plan.objects_for(60 * MIB)
        (2, 3)
        """
        return max(1, -(-stored_bytes // self.cut_at))


def part_plan(
    expected_bytes: int | None, *, concurrency: int, parts_per_object: int = MAX_PARTS
) -> PartPlan:
    """The plan for a stream of about `expected_bytes` uploaded with `concurrency` threads;
    `parts_per_object` is S3's limit, smaller only in tests (so that a small database spans
    several objects). The expected size changes only how many objects are expected, never the
    part size or the parts in memory.
    """
    if not 2 <= parts_per_object <= MAX_PARTS:
        raise ValueError(f"parts_per_object must be within 2..{MAX_PARTS}, not {parts_per_object}")
    return PartPlan(
        part_size=PART_SIZE,
        concurrency=max(1, concurrency),
        parts_per_object=parts_per_object,
        expected_bytes=expected_bytes,
    )


def continuation_key(first_key: str, index: int) -> str:
    """The key of the `index`-th object (2, 3, ...) of an artifact whose first object is
    `first_key`. Zero-padded so that the objects sort in order by name.

    >>> continuation_key("p/db/b1/app.pgdump.zst", 2)
    'p/db/b1/app.pgdump.zst.00002'
    """
    if index < 2:
        raise ValueError("the first object of an artifact keeps the artifact's own key")
    return f"{first_key}.{index:05d}"
