"""The Stats section: today, and the week's standing against the goal."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

if TYPE_CHECKING:
    from deskctl.history import History
    from deskctl.policy.engine import Settings


class StatsSection(VerticalScroll):
    """The figures of the last seven days; the app calls ``show`` while it is shown, and
    again whenever a bout ends or begins."""

    def __init__(self) -> None:
        super().__init__(id="stats-section")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="today")
            yield Static("", id="week")

    def show(self, history: History, settings: Settings, now: float) -> None:
        from deskctl.report import bar, minutes, render_day

        zone = settings.timezone
        today = dt.datetime.fromtimestamp(now, zone).date()
        days = [today - dt.timedelta(days=n) for n in range(6, -1, -1)]
        stats = [history.day(day, zone, settings.goal_s(day), now) for day in days]
        self.query_one("#today", Static).update("\n".join(render_day(stats[-1])))
        rows = ["this week (standing against the goal)"]
        for day in stats:
            rows.append(
                f"{day.day:%a %d}  {bar(day.standing_s, day.goal_s, 30)}  "
                f"{minutes(day.standing_s):>7}  {day.changes:>3} changes  "
                f"{day.exercises_done:>2} exercises"
            )
        self.query_one("#week", Static).update("\n".join(rows))
