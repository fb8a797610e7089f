"""Reads paced to a rate, on a fake clock: the time taken is the bytes over the rate, however
the reads are cut, and a reader slower than the rate is never held back."""

from __future__ import annotations

import pytest

from strongbox.domain.pacing import Pacer, pacing_delay


class FakeClock:
    """A monotonic clock that only moves when the pacer waits, or when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_reading_ten_megabytes_at_two_per_second_takes_five_seconds() -> None:
    clock = FakeClock()
    pacer = Pacer(2_000_000, now=lambda: clock.now, wait=clock.wait)
    for _ in range(10):
        pacer.consumed(1_000_000)
    assert clock.now - 100.0 == pytest.approx(5.0)


def test_the_time_taken_does_not_depend_on_how_the_reads_are_cut() -> None:
    clock = FakeClock()
    pacer = Pacer(1_000_000, now=lambda: clock.now, wait=clock.wait)
    for size in (1, 999_999, 300_000, 700_000, 2_000_000):
        pacer.consumed(size)
    assert clock.now - 100.0 == pytest.approx(4.0)


def test_a_reader_slower_than_the_rate_never_waits() -> None:
    clock = FakeClock()
    pacer = Pacer(1_000_000, now=lambda: clock.now, wait=clock.wait)
    for _ in range(5):
        clock.now += 2.0  # the dump produced 1 MB in 2 s: half the rate
        pacer.consumed(1_000_000)
    assert clock.waits == []


def test_time_spent_elsewhere_counts_towards_the_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(1_000_000, now=lambda: clock.now, wait=clock.wait)
    pacer.consumed(1_000_000)  # waits 1 s
    clock.now += 0.75  # compressing and uploading took 0.75 s
    pacer.consumed(1_000_000)
    assert clock.waits == pytest.approx([1.0, 0.25])


def test_pacing_delay_is_zero_when_behind() -> None:
    assert pacing_delay(5, 10.0, 1.0) == 0.0
    assert pacing_delay(20, 10.0, 1.0) == 10.0


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(0, now=lambda: 0.0, wait=lambda s: None)
