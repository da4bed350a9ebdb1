"""Widgets of the interface: the section bar, the gauge and the dashboard's buttons."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from deskctl.model import Direction
from deskctl.units import Unit, format_height


class SectionBar(Widget, can_focus=True):
    """The row of sections: one widget where tabs would be a dozen, so the first frame is quick.

    Click a name, press its number, or focus the bar and use left and right.
    """

    DEFAULT_CSS = """
    SectionBar { height: 1; width: 1fr; background: $panel; }
    SectionBar > .section-bar--active { background: $primary; color: $text; text-style: bold; }
    SectionBar:focus > .section-bar--active { background: $accent; }
    SectionBar > .section-bar--key { color: $text-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"section-bar--active", "section-bar--key"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step(-1)", "Previous section", show=False),
        Binding("right", "step(1)", "Next section", show=False),
    ]

    active: reactive[str] = reactive("", init=False)

    class Changed(Message):
        def __init__(self, section: str) -> None:
            super().__init__()
            self.section = section

    def __init__(self, sections: dict[str, str], *, id: str | None = None) -> None:
        """``sections`` maps each section's name to its title, in order."""
        super().__init__(id=id)
        self.sections = sections
        self.set_reactive(SectionBar.active, next(iter(sections)))
        self._spans: list[tuple[int, int, str]] = []

    def render(self) -> Text:
        active = self.get_component_rich_style("section-bar--active")
        key = self.get_component_rich_style("section-bar--key")
        text = Text(no_wrap=True, overflow="ellipsis")
        self._spans = []
        for number, (name, title) in enumerate(self.sections.items(), start=1):
            start = len(text)
            label = Text.assemble((f" {number} ", key), f"{title} ")
            if name == self.active:
                label.stylize(active)
            text.append_text(label)
            self._spans.append((start, len(text), name))
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, name in self._spans:
            if start <= event.x < end:
                self.active = name

    def action_step(self, step: int) -> None:
        names = list(self.sections)
        self.active = names[(names.index(self.active) + step) % len(names)]

    def watch_active(self, section: str) -> None:
        self.post_message(self.Changed(section))


class Gauge(Widget):
    """A vertical gauge: the desk's range, the sit and stand marks, and where it is."""

    DEFAULT_CSS = """
    Gauge { width: 14; height: 1fr; min-height: 8; }
    """

    height_mm: reactive[float] = reactive(720.0)
    low_mm: reactive[float] = reactive(620.0)
    high_mm: reactive[float] = reactive(1270.0)
    sit_mm: reactive[float] = reactive(720.0)
    stand_mm: reactive[float] = reactive(1100.0)

    unit: reactive[Unit] = reactive(Unit.CM)

    def render(self) -> Text:
        rows = max(3, self.size.height)
        span = max(1.0, self.high_mm - self.low_mm)

        def row_of(mm: float) -> int:
            share = (min(max(mm, self.low_mm), self.high_mm) - self.low_mm) / span
            return round((rows - 1) * (1 - share))

        here, sit, stand = row_of(self.height_mm), row_of(self.sit_mm), row_of(self.stand_mm)
        text = Text()
        for row in range(rows):
            if row == here:
                text.append(" ██████ ", style="bold")
            elif row > here:
                text.append(" ▒▒▒▒▒▒ ", style="dim")
            else:
                text.append(" │    │ ", style="dim")
            mark = "stand" if row == stand else "sit" if row == sit else ""
            # The ends of the range, labelled where no mark sits.
            limit = self.high_mm if row == 0 else self.low_mm if row == rows - 1 else None
            if mark:
                text.append(mark, style="italic")
            elif limit is not None:
                text.append(format_height(limit, self.unit).split()[0], style="dim")
            if row < rows - 1:
                text.append("\n")
        return text


class PressButton(Static, can_focus=True):
    """The dashboard's buttons: they look like Textual's, whose style sheet (7 KB, about
    15 ms to parse) would otherwise hold up the first frame."""

    DEFAULT_CSS = """
    PressButton {
        width: auto; min-width: 16; height: 3; padding: 0 1;
        content-align: center middle; text-style: bold; pointer: pointer;
        color: $button-color-foreground; background: $primary;
        border-top: tall $primary-lighten-3; border-bottom: tall $primary-darken-3;
        &:hover { background: $primary-darken-2; border-top: tall $primary; }
        &:focus { text-style: $button-focus-text-style; }
        &.-error {
            background: $error;
            border-top: tall $error-lighten-2; border-bottom: tall $error-darken-3;
            &:hover { background: $error-darken-2; border-top: tall $error; }
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "press", "Press", show=False)]

    class Pressed(Message):
        def __init__(self, button: PressButton) -> None:
            super().__init__()
            self.button = button

        @property
        def control(self) -> PressButton:
            return self.button

    def __init__(self, label: str, *, id: str, error: bool = False) -> None:
        super().__init__(label, id=id, classes="-error" if error else None)

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_press()

    def action_press(self) -> None:
        self.post_message(self.Pressed(self))


class HoldButton(Static, can_focus=False):
    """Moves the desk while the mouse button is held on it; letting go stops it."""

    DEFAULT_CSS = """
    HoldButton { width: 1fr; height: 3; content-align: center middle; border: round $primary; }
    HoldButton.-held { background: $primary 40%; }
    """

    class Held(Message):
        def __init__(self, direction: Direction, held: bool) -> None:
            super().__init__()
            self.direction = direction
            self.held = held

    def __init__(self, label: str, direction: Direction, *, id: str | None = None) -> None:
        super().__init__(label, id=id)
        self.direction = direction

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self.capture_mouse()
        self.add_class("-held")
        self.post_message(self.Held(self.direction, held=True))

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self.release_mouse()
        self.remove_class("-held")
        self.post_message(self.Held(self.direction, held=False))
