"""The Settings section: the desk (a URL, or one found by a Bluetooth scan), the unit,
whether the schedule moves the desk by itself, and the rhythm."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Switch

from deskctl.tui.schedule_form import ScheduleForm
from deskctl.units import Unit

if TYPE_CHECKING:
    from deskctl.profiles.model import SchedulePrefs


class SettingsSection(VerticalScroll):
    """Asks the app through ``Connect``, ``Scan``, ``UnitChosen`` and ``AutoMove`` (and the
    form's ``ScheduleForm.Saved``); shows what the app gives it (``show_found``,
    ``fill_schedule``)."""

    class Connect(Message):
        def __init__(self, url: str) -> None:
            super().__init__()
            self.url = url

    class Scan(Message):
        """A Bluetooth scan for desks is wanted."""

    class UnitChosen(Message):
        def __init__(self, unit: Unit) -> None:
            super().__init__()
            self.unit = unit

    class AutoMove(Message):
        def __init__(self, on: bool) -> None:
            super().__init__()
            self.on = on

    # Enter in a field presses its form's button.
    SUBMITS: ClassVar[dict[str, str]] = {
        "url-input": "connect",
        "sit-minutes": "save-schedule",
        "stand-minutes": "save-schedule",
        "hours-input": "save-schedule",
    }

    def __init__(self, url: str, unit: Unit, *, auto_move: bool) -> None:
        super().__init__(id="settings-section")
        self._url, self._unit, self._auto_move = url, unit, auto_move

    def compose(self) -> ComposeResult:
        with Vertical():
            with Horizontal(classes="row"):
                yield Label("desk URL")
                yield Input(self._url, id="url-input")
                yield Button("Connect", id="connect")
                yield Button("Scan", id="scan")
            yield Select[str]([], prompt="desks found by a Bluetooth scan", id="found")
            with Horizontal(classes="row"):
                yield Label("unit")
                units = [(u.value, u.value) for u in Unit]
                yield Select(units, value=self._unit.value, allow_blank=False, id="unit")
            with Horizontal(classes="row"):
                yield Label("move by itself")
                yield Switch(self._auto_move, id="auto")
            yield ScheduleForm()

    # -- what the app shows -------------------------------------------------------------------

    def show_found(self, desks: list[tuple[str, str]]) -> None:
        """(what to show, its URL) for each desk a scan found."""
        found: Select[str] = self.query_one("#found", Select)
        found.set_options(desks)

    def fill_schedule(self, prefs: SchedulePrefs) -> None:
        self.query_one(ScheduleForm).fill(prefs)

    # -- what the person asks for -------------------------------------------------------------

    @on(Button.Pressed, "#connect")
    def _connect(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Connect(self.query_one("#url-input", Input).value.strip()))

    @on(Button.Pressed, "#scan")
    def _scan(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Scan())

    @on(Select.Changed, "#found")
    def _found(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self.query_one("#url-input", Input).value = event.value

    @on(Select.Changed, "#unit")
    def _unit_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self.post_message(self.UnitChosen(Unit(event.value)))

    @on(Switch.Changed, "#auto")
    def _auto(self, event: Switch.Changed) -> None:
        event.stop()
        self.post_message(self.AutoMove(event.value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        button = self.SUBMITS.get(event.input.id or "")
        if button is not None:
            event.stop()
            self.query_one(f"#{button}", Button).press()
