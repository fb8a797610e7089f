"""Choice of the multipart part size.

S3 allows at most 10,000 parts of at most 5 GiB, each but the last at least 5 MiB. A fixed small
part caps the object (5 MiB x 10,000 is about 48 GiB), so the part grows with the expected size,
with a safety factor because the dump's real size is only estimated.
"""

from __future__ import annotations

MIB = 1024 * 1024
MIN_PART_SIZE = 8 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
MAX_PARTS = 10_000
SAFETY_FACTOR = 4


def part_size_for(expected_bytes: int | None) -> int:
    """Part size in bytes, a whole number of MiB, for a stream of about `expected_bytes`.

    >>> part_size_for(None) // MIB
    8
    >>> part_size_for(1024**4) // MIB  # 1 TiB expected
    420
    """
    if not expected_bytes or expected_bytes <= 0:
        return MIN_PART_SIZE
    wanted = -(-expected_bytes * SAFETY_FACTOR // MAX_PARTS)
    whole_mib = -(-wanted // MIB) * MIB
    return max(MIN_PART_SIZE, min(MAX_PART_SIZE, whole_mib))
