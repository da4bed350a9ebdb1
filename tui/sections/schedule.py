"""The Schedule section: where the day is, today's timeline done and planned, pause and
resume."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Label, Static

if TYPE_CHECKING:
    from textual.timer import Timer

    from deskctl.agent.followed import FollowedSchedule
    from deskctl.history import History
    from deskctl.policy.runner import Runner

# How often the countdown is redrawn, only while the section is shown.
COUNTDOWN_TICK_S = 15.0


class ScheduleSection(VerticalScroll):
    """Shows the schedule the app gives it (``show``) on the app's clock (``now``) with the
    history's marks; Pause and Resume ask the app through ``Pause``."""

    class Pause(Message):
        def __init__(self, paused: bool) -> None:
            super().__init__()
            self.paused = paused

    def __init__(self, now: Callable[[], float], history: Callable[[], History]) -> None:
        super().__init__(id="schedule-section")
        self.now = now
        self.history = history
        self.runner: Runner | FollowedSchedule | None = None
        self.paused = False
        self._ticking: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("", id="phase")
            yield Static("", id="timeline")
            with Horizontal(classes="row"):
                yield Button("Pause", id="pause")
                yield Button("Resume", id="resume", disabled=True)

    def show(self, runner: Runner | FollowedSchedule | None, *, paused: bool) -> None:
        self.runner, self.paused = runner, paused
        pause, resume = self.query_one("#pause", Button), self.query_one("#resume", Button)
        had_focus = self.app.focused in (pause, resume)
        pause.disabled = paused
        resume.disabled = not paused
        if had_focus:  # the pressed button is disabled now: the focus goes to its other half
            (resume if paused else pause).focus()
        self.redraw()

    # The countdown ticks only while someone can see it.
    def on_show(self) -> None:
        if self._ticking is None:
            self._ticking = self.set_interval(COUNTDOWN_TICK_S, self.redraw)
        self.redraw()

    def on_hide(self) -> None:
        if self._ticking is not None:
            self._ticking.stop()
            self._ticking = None

    def redraw(self) -> None:
        runner = self.runner
        if runner is None:
            return
        state = runner.state
        zone = runner.engine.settings.timezone
        now = self.now()
        wake = state.next_change
        when = "nothing planned"
        if self.paused:
            when = "no change until you resume"
        elif state.phase.value == "away":
            when = "the next change comes when you are back"
        elif wake is not None:
            when = f"next change {countdown(now, wake, zone)}"
        paused = " (paused)" if self.paused else ""
        posture = "standing" if state.posture.value == "stand" else "sitting"
        self.query_one("#phase", Label).update(f"{state.phase.value}{paused}: {posture}, {when}")
        today = dt.datetime.fromtimestamp(now, zone).date()
        hours = "".join(f"{hour:02d}    " for hour in range(8, 19))
        from deskctl.history import timeline

        first = dt.datetime.combine(today, dt.time(8), zone).timestamp()
        # What is done stops at now (the mark under way included), not at the day's end.
        done = "".join(
            mark if first + n * 600 <= now else " "
            for n, mark in enumerate(timeline(self.history(), today, zone))
        )
        bouts = runner.engine.plan(state, now, first + 11 * 3600)
        planned = ""
        for n in range(len(done)):
            middle = first + (n + 0.5) * 600
            ahead = next((p for p, a, b in bouts if a <= middle < b), None)
            planned += " " if ahead is None else "#" if ahead.value == "stand" else "-"
        self.query_one("#timeline", Static).update(
            "today (# standing, - sitting, . away; 10 min a mark)\n"
            f"       {hours}\n  done {done}\n  plan {planned}"
        )

    @on(Button.Pressed, "#pause")
    def _pause(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Pause(paused=True))

    @on(Button.Pressed, "#resume")
    def _resume(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Pause(paused=False))


def countdown(now: float, then: float, zone: dt.tzinfo) -> str:
    """``in 15 min, at 09:35``: whole minutes on the clock's face, so that the two agree."""
    at = dt.datetime.fromtimestamp(then, zone)
    minutes = math.floor(then / 60) - math.floor(now / 60)
    if minutes < 1:
        return f"within a minute, at {at:%H:%M}"
    if minutes < 60:
        return f"in {minutes} min, at {at:%H:%M}"
    return f"in {minutes // 60} h {minutes % 60:02d} min, at {at:%H:%M}"
