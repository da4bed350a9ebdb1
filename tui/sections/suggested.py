"""Heights suggested from the person's fine-tunes, in the People section: each with its
evidence and the two answers, Apply and Dismiss.  Nothing changes until one is pressed."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static

POSTURES = ("sit", "stand")
"""One suggestion at most per posture: a slot for each, shown while it has one."""


class SuggestedHeights(Vertical):
    """Shows what the app gives it (``show_suggested``); Apply and Dismiss ask the app
    through ``Answered``."""

    DEFAULT_CSS = """
    SuggestedHeights { height: auto; display: none; margin-bottom: 1; }
    SuggestedHeights.-shown { display: block; }
    SuggestedHeights .suggested { height: auto; display: none;
        border: round $accent; padding: 0 1; }
    SuggestedHeights .suggested.-shown { display: block; }
    SuggestedHeights .answers { height: auto; }
    SuggestedHeights .answers Button { margin-right: 1; }
    """

    class Answered(Message):
        """Apply (``apply``) or dismiss the suggestion for ``posture``."""

        def __init__(self, posture: str, apply: bool) -> None:
            super().__init__()
            self.posture = posture
            self.apply = apply

    def __init__(self) -> None:
        super().__init__(id="suggested")

    def compose(self) -> ComposeResult:
        for posture in POSTURES:
            with Vertical(id=f"suggested-{posture}", classes="suggested"):
                yield Static("", id=f"why-{posture}", markup=False)
                with Horizontal(classes="answers"):
                    yield Button("Apply", id=f"apply-{posture}", variant="primary")
                    yield Button("Dismiss", id=f"dismiss-{posture}")

    def show_suggested(self, shown: dict[str, tuple[str, list[str]]]) -> None:
        """``shown``: posture -> (what is suggested, the fine-tunes behind it)."""
        for posture in POSTURES:
            slot = self.query_one(f"#suggested-{posture}", Vertical)
            found = shown.get(posture)
            slot.set_class(found is not None, "-shown")
            if found is not None:
                title, evidence = found
                slot.border_title = f"suggested {posture} height"
                lines = [title, *(f"  {line}" for line in evidence)]
                self.query_one(f"#why-{posture}", Static).update("\n".join(lines))
        self.set_class(bool(shown), "-shown")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        answer, _, posture = (event.button.id or "").partition("-")
        if posture in POSTURES:
            self.post_message(self.Answered(posture, apply=answer == "apply"))
