"""The People section: who is at the desk, the heights suggested from their fine-tunes,
their heights (typed, captured from the desk or recommended from body height), and a new
person."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static

from deskctl.tui.sections.suggested import SuggestedHeights


class PeopleSection(VerticalScroll):
    """Shows what the app gives it (``show_people``, ``fill_heights``, ``show_advice``);
    every button asks the app through a message with what was typed, as typed: the app
    owns the profiles and the desk, and checks it."""

    class Chosen(Message):
        """Someone else was picked as the person at the desk."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class Capture(Message):
        """The desk's height is wanted in the ``posture`` field."""

        def __init__(self, posture: str) -> None:
            super().__init__()
            self.posture = posture

    class Recommend(Message):
        def __init__(self, body: str) -> None:
            super().__init__()
            self.body = body

    class SaveHeights(Message):
        def __init__(self, sit: str, stand: str) -> None:
            super().__init__()
            self.sit, self.stand = sit, stand

    class Add(Message):
        """A new person, with the heights and body height typed above (blank: not typed)."""

        def __init__(self, name: str, sit: str, stand: str, body: str) -> None:
            super().__init__()
            self.name, self.sit, self.stand, self.body = name, sit, stand, body

    # Enter in a field presses its form's button.
    SUBMITS: ClassVar[dict[str, str]] = {
        "sit-input": "save-heights",
        "stand-input": "save-heights",
        "body-input": "recommend",
        "new-name": "add-person",
    }

    def __init__(self) -> None:
        super().__init__(id="people-section")
        self._active: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Select[str]([], prompt="who is at the desk", id="who")
            yield SuggestedHeights()
            for posture, example in (("sit", "72cm"), ("stand", "110cm")):
                with Horizontal(classes="row"):
                    yield Label(posture)
                    yield Input(placeholder=example, id=f"{posture}-input")
                    yield Button("Capture", id=f"capture-{posture}")
            with Horizontal(classes="row"):
                yield Label("body height")
                yield Input(placeholder="175cm", id="body-input")
                yield Button("Recommend", id="recommend")
            yield Button("Save heights", id="save-heights", variant="primary")
            yield Static("", id="advice")
            with Horizontal(classes="row"):
                yield Label("new person")
                yield Input(placeholder="name, like ana", id="new-name")
                yield Button("Add", id="add-person")

    # -- what the app shows -------------------------------------------------------------------

    def show_people(self, names: list[str], active: str | None) -> None:
        who: Select[str] = self.query_one("#who", Select)
        who.set_options([(name, name) for name in names])
        self._active = active if active in names else None
        if self._active is not None:
            who.value = self._active

    def fill_heights(self, sit: str, stand: str) -> None:
        self._field("sit").value = sit
        self._field("stand").value = stand

    def set_height(self, posture: str, height: str) -> None:
        self._field(posture).value = height

    def show_advice(self, advice: str, sit: str, stand: str) -> None:
        self.query_one("#advice", Static).update(advice)
        self.fill_heights(sit, stand)

    def show_suggested(self, shown: dict[str, tuple[str, list[str]]]) -> None:
        """The suggested heights (posture -> what, and the evidence); none: hidden."""
        self.query_one(SuggestedHeights).show_suggested(shown)

    def clear_new_name(self) -> None:
        self.query_one("#new-name", Input).value = ""

    def _field(self, name: str) -> Input:
        return self.query_one(f"#{name}-input", Input)

    # -- what the person asks for -------------------------------------------------------------

    @on(Select.Changed, "#who")
    def _chosen(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self._active = event.value
            self.post_message(self.Chosen(event.value))
        elif self._active is not None:
            # The prompt row picks nobody, which it cannot do: the person stays, and shows.
            who: Select[str] = self.query_one("#who", Select)
            who.value = self._active

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button = event.button.id or ""
        if button.startswith("capture-"):
            self.post_message(self.Capture(button.removeprefix("capture-")))
        elif button == "recommend":
            self.post_message(self.Recommend(self._field("body").value))
        elif button == "save-heights":
            sit, stand = self._field("sit").value, self._field("stand").value
            self.post_message(self.SaveHeights(sit, stand))
        elif button == "add-person":
            typed = (self._field(name).value.strip() for name in ("sit", "stand", "body"))
            name = self.query_one("#new-name", Input).value.strip()
            self.post_message(self.Add(name, *typed))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        button = self.SUBMITS.get(event.input.id or "")
        if button is not None:
            event.stop()
            self.query_one(f"#{button}", Button).press()
