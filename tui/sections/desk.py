"""The Desk section: the height in digits and on a gauge, what the desk does, who is at it
(and a height suggested for them), its presets, and the buttons that move it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Digits, Label

from deskctl.model import DeskState, Direction, Limits, Link
from deskctl.tui.widgets import Gauge, HoldButton, PressButton
from deskctl.units import Unit, format_height, format_speed


class DeskSection(Horizontal):
    """Shows what the app gives it (``show_state``, ``show_limits``, ``show_person``,
    ``show_presets``, ``expect``); its buttons ask the app through ``Move``, ``Stop`` and
    ``Hold``."""

    DEFAULT_CSS = """
    DeskSection { height: 1fr; }
    DeskSection #main { width: 1fr; padding: 0 1; }
    DeskSection #height { width: auto; }
    DeskSection #status, DeskSection #profile-line, DeskSection #presets {
        height: auto; color: $text-muted;
    }
    DeskSection #suggested-line { height: auto; display: none; color: $accent; }
    DeskSection #suggested-line.-shown { display: block; }
    DeskSection #moves { height: 3; }
    DeskSection #moves PressButton { margin-right: 1; }
    DeskSection #holds { height: 3; }
    """

    class Move(Message):
        """Sit or Stand was pressed."""

        def __init__(self, posture: str) -> None:
            super().__init__()
            self.posture = posture

    class Stop(Message):
        """Stop was pressed."""

    class Hold(Message):
        """A hold button is held (``held``) or let go."""

        def __init__(self, direction: Direction, held: bool) -> None:
            super().__init__()
            self.direction = direction
            self.held = held

    def __init__(self) -> None:
        super().__init__(id="desk-section")
        self.heading = ""
        """The way the last move was sent ("up", "down"), for the moment before it shows."""
        self.target: tuple[float, float] | None = None
        """(from, to) of the move under way that this face sent."""

    def compose(self) -> ComposeResult:
        yield Gauge(id="gauge")
        with Vertical(id="main"):
            yield Digits("--.-", id="height")
            yield Label("connecting...", id="status")
            yield Label("", id="profile-line")
            yield Label("", id="suggested-line")
            with Horizontal(id="moves"):
                yield PressButton("Sit (s)", id="sit")
                yield PressButton("Stand (t)", id="stand")
                yield PressButton("Stop (space)", id="stop", error=True)
            with Horizontal(id="holds"):
                yield HoldButton("hold: up", Direction.UP, id="hold-up")
                yield HoldButton("hold: down", Direction.DOWN, id="hold-down")
            yield Label("", id="presets")

    # -- what the app shows -------------------------------------------------------------------

    def expect(self, heading: str, target: tuple[float, float] | None = None) -> None:
        """A move was sent: its way, and (from, to) when it goes to a height."""
        self.heading, self.target = heading, target

    def show_limits(self, limits: Limits, unit: Unit) -> None:
        gauge = self.query_one(Gauge)
        gauge.low_mm, gauge.high_mm = limits.min_mm, limits.max_mm
        gauge.unit = unit

    def show_person(self, who: str, sit_mm: float, stand_mm: float, unit: Unit) -> None:
        gauge = self.query_one(Gauge)
        gauge.sit_mm, gauge.stand_mm = sit_mm, stand_mm
        gauge.unit = unit
        self.query_one("#profile-line", Label).update(
            f"{who}: sit {format_height(sit_mm, unit)}, stand {format_height(stand_mm, unit)}"
        )

    def show_suggested(self, line: str) -> None:
        """A height suggested from the person's fine-tunes, in one line (empty: none)."""
        label = self.query_one("#suggested-line", Label)
        label.update(line)
        label.set_class(bool(line), "-shown")

    def show_presets(self, line: str) -> None:
        self.query_one("#presets", Label).update(line)

    def show_status(self, text: str) -> None:
        self.query_one("#status", Label).update(text)

    def show_state(self, state: DeskState, unit: Unit) -> None:
        """The height and what the desk does, in a line that fits 80 columns (the header
        names the desk)."""
        height = format_height(state.height_mm, unit)
        self.query_one("#height", Digits).update(height.rsplit(" ", 1)[0])
        self.query_one(Gauge).height_mm = state.height_mm
        if state.fault is not None:
            words = f"stopped: {state.fault.value}; clear the way, then Stop (space)"
        elif state.link is not Link.CONNECTED:
            words = state.link.value
        elif state.moving and state.speed_mm_s:
            way = "up" if state.speed_mm_s > 0 else "down"
            words = f"moving {way} {format_speed(abs(state.speed_mm_s), unit)}"
            words += self._progress(state.height_mm, unit)
        elif state.moving:
            # The first frame of a move, before the desk reports a speed: the way it was sent.
            words = f"moving {self.heading}" if self.heading else "moving"
        else:
            words = "stopped"
        self.show_status(f"{height}  {words}")

    def _progress(self, height_mm: float, unit: Unit) -> str:
        if self.target is None:
            return ""
        start, target = self.target
        if abs(target - start) < 1:
            return ""
        share = min(1.0, max(0.0, (height_mm - start) / (target - start)))
        return f" to {format_height(target, unit)} ({share:.0%})"

    # -- what the person asks for -------------------------------------------------------------

    @on(PressButton.Pressed)
    def _pressed(self, event: PressButton.Pressed) -> None:
        event.stop()
        if event.button.id == "stop":
            self.post_message(self.Stop())
        elif event.button.id in ("sit", "stand"):
            self.post_message(self.Move(event.button.id))

    @on(HoldButton.Held)
    def _held(self, event: HoldButton.Held) -> None:
        event.stop()
        self.post_message(self.Hold(event.direction, event.held))
