"""The rhythm and the working hours, edited in Settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label

if TYPE_CHECKING:
    from deskctl.profiles.model import SchedulePrefs


# The form's words for the settings it edits, as its errors name them.
LABELS = {"sit_minutes": "sit minutes", "stand_minutes": "stand minutes", "hours": "working hours"}


class ScheduleForm(Vertical):
    """Sit and stand minutes and one day's working hours for every working day.

    ``fill`` shows a schedule; Save checks what was typed and posts ``Saved`` with the
    schedule, or says in a notification what is wrong.
    """

    DEFAULT_CSS = """
    ScheduleForm { height: auto; }
    ScheduleForm #hours-input { width: 32; }
    ScheduleForm #hours-days { color: $text-muted; margin-bottom: 1; }
    """

    class Saved(Message):
        def __init__(self, prefs: SchedulePrefs) -> None:
            super().__init__()
            self.prefs = prefs

    def __init__(self) -> None:
        super().__init__(id="schedule-form")
        self._prefs: SchedulePrefs | None = None

    def compose(self) -> ComposeResult:
        for name in ("sit_minutes", "stand_minutes"):
            with Horizontal(classes="row"):
                yield Label(LABELS[name])
                yield Input(id=name.replace("_", "-"), type="integer")
        with Horizontal(classes="row"):
            yield Label(LABELS["hours"])
            yield Input(placeholder="09:00-12:30 13:30-17:30", id="hours-input")
        yield Label("", id="hours-days")
        yield Button("Save schedule", id="save-schedule", variant="primary")

    def fill(self, prefs: SchedulePrefs) -> None:
        self._prefs = prefs
        self.query_one("#sit-minutes", Input).value = str(prefs.sit_minutes)
        self.query_one("#stand-minutes", Input).value = str(prefs.stand_minutes)
        days = _working_days(prefs)
        first = prefs.hours.get(days[0], [])
        self.query_one("#hours-input", Input).value = " ".join(first)
        differ = any(prefs.hours.get(day, []) != first for day in days)
        note = f"on {', '.join(days)}" + (f" (saving gives each {days[0]}'s)" if differ else "")
        self.query_one("#hours-days", Label).update(note)

    @on(Button.Pressed, "#save-schedule")
    def _save(self, event: Button.Pressed) -> None:
        event.stop()
        from pydantic import ValidationError

        from deskctl.profiles.model import SchedulePrefs
        from deskctl.profiles.store import problem_of

        prefs = self._prefs or SchedulePrefs()
        ranges = self.query_one("#hours-input", Input).value.replace(",", " ").split()
        if not ranges:
            self.notify("working hours: write them like 09:00-12:30 13:30-17:30", severity="error")
            return
        typed = {
            "sit_minutes": self.query_one("#sit-minutes", Input).value,
            "stand_minutes": self.query_one("#stand-minutes", Input).value,
            "hours": prefs.hours | dict.fromkeys(_working_days(prefs), ranges),
        }
        from deskctl.policy.engine import Settings

        shortest = round(Settings().min_bout_s / 60)
        for name in ("sit_minutes", "stand_minutes"):
            value = str(typed[name])
            if value.isdigit() and int(value) < shortest:
                # The engine would make such a bout its shortest anyway: say so here.
                self.notify(f"{LABELS[name]}: at least {shortest} (the shortest bout)",
                            severity="error")  # fmt: skip
                return
        try:
            changed = SchedulePrefs.model_validate(prefs.model_dump() | typed)
        except ValidationError as error:
            where, field, message = problem_of(error)
            label = LABELS.get(where[0], field) if where else field
            self.notify(f"{label}: {message}", severity="error")
            return
        self.post_message(self.Saved(changed))


def _working_days(prefs: SchedulePrefs) -> list[str]:
    """The days with working hours (Monday to Friday when there are none)."""
    from deskctl.profiles.model import WEEKDAYS

    return [day for day in WEEKDAYS if prefs.hours.get(day)] or list(WEEKDAYS[:5])
