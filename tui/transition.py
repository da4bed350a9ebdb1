"""The change of posture: a countdown with Confirm, Snooze and Skip, then the exercise card."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from deskctl.policy.engine import Phase, Prompt
from deskctl.policy.exercises import Exercise, Library


class TransitionScreen(ModalScreen[None]):
    """Answers go to ``on_answer``: ``confirm``, ``snooze`` or ``skip`` for the prompt, then
    ``done`` or ``not-done`` for the exercise card that follows the move.  After a confirm
    the card stays up while the desk moves, and turns into the exercise."""

    DEFAULT_CSS = """
    TransitionScreen { align: center middle; }
    #card { width: 72; max-width: 100%; height: auto; border: thick $accent; padding: 1 2;
            background: $surface; }
    #title { text-style: bold; }
    #steps { margin: 1 0; }
    #buttons { height: auto; align-horizontal: center; }
    #buttons Button { margin: 0 1; min-width: 10; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer('confirm')", "Confirm"),
        Binding("s", "answer('snooze')", "Snooze"),
        Binding("n", "answer('skip')", "Skip"),
    ]

    def __init__(self, prompt: Prompt, library: Library, on_answer: Callable[[str], None]) -> None:
        super().__init__()
        self.prompt = prompt
        self.on_answer = on_answer
        self.moving = False
        self.library = library
        self.exercise: Exercise | None = library.get(prompt.exercise_id or "")
        self.exercising = False
        self.seconds_left = int(prompt.countdown_s)

    def compose(self) -> ComposeResult:
        way = "Time to stand up" if self.prompt.target.value == "stand" else "Time to sit down"
        with Vertical(id="card"):
            yield Label(way, id="title")
            yield Label(self._countdown_text(), id="countdown")
            yield Static(self._exercise_text(), id="steps")
            with Horizontal(id="buttons"):
                yield Button("Confirm (y)", id="confirm", variant="success")
                snooze = f"Snooze (s, {self.prompt.snoozes_left} left)"
                yield Button(snooze, id="snooze", disabled=not self.prompt.snoozes_left)
                yield Button("Skip (n)", id="skip", variant="error")

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def _countdown_text(self) -> str:
        if self.moving:
            return "Moving the desk... (Space stops it)"
        if self.exercising:
            return f"{self.seconds_left} s left"
        if self.prompt.auto:
            return f"The desk moves in {self.seconds_left} s unless you answer."
        return f"Answer within {self.seconds_left // 60} min {self.seconds_left % 60:02d} s."

    def _exercise_text(self) -> str:
        exercise = self.exercise
        if exercise is None:
            return ""
        steps = "\n".join(f"{n}. {step}" for n, step in enumerate(exercise.steps, start=1))
        cautions = "".join(f"\nCare: {caution}" for caution in exercise.cautions)
        return (
            f"Then: {exercise.name} ({exercise.dose}, about {exercise.duration_s} s)\n"
            f"{steps}{cautions}\n{self.library.notice}"
        )

    def _tick(self) -> None:
        self.seconds_left = max(0, self.seconds_left - 1)
        self.query_one("#countdown", Label).update(self._countdown_text())

    def start_exercise(self, exercise_id: str) -> None:
        """The desk arrived: the card follows the exercise through, with its timer."""
        self.exercise = self.library.get(exercise_id)
        if self.exercise is None:
            self.dismiss()
            return
        self.exercising, self.moving = True, False
        self.seconds_left = self.exercise.duration_s
        self.query_one("#title", Label).update(self.exercise.name)
        self.query_one("#steps", Static).update(self._exercise_text().removeprefix("Then: "))
        self.query_one("#countdown", Label).update(self._countdown_text())
        buttons = self.query_one("#buttons", Horizontal)
        buttons.remove_children()
        buttons.mount(Button("Done (y)", id="done", variant="success"))
        buttons.mount(Button("Skip it (n)", id="not-done"))

    def follow(self, phase: Phase) -> None:
        """The schedule moved on, perhaps by an answer from another face (a terminal, MQTT)
        or because the prompt lapsed: the card shows the move, or closes."""
        if self.exercising or phase is Phase.PROMPT:
            return
        if phase is Phase.MOVING:
            if not self.moving:
                self.moving = True
                self.query_one("#countdown", Label).update(self._countdown_text())
                for button in self.query(Button):
                    button.disabled = True
            return
        # Skipped, snoozed or lapsed; the move failed; or it arrived with no exercise to show
        # (an exercise comes before the step that ends the move, and keeps the card).
        self.dismiss()

    def action_answer(self, answer: str) -> None:
        if self.exercising:
            self._finish("done" if answer == "confirm" else "not-done")
        elif self.moving:
            return
        elif answer == "confirm":
            self.on_answer(answer)
            self.moving = True
            self.query_one("#countdown", Label).update(self._countdown_text())
            for button in self.query(Button):
                button.disabled = True
        elif answer != "snooze" or self.prompt.snoozes_left:
            self._finish(answer)

    def _finish(self, answer: str) -> None:
        self.on_answer(answer)
        self.dismiss()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        names = {"confirm": "confirm", "snooze": "snooze", "skip": "skip"}
        names |= {"done": "confirm", "not-done": "skip"}
        if event.button.id in names:
            self.action_answer(names[event.button.id])
