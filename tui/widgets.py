"""Widgets of the dashboard: the gauge and the hold-to-move buttons."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from deskctl.model import Direction


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
            text.append(mark, style="italic")
            if row < rows - 1:
                text.append("\n")
        return text


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
