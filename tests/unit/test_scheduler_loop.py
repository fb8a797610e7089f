"""The scheduler loop's step runs due slots only while this replica leads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from strongbox.scheduler.loop import MAX_NAP_SECONDS, SchedulerLoop

NOW = datetime(2026, 11, 24, 10, 0, 30, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


def loop_with(leading: list[bool], runs: list[datetime]) -> SchedulerLoop:
    return SchedulerLoop(
        FixedClock(),
        next_due=lambda now: now + timedelta(seconds=30),
        run_due=runs.append,
        leads=lambda: leading[0],
    )


def test_a_standby_runs_nothing_and_sleeps_until_woken() -> None:
    runs: list[datetime] = []
    loop = loop_with([False], runs)
    assert loop.step() == MAX_NAP_SECONDS
    assert runs == []


def test_the_leader_runs_what_is_due_and_sleeps_until_the_next_slot() -> None:
    runs: list[datetime] = []
    leading = [False]
    loop = loop_with(leading, runs)
    loop.step()
    leading[0] = True  # it took the lead
    assert loop.step() == 30.0
    assert runs == [NOW]


class SteppingClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.current = NOW

    def now(self) -> datetime:
        return self.current


def test_the_nap_counts_from_the_end_of_the_look_so_a_long_look_does_not_make_the_next_late() -> (
    None
):
    clock = SteppingClock()

    def slow_look(_now: datetime) -> None:
        clock.current += timedelta(seconds=2)  # a look over many schedules takes 2 s

    loop = SchedulerLoop(clock, next_due=lambda now: NOW + timedelta(seconds=30), run_due=slow_look)
    assert loop.step() == 28.0
