"""The state of a WAL stream, chosen from what its supervisor saw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from strongbox.domain.pitr_state import (
    FAILURES_BEFORE_BROKEN,
    RETAINED_BYTES_LIMIT,
    StreamObservation,
    choose_state,
    lag_seconds,
)

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def seen(**changes: object) -> StreamObservation:
    fields: dict[str, object] = {"enabled": True, "upload_interval_seconds": 60}
    fields["last_upload_at"] = NOW - timedelta(seconds=30)
    fields.update(changes)
    return StreamObservation(**fields)  # type: ignore[arg-type]


def test_it_is_starting_until_the_first_file_is_stored() -> None:
    assert choose_state(seen(last_upload_at=None), NOW) == ("starting", None)
    assert choose_state(seen(), NOW) == ("streaming", None)


def test_it_is_disabled_when_off_whatever_else_was_seen() -> None:
    assert choose_state(seen(enabled=False, broken_because="gone"), NOW) == ("disabled", None)


def test_a_problem_a_person_must_fix_breaks_it_with_the_reason() -> None:
    assert choose_state(seen(broken_because="slot dropped"), NOW) == ("broken", "slot dropped")


def test_a_receiver_that_keeps_failing_breaks_it_with_the_last_error() -> None:
    few = seen(failures=FAILURES_BEFORE_BROKEN - 1, last_failure="connection refused")
    assert choose_state(few, NOW)[0] == "streaming"
    state, error = choose_state(seen(failures=FAILURES_BEFORE_BROKEN, last_failure="refused"), NOW)
    assert state == "broken"
    assert error is not None
    assert "refused" in error


def test_old_stored_wal_while_the_server_has_more_is_lagging() -> None:
    stale = seen(last_upload_at=NOW - timedelta(seconds=181), pending_wal=True)
    state, error = choose_state(stale, NOW)
    assert state == "lagging"
    assert error is not None
    assert "181 s" in error
    # Nothing new on the server: an old upload is not lag.
    assert choose_state(seen(last_upload_at=NOW - timedelta(hours=1)), NOW)[0] == "streaming"
    assert lag_seconds(seen(last_upload_at=NOW - timedelta(hours=1)), NOW) == 0.0


def test_a_slot_holding_too_much_wal_is_lagging_with_the_advice() -> None:
    heavy = seen(retained_bytes=RETAINED_BYTES_LIMIT + 1, unlimited_retention=True)
    state, error = choose_state(heavy, NOW)
    assert state == "lagging"
    assert error is not None
    assert "max_slot_wal_keep_size" in error
    bounded = seen(retained_bytes=RETAINED_BYTES_LIMIT + 1)
    assert "max_slot_wal_keep_size" not in (choose_state(bounded, NOW)[1] or "")
