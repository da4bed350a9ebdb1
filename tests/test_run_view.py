"""What ``deskctl run`` says: the engine on fake time, and the lines it prints."""

from __future__ import annotations

import datetime as dt

from deskctl.policy.engine import (
    Activity,
    Arrived,
    Engine,
    Event,
    Move,
    Settings,
    ShowExercise,
    Snooze,
    State,
    Tick,
)
from deskctl.policy.exercises import library
from deskctl.policy.schedule import Rhythm
from deskctl.run_view import RunView

MONDAY = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def at(hour: int, minute: int = 0, day: int = 0) -> float:
    return (MONDAY + dt.timedelta(days=day, hours=hour, minutes=minute)).timestamp()


class Terminal:
    """The engine, and the view as ``deskctl run`` wires it."""

    def __init__(self) -> None:
        self.now = at(8)
        self.lines: list[str] = []
        self.engine = Engine(Settings(rhythm=Rhythm(started=MONDAY.date())))
        self.state = State()
        self.view = RunView(
            library(), lambda text, _: self.lines.append(text), dt.UTC, lambda: self.now
        )

    def step(self, event: Event) -> None:
        self.state, actions = self.engine.step(self.state, event, self.now)
        for action in actions:
            self.view(action)
        self.view.stepped(self.state)
        for action in actions:
            if isinstance(action, Move):
                self.step(Arrived(action.target))

    def until(self, hour: int, minute: int = 0) -> None:
        end = at(hour, minute)
        while (wake := self.state.next_wake) is not None and wake <= end:
            self.now = max(self.now, wake)
            self.step(Tick())
        self.now = end

    def said(self) -> list[str]:
        lines, self.lines = self.lines, []
        return lines


def test_run_says_when_work_starts_and_when_the_next_change_is_due() -> None:
    terminal = Terminal()
    terminal.step(Tick())
    assert terminal.said() == ["08:00 outside working hours until 09:00"]
    terminal.until(9)
    assert terminal.said() == ["09:00 sitting; next change (stand up) at 09:20"]
    terminal.now = at(18, day=4)  # Friday evening
    terminal.step(Tick())
    assert "outside working hours until Mon 09:00" in terminal.said()[-1]


def test_run_says_how_a_prompt_ended_and_what_y_after_a_lapse_does() -> None:
    terminal = Terminal()
    terminal.step(Tick())
    terminal.until(9, 20)
    assert "time to stand up" in terminal.said()[-1]
    terminal.step(Snooze())
    assert terminal.said() == ["09:20 snoozed until 09:25 (1 left)"]
    terminal.until(9, 29)
    terminal.step(Activity())  # at the keyboard, but no answer
    terminal.said()
    terminal.until(9, 30)  # the prompt waits five minutes
    assert terminal.said() == [
        "09:30 no answer: the prompt lapsed; next change (stand up) at 09:40"
    ]
    assert not terminal.view.prompt_open
    terminal.view.nothing_to_answer()  # y typed now
    assert terminal.said() == [
        "nothing to answer: the prompt lapsed at 09:30; next change (stand up) at 09:40 "
        "('deskctl stand' or 'deskctl sit' moves the desk now)"
    ]


def test_an_exercise_is_shown_with_its_cautions() -> None:
    terminal = Terminal()
    terminal.view(ShowExercise("standing-prayer-stretch"))
    line, pictures = terminal.said()  # the steps, then each step beside its picture
    assert "Careful: Make sure the surface you lean on cannot roll or move" in line
    assert "a desk that is moving is not one" in line
    assert "1. " in pictures
