from hypothesis import given
from hypothesis import strategies as st

from strongbox.domain.keys import artifact_key, backup_prefix, manifest_key
from strongbox.domain.partsize import (
    FLUSH_HEADROOM,
    MAX_PARTS,
    MIB,
    MIN_PART_SIZE,
    PART_SIZE,
    continuation_key,
    part_plan,
)
from strongbox.domain.states import JobState, can_move


def test_every_key_of_a_backup_lies_under_its_prefix() -> None:
    prefix = backup_prefix("team/x/", "prod", "b1")
    assert prefix == "team/x/prod/b1/"
    assert manifest_key("team/x/", "prod", "b1") == prefix + "manifest.json"
    assert artifact_key("team/x", "prod", "b1", "app.pgdump.zst") == prefix + "app.pgdump.zst"


def test_an_empty_storage_prefix_gives_keys_without_a_leading_slash() -> None:
    assert manifest_key("", "prod", "b1") == "prod/b1/manifest.json"


GB = 1000**3
TIB = 1024**4


def test_the_part_plan_for_5_tib_uses_no_more_memory_than_for_1_gb() -> None:
    small = part_plan(1 * GB, concurrency=2)
    huge = part_plan(5 * TIB, concurrency=2)
    assert huge.memory_bytes <= small.memory_bytes
    assert (huge.part_size, huge.parts_in_memory) == (small.part_size, small.parts_in_memory)
    # S3's smallest parts, two uploading and the next one read: 15 MiB, whatever the size.
    assert huge.memory_bytes == 3 * 5 * MIB
    # 5 TiB that does not compress at all still fits: in several objects, each within S3's limit
    # (10,000 parts of 5 MiB, cut 64 MiB early: 105 objects of about 49 GiB).
    assert huge.expected_objects * huge.cut_at >= 5 * TIB
    assert huge.expected_objects == 105
    assert small.expected_objects == 1


@given(
    st.integers(min_value=0, max_value=5 * TIB),
    st.integers(min_value=1, max_value=32),
    st.integers(min_value=2, max_value=MAX_PARTS),
)
def test_every_object_of_the_plan_fits_in_s3s_part_limit(
    expected: int, concurrency: int, parts_per_object: int
) -> None:
    plan = part_plan(expected, concurrency=concurrency, parts_per_object=parts_per_object)
    assert plan.part_size >= MIN_PART_SIZE
    assert plan.object_bytes <= MAX_PARTS * plan.part_size
    # The cut leaves room for the compressor's last flush, and is not the whole object away.
    assert plan.object_bytes // 2 <= plan.cut_at < plan.object_bytes
    assert plan.memory_bytes == part_plan(None, concurrency=concurrency).memory_bytes


def test_the_parts_in_memory_are_one_per_upload_thread_and_the_next_one() -> None:
    # s3transfer holds at most `parts_in_memory` parts (uploading or waiting for a thread) and
    # reads no further part until the one it read has a place among them.
    for concurrency in (1, 2, 4):
        plan = part_plan(None, concurrency=concurrency)
        assert plan.parts_in_memory == concurrency
        assert plan.memory_bytes == (concurrency + 1) * PART_SIZE


def test_the_split_points_of_an_artifact() -> None:
    plan = part_plan(None, concurrency=2, parts_per_object=10)  # 50 MiB objects
    assert plan.cut_at == 25 * MIB  # half an object kept free when objects are this small
    assert [plan.objects_for(n) for n in (0, 25 * MIB, 25 * MIB + 1, 75 * MIB)] == [1, 1, 2, 3]
    full = part_plan(None, concurrency=2)
    assert full.cut_at == MAX_PARTS * 5 * MIB - FLUSH_HEADROOM


def test_continuation_objects_sort_after_the_first_in_order() -> None:
    first = "p/db/b1/app.pgdump.zst"
    keys = [first] + [continuation_key(first, i) for i in (2, 3, 10, 11)]
    assert sorted(keys) == keys


def test_final_states_never_move() -> None:
    for final in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED):
        assert not any(can_move(final, other) for other in JobState)


def test_a_running_job_can_end_in_each_final_state() -> None:
    assert can_move(JobState.RUNNING, JobState.SUCCEEDED)
    assert can_move(JobState.RUNNING, JobState.FAILED)
    assert can_move(JobState.RUNNING, JobState.CANCELED)
    assert not can_move(JobState.RUNNING, JobState.QUEUED)
