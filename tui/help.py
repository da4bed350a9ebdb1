"""The ``?`` screen: every key of the interface, where it works."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

# (where, [(keys, what)]) in the order a newcomer needs them.
KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Everywhere",
        [
            ("space", "stop the desk (in a field: a space)"),
            ("esc", "stop a move; else close what is open, or leave a field"),
            ("1 .. 5", "Desk, Schedule, People, Stats, Settings"),
            ("tab / shift+tab", "the next / previous control"),
            ("ctrl+p", "commands: sit, stand, move to, presets, people, themes"),
            ("?", "this help"),
            ("q", "quit (the desk is stopped and released)"),
        ],
    ),
    (
        "Desk",
        [
            ("s / t", "sit / stand at the active person's heights"),
            ("up k / down j", "move while held (a mouse press on a hold bar too)"),
            ("p", "go to a memory preset"),
            ("P", "store the height in a preset (desks that can)"),
        ],
    ),
    (
        "People",
        [
            ("Apply / Dismiss", "a height suggested from your fine-tunes (ctrl+p too)"),
        ],
    ),
    (
        "Change of posture (the card)",
        [
            ("y / enter", "confirm: the desk moves; on an exercise, done"),
            ("s", "snooze (a few times; paid back later)"),
            ("n", "skip this change; on an exercise, skip it"),
            ("esc", "close the card (the prompt lapses by itself)"),
        ],
    ),
    (
        "Fields and forms",
        [
            ("enter", "press the form's button (Save, Add, Recommend, Connect)"),
            ("up / down", "stay in the field: they never move the desk there"),
            ("1 .. 5", "digits in a field; after esc, sections again"),
        ],
    ),
]


def help_text() -> str:
    lines: list[str] = []
    for where, keys in KEYS:
        lines.append(f"[b]{where}[/b]")
        lines += [f"  [b $accent]{key:<16}[/] {what}" for key, what in keys]
        lines.append("")
    return "\n".join(lines).rstrip()


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    #help { width: 84; max-width: 100%; height: auto; max-height: 90%;
            border: thick $accent; background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
        Binding("space", "app.stop", "Stop"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as scroll:
            scroll.border_title = "Keys"
            yield Static(help_text())
        yield Footer()
