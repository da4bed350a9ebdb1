"""The Stats section's charts: what a history holds, drawn where it lies and never past now,
following new records while shown, with a timer that runs only then."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import pytest
from test_tui import connected, until
from textual.pilot import Pilot

from deskctl.chart_data import day_strip, stats_view
from deskctl.clock import EpochClock
from deskctl.history import History
from deskctl.paths import Paths
from deskctl.policy.engine import Activity, Settings
from deskctl.policy.schedule import Rhythm
from deskctl.tui.app import DeskApp, Options
from deskctl.tui.charts import TICK_S, StatsCharts
from deskctl.units import Unit

SETTINGS = Settings(rhythm=Rhythm(started=dt.date(2026, 11, 23)))  # a 2 h goal on weekdays


def at(day: int, clock: str) -> float:
    """A moment of November 2026 (the 23rd is a Monday), in UTC as the settings are."""
    hour, minute = map(int, clock.split(":"))
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC).timestamp()


class HeldClock(EpochClock):
    """The app's clock, standing still until the test moves it."""

    def __init__(self, t: float) -> None:
        super().__init__()
        self.t = t

    def now(self) -> float:
        return self.t


def seeded(days: dict[int, str], last: float) -> History:
    """Postures as ``"09:00 sit, 09:10 stand"`` per day; a change is a prompt's. The last
    record is at ``last`` (now), so the app's schedule, taking the history over, closes
    nothing early."""
    history = History(":memory:")
    for day, marks in days.items():
        for mark in marks.split(", "):
            clock, what = mark.split()
            detail = "prompt" if what in ("sit", "stand") else ""
            history.record(at(day, clock), "posture", what, detail)
    history.record(last, "exercise", "shown", "calf-raises")
    history.record(last, "exercise", "done", "calf-raises")
    return history


def app_at(now: float, history: History) -> DeskApp:
    options = Options(
        url="sim://charts?speed=50",
        paths=Paths.from_env(),
        unit=Unit.CM,
        sit_mm=720.0,
        stand_mm=1100.0,
        settings=lambda _: SETTINGS,
    )
    return DeskApp(options, history=history, clock=HeldClock(now))


def shown(app: DeskApp, chart: str) -> list[str]:
    return str(app.query_one(f"#{chart}").render()).splitlines()


async def until_shown(pilot: Pilot[None], app: DeskApp, chart: str, text: str) -> list[str]:
    async with asyncio.timeout(10):
        while not any(text in line for line in shown(app, chart)):
            await pilot.pause()
    return shown(app, chart)


# -- the data --------------------------------------------------------------------------------


def test_a_day_strip_holds_each_posture_where_it_lies_and_nothing_after_now() -> None:
    # A 10-minute sit, then a confirmed change to standing; now is 09:25. A record
    # stamped later (a clock that ran ahead) is not drawn either.
    history = seeded({23: "09:00 sit, 09:10 stand, 11:00 sit"}, at(23, "09:25"))
    strip = day_strip(history, dt.date(2026, 11, 23), SETTINGS, at(23, "09:25"))
    # The working hours, 09:00-17:30, to whole hours: 9 hours, 54 cells of 10 minutes.
    assert (strip.start, strip.end) == (at(23, "09:00"), at(23, "18:00"))
    cells = strip.cells(54)
    assert cells[:3] == ["sit", "stand", "stand"]  # 09:20-09:25: the cell under way
    assert cells[3:] == [None] * 51
    assert strip.column(strip.now, 54) == 2
    view = stats_view(history, SETTINGS, at(23, "09:25"))
    assert view.today_stats.sitting_s == 600
    assert view.today_stats.changes == 1


def test_the_strip_spans_the_working_hours_and_any_time_at_the_desk_beyond_them() -> None:
    history = seeded({23: "08:20 sit, 19:10 stand, 19:40 off"}, at(23, "21:00"))
    strip = day_strip(history, dt.date(2026, 11, 23), SETTINGS, at(23, "21:00"))
    assert (strip.start, strip.end) == (at(23, "08:00"), at(23, "20:00"))
    # A Sunday with nothing recorded: the usual office day.
    sunday = day_strip(history, dt.date(2026, 11, 22), SETTINGS, at(23, "21:00"))
    assert (sunday.start, sunday.end) == (at(22, "08:00"), at(22, "18:00"))
    assert set(sunday.cells(60)) == {"off"}


# -- the section ------------------------------------------------------------------------------


async def test_the_charts_show_a_ten_minute_sit_and_a_confirmed_change_and_no_future() -> None:
    now = at(23, "09:25")
    app = app_at(now, seeded({23: "09:00 sit, 09:10 stand"}, now))
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        await pilot.press("4")
        today = await until_shown(pilot, app, "today", "now 09:25")
        title, hours, strip, mark, legend, figures = today
        assert "09:00-18:00" in title
        assert hours.startswith("09")
        assert hours.rstrip().endswith("18")
        # 120 cells over 9 hours: 4.5 minutes a cell; the sit fills two, the stand the rest
        # up to now, and nothing is drawn after now's cell, which the mark points at.
        assert strip.startswith("▄▄████")
        assert strip[6:].strip() == ""
        assert mark.index("▲") == 5
        assert "sitting 10 min" in legend
        assert "standing 15 min of the goal 2h00, not met yet" in legend
        assert figures.startswith("1 change (")
        week = shown(app, "week")
        assert "Mon 23" in week[-2]
        assert "15 min of 2h00   not yet  1 change" in week[-2]


