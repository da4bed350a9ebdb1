"""The Stats section's charts: today's postures over the working hours, and the week's
standing against the goal.

Drawn with Unicode blocks in the theme's colours (no plotting library, so nothing more
to load), and never in colour alone: each posture has a shape of its own (standing a
full block, sitting a half one, away a shade), and the figures are written out beside
the bars. The charts follow the history while they are shown: the app refreshes them on
each step of the schedule, and a timer, running only while they are on the screen,
moves the "now" mark on once a minute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widget import Widget

from deskctl.chart_data import DayStrip, StatsView
from deskctl.errors import DeskctlError
from deskctl.report import minutes

if TYPE_CHECKING:
    from deskctl.history import DayStats

# A posture's mark in the day's strip: its shape says it without colour.
GLYPHS = {"stand": "█", "sit": "▄", "away": "░", "off": " "}
NAMES = {"stand": "standing", "sit": "sitting", "away": "away"}
TICK_S = 60.0
"""How often the "now" mark moves on while the charts are shown (never when hidden)."""
WEEK_BAR_MAX = 60


class Chart(Widget):
    """A chart drawn from a :class:`StatsView`, redrawn on each new one and on resize."""

    DEFAULT_CSS = """
    Chart { height: auto; }
    Chart > .chart--stand { color: $success; }
    Chart > .chart--sit { color: $primary; }
    Chart > .chart--away { color: $warning; }
    Chart > .chart--now { color: $text-accent; text-style: bold; }
    Chart > .chart--met { color: $text-success; text-style: bold; }
    Chart > .chart--goal { color: $error; text-style: bold; }
    Chart > .chart--axis { color: $text-muted; }
    Chart > .chart--title { text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "chart--stand",
        "chart--sit",
        "chart--away",
        "chart--now",
        "chart--met",
        "chart--goal",
        "chart--axis",
        "chart--title",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: StatsView | None = None
        self.problem = ""

    def show(self, view: StatsView) -> None:
        self.view, self.problem = view, ""
        self.refresh(layout=True)

    def fail(self, problem: str) -> None:
        self.view, self.problem = None, problem
        self.refresh(layout=True)

    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"chart--{name}")

    def render(self) -> Text:
        if self.problem:
            return Text(self.problem)
        if self.view is None:
            return Text("")
        return self.draw(self.view, max(20, self.content_size.width or 80))

    def draw(self, view: StatsView, width: int) -> Text:
        raise NotImplementedError


class DayChart(Chart):
    """Today as a strip of postures over the working hours, with an hour axis, a mark
    where now is (nothing is drawn past it), and the day's figures in words."""

    def draw(self, view: StatsView, width: int) -> Text:
        strip, stats = view.today, view.today_stats
        title = Text.assemble(
            (f"today, {strip.day:%a %d %b}", self.style("title")),
            f"  {_clock(strip.start, strip.zone)}-{_clock(strip.end, strip.zone)}, "
            f"a mark is {_cell_words((strip.end - strip.start) / width)}",
        )
        lines = [title, self._hours(strip, width), self._strip(strip, width)]
        lines.append(self._now(strip, width))
        goal = "no goal today"
        if stats.goal_s:
            verdict = "met" if stats.goal_met else "not met yet"
            goal = f"of the goal {minutes(stats.goal_s)}, {verdict}"
        lines.append(
            Text.assemble(
                (GLYPHS["stand"], self.style("stand")),
                f" standing {minutes(stats.standing_s)} {goal}   ",
                (GLYPHS["sit"], self.style("sit")),
                f" sitting {minutes(stats.sitting_s)}   ",
                (GLYPHS["away"], self.style("away")),
                f" away {minutes(_away_s(strip))}",
            )
        )
        changes = f"{stats.changes} change{'' if stats.changes == 1 else 's'}"
        lines.append(
            Text(
                f"{changes} ({stats.changes_per_hour:.1f} an hour), longest sitting "
                f"{minutes(stats.longest_sitting_s)}, exercises done "
                f"{stats.exercises_done} of {stats.exercises_shown}"
            )
        )
        return Text("\n").join(lines)

    def _hours(self, strip: DayStrip, width: int) -> Text:
        """The hours over the strip, each label starting at its hour's column."""
        cells = [" "] * width
        free = 0
        for hour in strip.hours():
            column = strip.column(strip.hour_at(hour), width)
            at = min(width - 2, width if column is None else column)
            if at >= free:
                cells[at : at + 2] = f"{hour % 24:02d}"
                free = at + 3
        return Text("".join(cells), style=self.style("axis"))

    def _strip(self, strip: DayStrip, width: int) -> Text:
        line = Text(no_wrap=True)
        for posture in strip.cells(width):
            if posture in NAMES:
                line.append(GLYPHS[posture], self.style(posture))
            else:
                line.append(" ")  # off, or still to come
        return line

    def _now(self, strip: DayStrip, width: int) -> Text:
        """Ticks under the hours, and a mark under now with its time."""
        cells = [" "] * width
        for hour in strip.hours():
            column = strip.column(strip.hour_at(hour), width)
            if column is not None:
                cells[column] = "╵"
        line = Text("".join(cells), style=self.style("axis"), no_wrap=True)
        when = _clock(strip.now, strip.zone)
        column = strip.column(strip.now, width)
        if column is None:
            where = "before the day's hours" if strip.now < strip.start else "after them"
            words = f"now {when}, {where}"
            at = 0 if strip.now < strip.start else max(0, width - len(words))
            line = line[:at] + Text(words, self.style("now")) + line[at + len(words) :]
            return line[:width]
        words = f"▲ now {when}"
        at = column if column + len(words) <= width else column - len(words) + 1
        if at < column:
            words = f"now {when} ▲"
        line = line[:at] + Text(words, self.style("now")) + line[at + len(words) :]
        return line[:width]


