from hypothesis import given
from hypothesis import strategies as st

from strongbox.domain.keys import artifact_key, backup_prefix, manifest_key
from strongbox.domain.partsize import MAX_PART_SIZE, MAX_PARTS, MIB, MIN_PART_SIZE, part_size_for
from strongbox.domain.states import JobState, can_move


def test_every_key_of_a_backup_lies_under_its_prefix() -> None:
    prefix = backup_prefix("team/x/", "prod", "b1")
    assert prefix == "team/x/prod/b1/"
    assert manifest_key("team/x/", "prod", "b1") == prefix + "manifest.json"
    assert artifact_key("team/x", "prod", "b1", "app.pgdump.zst") == prefix + "app.pgdump.zst"


def test_an_empty_storage_prefix_gives_keys_without_a_leading_slash() -> None:
    assert manifest_key("", "prod", "b1") == "prod/b1/manifest.json"


@given(st.integers(min_value=0, max_value=5 * 1024**4))
def test_part_size_leaves_room_for_four_times_the_expected_size(expected: int) -> None:
    size = part_size_for(expected)
    assert MIN_PART_SIZE <= size <= MAX_PART_SIZE
    assert size % MIB == 0
    # The dump may be larger than estimated: four times the estimate still fits in 10,000 parts.
    assert size * MAX_PARTS >= min(4 * expected, MAX_PART_SIZE * MAX_PARTS)


def test_unknown_size_gets_the_smallest_part() -> None:
    assert part_size_for(None) == MIN_PART_SIZE


def test_final_states_never_move() -> None:
    for final in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED):
        assert not any(can_move(final, other) for other in JobState)


def test_a_running_job_can_end_in_each_final_state() -> None:
    assert can_move(JobState.RUNNING, JobState.SUCCEEDED)
    assert can_move(JobState.RUNNING, JobState.FAILED)
    assert can_move(JobState.RUNNING, JobState.CANCELED)
    assert not can_move(JobState.RUNNING, JobState.QUEUED)