async def test_a_day_that_met_the_goal_shows_as_met() -> None:
    now = at(23, "09:05")
    history = seeded(
        {
            19: "09:00 sit, 09:30 stand, 10:10 sit, 10:40 off",  # 40 min of 2 h
            20: "09:00 stand, 10:00 sit, 10:30 stand, 11:45 off",  # 2h15 of 2 h
            23: "09:00 sit",
        },
        now,
    )
    app = app_at(now, history)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("4")
        week = await until_shown(pilot, app, "week", "goal met")
        thursday = next(line for line in week if line.startswith("Thu 19"))
        friday = next(line for line in week if line.startswith("Fri 20"))
        assert "40 min of 2h00   not met" in thursday
        assert "2h15 of 2h00   met " in friday
        # The bar passes the goal's line on the day that met it, and stops short of it on
        # the day that did not.
        assert friday.index("┃") < friday.rindex("█")
        assert "█" not in thursday[thursday.index("┃") :]
        assert week[-1].startswith("goal met on 1 of 5 days with a goal; streak 1 day")


async def test_the_charts_follow_a_new_record_while_shown() -> None:
    now = at(23, "09:25")
    app = app_at(now, seeded({23: "09:00 sit"}, now))
    clock = app.clock
    assert isinstance(clock, HeldClock)
    async with app.run_test(size=(120, 40)) as pilot:
        desk = await connected(app)
        await pilot.press("4")
        await until_shown(pilot, app, "today", "0 changes")
        # Stood up from the interface: the schedule records it and takes a step.
        await pilot.press("t")
        await until(desk, lambda state: not state.moving and state.height_mm > 1090)
        async with asyncio.timeout(10):
            while "stand" not in [w for _, _, w, _ in app.history.events(0, 2e9, "posture")]:
                await pilot.pause()
        # Ten minutes on, the next step of the schedule redraws the charts.
        clock.t = now + 600
        assert app.runner is not None
        app.runner.tell(Activity())
        today = await until_shown(pilot, app, "today", "standing 10 min")
        assert today[0].startswith("today, Mon 23 Nov")
        assert today[5].startswith("1 change (")
        assert "now 09:35" in today[3]
        strip = today[2]
        assert strip.rstrip().endswith("█")  # the standing drawn up to now, and no further
        assert len(strip.rstrip()) == int(35 * 60 / (9 * 3600) * 120) + 1  # up to 09:35


async def test_the_now_mark_moves_on_a_timer_that_runs_only_while_stats_is_shown() -> None:
    now = at(23, "09:25")
    app = app_at(now, seeded({23: "09:00 sit"}, now))
    clock = app.clock
    assert isinstance(clock, HeldClock)
    assert TICK_S >= 60  # at most once a minute
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        charts = app.query_one(StatsCharts)
        assert not charts.ticking  # never shown: nothing ticks
        charts.tick_s = 0.05  # the test's minute
        await pilot.press("4")
        await until_shown(pilot, app, "today", "now 09:25")
        assert charts.ticking
        clock.t = now + 30 * 60  # nothing else happens: only the timer redraws
        await until_shown(pilot, app, "today", "now 09:55")
        await pilot.press("1")
        await pilot.pause()
        assert not charts.ticking
        await pilot.press("4")
        await pilot.pause()
        assert charts.ticking
        await pilot.press("2")
        await pilot.pause()
        assert not charts.ticking


# -- snapshots -------------------------------------------------------------------------------

WEEK = {
    17: "09:00 sit, 09:40 stand, 10:20 sit, 11:00 stand, 11:45 sit, 12:30 away, 13:30 sit, "
    "14:10 stand, 14:50 sit, 15:30 stand, 16:20 sit, 17:30 off",
    18: "09:10 sit, 10:00 stand, 10:20 sit, 12:30 away, 13:40 sit, 17:00 off",
    19: "09:00 sit, 09:30 stand, 10:10 sit, 11:00 stand, 11:50 sit, 12:30 off",
    20: "09:00 sit, 09:20 stand, 10:20 sit, 11:20 stand, 12:20 away, 13:30 sit, 14:00 stand, "
    "14:30 sit, 16:00 off",
    23: "09:00 sit, 09:40 stand, 10:15 sit, 11:00 stand, 11:40 sit, 12:30 away, 13:35 sit, "
    "14:20 stand, 14:55 sit, 15:25 stand",
}


def stats_in(theme: str) -> Callable[[Pilot[None]], object]:
    async def before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, DeskApp)
        await connected(app)
        app.theme = theme
        await pilot.press("4")
        await until_shown(pilot, app, "week", "streak")

    return before


@pytest.mark.parametrize(
    ("size", "theme"),
    [((80, 24), "textual-dark"), ((120, 40), "textual-dark"), ((120, 40), "textual-light")],
    ids=["80x24", "120x40", "120x40-light"],
)
def test_stats_charts_snapshot(
    snap_compare: Callable[..., bool], size: tuple[int, int], theme: str
) -> None:
    now = at(23, "15:40")
    app = app_at(now, seeded(WEEK, now))
    assert snap_compare(app, terminal_size=size, run_before=stats_in(theme))