class WeekChart(Chart):
    """The last seven days' standing as bars on one scale, each with its day's goal as a
    line across it, and the figures (time, goal, met or not, changes) beside it."""

    def draw(self, view: StatsView, width: int) -> Text:
        week = view.week
        words = [self._words(day, day is view.today_stats) for day in week]
        label = len(f"{week[0].day:%a %d} ")
        bar = max(8, min(WEEK_BAR_MAX, width - label - max(len(w) for w in words)))
        scale = max([1.0] + [max(day.goal_s, day.standing_s) for day in week])
        lines = [
            Text.assemble(
                ("this week", self.style("title")),
                ": standing against the goal (",
                ("┃", self.style("goal")),
                " marks each day's goal)",
            )
        ]
        for day, said in zip(week, words, strict=True):
            title = self.style("title") if day is view.today_stats else Style()
            lines.append(
                Text(f"{day.day:%a %d} ", title)
                + self._bar(day.standing_s, day.goal_s, scale, bar)
                + said
            )
        with_goal = [day for day in week if day.goal_s]
        met = sum(day.goal_met for day in with_goal)
        streak = f"{view.streak} day{'' if view.streak == 1 else 's'}"
        lines.append(
            Text(
                f"goal met on {met} of {len(with_goal)} days with a goal; streak {streak} in a row"
            )
        )
        return Text("\n").join(lines)

    def _bar(self, standing: float, goal: float, scale: float, width: int) -> Text:
        filled = round(width * standing / scale)
        mark = min(width - 1, int(width * goal / scale)) if goal else None
        stand, axis, line = self.style("stand"), self.style("axis"), self.style("goal")
        bar = Text(no_wrap=True)
        for n in range(width):
            if n == mark:
                # The goal's line on the bar's colour where the bar reaches it.
                on = Style(bgcolor=stand.color) if n < filled else Style()
                bar.append("┃", line + on)
            elif n < filled:
                bar.append("█", stand)
            else:
                bar.append("·", axis)
        return bar

    def _words(self, day: DayStats, today: bool) -> Text:
        """`` 2h05 of 2h00  met      7 changes``: the bar's figures, so it is not colour alone."""
        goal, verdict = "no goal", ""
        if day.goal_s:
            goal = f"of {minutes(day.goal_s)}"
            verdict = "met" if day.goal_met else "not yet" if today else "not met"
        text = Text(f" {minutes(day.standing_s):>6} {goal:<10}")
        text.append(f"{verdict:<8}", self.style("met") if day.goal_met else Style())
        text.append(f"{day.changes:>2} change{'' if day.changes == 1 else 's'}")
        return text


class StatsCharts(Vertical):
    """Today's chart over the week's. ``source`` gives the figures; they are fetched when
    the charts come into view, on :meth:`refresh_charts`, and once a minute while shown."""

    DEFAULT_CSS = """
    StatsCharts { height: auto; }
    StatsCharts > WeekChart { margin-top: 1; }
    """

    def __init__(
        self, source: Callable[[], StatsView], *, tick_s: float = TICK_S, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.source = source
        self.tick_s = tick_s
        self._ticker: Timer | None = None

    def compose(self) -> ComposeResult:
        yield DayChart(id="today")
        yield WeekChart(id="week")

    @property
    def ticking(self) -> bool:
        return self._ticker is not None

    def on_show(self) -> None:
        self.refresh_charts()
        if self._ticker is None:
            self._ticker = self.set_interval(self.tick_s, self.refresh_charts)

    def on_hide(self) -> None:
        # Idle means idle: nothing ticks while nobody sees the charts.
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def refresh_charts(self) -> None:
        charts = list(self.query(Chart).results(Chart))
        try:
            view = self.source()
        except DeskctlError as error:
            for n, chart in enumerate(charts):
                chart.fail(str(error) if n == 0 else "")
            return
        for chart in charts:
            chart.show(view)


def _clock(moment: float, zone: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(moment, zone).strftime("%H:%M")


def _cell_words(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f}".removesuffix(".0") + " min"


def _away_s(strip: DayStrip) -> float:
    return sum(span.end - span.start for span in strip.spans if span.posture == "away")
