"""Geometry of the schedule form's one-week timeline and of the size/duration chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from strongbox.domain.production_hours import ProductionHours
from strongbox.web import chart, timeline

MONDAY = datetime(2026, 3, 23, tzinfo=UTC)  # a Monday, before Europe's clocks change on the 29th


def test_a_bar_starts_at_its_run_and_is_as_wide_as_the_estimate() -> None:
    run = MONDAY + timedelta(days=1)
    picture = timeline.build(MONDAY, [timeline.LaneInput("a", [run], True)], 7 * 3600, None, "UTC")
    bar = picture.lanes[0].bars[0]
    assert bar.x == timeline.LABEL_WIDTH + timeline.PLOT_WIDTH / 7
    assert round(bar.width, 6) == round(timeline.PLOT_WIDTH / 24, 6)
    assert bar.title == "a: Tue 24 Mar 00:00"


def test_runs_outside_the_week_are_left_out_and_bars_are_clipped_at_its_end() -> None:
    late = MONDAY + timedelta(days=6, hours=23)
    runs = [MONDAY - timedelta(hours=1), late, MONDAY + timedelta(days=8)]
    picture = timeline.build(MONDAY, [timeline.LaneInput("a", runs)], 4 * 3600, None, "UTC")
    (bar,) = picture.lanes[0].bars
    assert bar.x + bar.width == timeline.LABEL_WIDTH + timeline.PLOT_WIDTH


def test_a_tiny_estimate_still_draws_a_visible_bar() -> None:
    picture = timeline.build(MONDAY, [timeline.LaneInput("a", [MONDAY])], 1, None, "UTC")
    assert picture.lanes[0].bars[0].width == timeline.MIN_BAR


def test_lanes_are_stacked_and_each_local_midnight_gets_a_tick() -> None:
    lanes = [timeline.LaneInput("this", [], True), timeline.LaneInput("other", [])]
    picture = timeline.build(MONDAY, lanes, 60, None, "Europe/Berlin")
    assert [lane.y for lane in picture.lanes] == [timeline.TOP, timeline.TOP + timeline.LANE_HEIGHT]
    # Berlin is UTC+1 that week: midnights fall at 23:00 UTC, seven of them in the window.
    assert len(picture.ticks) == 7
    assert picture.ticks[0].label == "Tue 24"


def test_production_hours_are_shaded_on_their_days_in_their_zone() -> None:
    hours = ProductionHours(
        days=["mon", "tue", "wed", "thu", "fri"],
        start="08:00",
        end="20:00",
        timezone="Europe/Berlin",
    )
    windows = timeline.production_windows(hours, MONDAY, MONDAY + timeline.WEEK)
    assert len(windows) == 5
    assert windows[0] == (MONDAY + timedelta(hours=7), MONDAY + timedelta(hours=19))
    picture = timeline.build(MONDAY, [], 60, hours, "UTC")
    assert len(picture.production) == 5
    assert round(picture.production[0].width, 6) == round(timeline.PLOT_WIDTH * 12 / 168, 6)


def test_an_overnight_window_that_started_before_the_week_is_clipped() -> None:
    hours = ProductionHours(days=["sun"], start="22:00", end="06:00", timezone="UTC")
    windows = timeline.production_windows(hours, MONDAY, MONDAY + timeline.WEEK)
    assert windows[0] == (MONDAY, MONDAY + timedelta(hours=6))
    assert windows[-1] == (MONDAY + timedelta(days=6, hours=22), MONDAY + timeline.WEEK)


def test_the_chart_puts_the_oldest_left_and_scales_to_the_largest() -> None:
    points = [
        chart.Point("new", MONDAY + timedelta(days=1), 50, 30.0),
        chart.Point("old", MONDAY, 100, 60.0),
    ]
    built = chart.build(points)
    assert built is not None
    assert [c.point.name for c in built.columns] == ["old", "new"]
    old, new = built.columns
    assert old.bar_y == built.plot_top
    assert new.bar_y == (built.plot_top + built.plot_bottom) / 2
    assert old.dot_y == built.plot_top
    assert chart.build([]) is None


def test_the_chart_keeps_the_newest_points() -> None:
    points = [chart.Point(f"b{i}", MONDAY + timedelta(hours=i), i, 1.0) for i in range(40)]
    built = chart.build(points)
    assert built is not None
    assert len(built.columns) == chart.MAX_POINTS
    assert built.columns[-1].point.name == "b39"
