"""The desk's memory presets: go to one, or store the current height in one."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label

from deskctl.tui.widgets import PressButton
from deskctl.units import Unit, format_height


def presets_line(presets: dict[int, float | None], unit: Unit) -> str:
    shown = "  ".join(
        f"{slot}: {'-' if height is None else format_height(height, unit)}"
        for slot, height in presets.items()
    )
    return f"presets (p)  {shown}"


class PresetScreen(ModalScreen[int | None]):
    """Picks a preset by its number or a click; dismissed with the slot, or None.

    To go to a preset only the stored ones are offered; to store the height, every slot.
    """

    DEFAULT_CSS = """
    PresetScreen { align: center middle; }
    #picker { width: 62; max-width: 100%; height: auto; border: thick $accent; padding: 1 2;
              background: $surface; }
    #slots { height: auto; margin-top: 1; }
    #slots PressButton { min-width: 13; margin-right: 1; }
    #picker-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(slot), f"pick({slot})", show=False) for slot in range(1, 10)),
        Binding("c,escape", "pick(0)", "Cancel"),
        Binding("space", "app.stop", "Stop"),
        # A modal screen keeps the app's keys from its own: these two switch what it does.
        Binding("p", "app.presets('go')", "Go to a preset", show=False),
        Binding("P", "app.presets('store')", "Store the height", show=False),
    ]

    def __init__(
        self,
        presets: dict[int, float | None],
        unit: Unit,
        *,
        store_mm: float | None,
        can_store: bool = True,
    ):
        """``store_mm``: the height to store, or None to go to a preset; ``can_store``:
        whether the desk stores presets from here (a Linak desk does not)."""
        super().__init__()
        self.can_store = can_store
        self.presets = presets
        self.unit = unit
        self.store_mm = store_mm
        self.choices = [
            slot for slot, height in presets.items() if store_mm is not None or height is not None
        ]

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            if self.store_mm is None:
                yield Label("Go to which preset?" if self.choices else "No preset is stored yet.")
            else:
                yield Label(f"Store {format_height(self.store_mm, self.unit)} in which preset?")
            with Horizontal(id="slots"):
                for slot in self.choices:
                    height = self.presets[slot]
                    held = "empty" if height is None else format_height(height, self.unit)
                    yield PressButton(f"{slot}  {held}", id=f"preset-{slot}")
            hint = "its number or a click; c or Esc: cancel"
            if self.store_mm is not None:
                hint += "\np: go to one instead"
            elif self.can_store:
                hint += "\nP: store the height instead"
            yield Label(hint, id="picker-hint")
        yield Footer()

    def action_pick(self, slot: int) -> None:
        if slot == 0:
            self.dismiss(None)
        elif slot in self.choices:
            self.dismiss(slot)
        else:
            self.notify(f"preset {slot} is not one of these", severity="warning")

    def on_press_button_pressed(self, event: PressButton.Pressed) -> None:
        event.stop()
        self.dismiss(int(event.button.id.removeprefix("preset-")) if event.button.id else None)
