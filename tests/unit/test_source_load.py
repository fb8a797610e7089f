"""What a backup cost its source, from snapshots of counters: rates per interval, a bounded
number of samples for long backups, and no rate across a counter reset."""

from __future__ import annotations

from strongbox.domain.source_load import MAX_SAMPLES, Snapshot, summarize


def snapshots(count: int, every: float = 2.0) -> list[Snapshot]:
    # 50 transactions and 3 MB read per second, steadily.
    return [
        Snapshot(i * every, {"transactions": int(50 * i * every)}, int(3_000_000 * i * every))
        for i in range(count)
    ]


def test_each_interval_gives_the_rates_of_the_source_and_of_the_backup() -> None:
    load = summarize(snapshots(4), 2.0)
    assert load is not None
    assert load["sample_seconds"] == 2.0
    assert [s["elapsed_seconds"] for s in load["samples"]] == [2.0, 4.0, 6.0]
    assert {s["transactions_per_s"] for s in load["samples"]} == {50.0}
    assert {s["backup_read_mb_per_s"] for s in load["samples"]} == {3.0}
    assert load["average"] == {"backup_read_mb_per_s": 3.0, "transactions_per_s": 50.0}


def test_a_long_backup_keeps_at_most_the_chart_width_with_the_same_average() -> None:
    load = summarize(snapshots(1_000), 2.0)
    assert load is not None
    assert 0 < len(load["samples"]) <= MAX_SAMPLES
    assert load["samples"][-1]["elapsed_seconds"] == 999 * 2.0
    assert load["average"]["transactions_per_s"] == 50.0


def test_a_counter_that_went_down_gives_no_rate() -> None:
    reset = [
        Snapshot(0.0, {"questions": 1_000}, 0),
        Snapshot(2.0, {"questions": 10}, 1_000_000),
    ]
    load = summarize(reset, 2.0)
    assert load is not None
    assert "questions_per_s" not in load["samples"][0]
    assert load["samples"][0]["backup_read_mb_per_s"] == 0.5


def test_one_snapshot_is_no_load() -> None:
    assert summarize(snapshots(1), 2.0) is None
