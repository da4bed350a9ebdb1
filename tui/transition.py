"""The change of posture: a countdown with Confirm, Snooze and Skip, then the exercise card."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static

from deskctl.policy.engine import Phase, Prompt
from deskctl.policy.exercises import Exercise, Library


class TransitionScreen(ModalScreen[None]):
    """Answers go to ``on_answer``: ``confirm``, ``snooze`` or ``skip`` for the prompt, then
    ``done`` or ``not-done`` for the exercise card that follows the move.  After a confirm
    the card stays up while the desk moves, and turns into the exercise.

    ``on_answer`` says whether the schedule still asks for the answer: when it does not
    (the prompt lapsed, another face answered) the card closes.  Its countdowns run on the
    schedule's clock (``now``), so they agree with the engine's; Esc always closes it
    (while the desk moves the app's Esc stops the desk first).
    """

    DEFAULT_CSS = """
    TransitionScreen { align: center middle; }
    #card { width: 72; max-width: 100%; height: auto; border: thick $accent; padding: 1 2;
            background: $surface; }
    #title { text-style: bold; }
    #body { height: auto; margin: 1 0; }
    #art { width: 12; height: auto; color: $accent; text-style: bold; }
    #steps { width: 1fr; height: auto; }
    #buttons { height: auto; align-horizontal: center; }
    #buttons Button { margin: 0 1; min-width: 10; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        # The prompt's keys; the exercise's take over once it starts (check_action), so
        # that the key bar shows the keys that work now.
        Binding("y,enter", "answer('confirm')", "Confirm"),
        Binding("s", "answer('snooze')", "Snooze"),
        Binding("n", "answer('skip')", "Skip"),
        Binding("y,enter", "exercise('done')", "Done"),
        Binding("n", "exercise('not-done')", "Skip it"),
        Binding("escape", "close", "Close"),
        # The app's Stop works everywhere (a priority key); shown here so it is seen.
        Binding("space", "app.stop", "Stop"),
        Binding("q", "app.quit", "Quit", show=False),
    ]

    def __init__(
        self,
        prompt: Prompt,
        library: Library,
        on_answer: Callable[[str], bool],
        *,
        now: Callable[[], float],
        bell: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.prompt = prompt
        self.on_answer = on_answer
        self.now = now
        self.bell = bell
        self.moving = False
        self.library = library
        self.exercise: Exercise | None = library.get(prompt.exercise_id or "")
        self.exercising = False
        self.deadline = now() + prompt.countdown_s
        self.timed_out = False

    def compose(self) -> ComposeResult:
        way = "Time to stand up" if self.prompt.target.value == "stand" else "Time to sit down"
        with Vertical(id="card"):
            yield Label(way, id="title")
            yield Label(self._countdown_text(), id="countdown")
            with Horizontal(id="body"):
                yield Static(self._art(), id="art")
                yield Static(self._exercise_text(), id="steps")
            with Horizontal(id="buttons"):
                yield Button("Confirm (y)", id="confirm", variant="success")
                snooze = f"Snooze (s, {self.prompt.snoozes_left} left)"
                yield Button(snooze, id="snooze", disabled=not self.prompt.snoozes_left)
                yield Button("Skip (n)", id="skip", variant="error")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh_countdown)

    @property
    def seconds_left(self) -> int:
        return max(0, math.ceil(self.deadline - self.now()))

    def _countdown_text(self) -> str:
        left = self.seconds_left
        if self.moving:
            return "Moving the desk... (Space stops it)"
        if self.exercising:
            return "Time is up: done (y) or skip it (n)?" if not left else f"{left} s left"
        if self.prompt.auto:
            return f"The desk moves in {left} s unless you answer (Esc closes this)."
        return f"Answer within {left // 60} min {left % 60:02d} s (Esc closes this)."

    def _elapsed(self) -> float:
        """How far into the exercise (0 before it starts: the first step's picture)."""
        if not self.exercising or self.exercise is None:
            return 0.0
        return self.exercise.duration_s - (self.deadline - self.now())

    def _art(self) -> str:
        from deskctl.policy.art import frame_at

        if self.exercise is None:
            return ""
        return frame_at(self.exercise, self._elapsed())[1]

    def _exercise_text(self) -> str:
        from rich.markup import escape

        from deskctl.policy.art import frame_at

        exercise = self.exercise
        if exercise is None:
            return ""
        now = frame_at(exercise, self._elapsed())[0] if self.exercising else -1
        steps = "\n".join(
            f"[b]> {n + 1}. {escape(step)}[/b]" if n == now else f"  {n + 1}. {escape(step)}"
            for n, step in enumerate(exercise.steps)
        )
        cautions = "".join(f"\nCare: {caution}" for caution in exercise.cautions)
        return (
            f"Then: {exercise.name} ({exercise.dose}, about {exercise.duration_s} s)\n"
            f"{steps}{cautions}\n{self.library.notice}"
        )

    def refresh_countdown(self) -> None:
        if self.exercising and not self.seconds_left and not self.timed_out:
            self.timed_out = True
            self.bell()  # the exercise's time is up: a cue for eyes that are elsewhere
        self.query_one("#countdown", Label).update(self._countdown_text())
        if self.exercising:
            # The picture plays through the exercise's time, step by step.
            self.query_one("#art", Static).update(self._art())
            self.query_one("#steps", Static).update(self._exercise_text().removeprefix("Then: "))

    def start_exercise(self, exercise_id: str) -> None:
        """The desk arrived: the card follows the exercise through, with its timer."""
        self.exercise = self.library.get(exercise_id)
        if self.exercise is None:
            self.dismiss()
            return
        self.exercising, self.moving = True, False
        self.refresh_bindings()
        self.deadline = self.now() + self.exercise.duration_s
        self.query_one("#title", Label).update(self.exercise.name)
        self.query_one("#steps", Static).update(self._exercise_text().removeprefix("Then: "))
        self.query_one("#art", Static).update(self._art())
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
                self.refresh_bindings()
                self.query_one("#countdown", Label).update(self._countdown_text())
                for button in self.query(Button):
                    button.disabled = True
            return
        # Skipped, snoozed or lapsed; the move failed; or it arrived with no exercise to show
        # (an exercise comes before the step that ends the move, and keeps the card).
        self.dismiss()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer":
            return not (self.exercising or self.moving)  # a move under way is past answering
        if action == "exercise":
            return self.exercising
        return True

    def action_exercise(self, answer: str) -> None:
        self._finish(answer)

    def action_close(self) -> None:
        """Out of the way: a prompt left open lapses by itself; a move goes on (Space stops
        it); an exercise closed unanswered is not counted either way."""
        self.dismiss()

    def action_answer(self, answer: str) -> None:
        if self.exercising:
            self._finish("done" if answer == "confirm" else "not-done")
        elif self.moving:
            return
        elif not self.on_answer(answer):
            self.dismiss()  # nothing is asked any more: the card has no business staying
        elif answer == "confirm":
            self.moving = True
            self.refresh_bindings()
            self.query_one("#countdown", Label).update(self._countdown_text())
            for button in self.query(Button):
                button.disabled = True
        elif answer != "snooze" or self.prompt.snoozes_left:
            self.dismiss()

    def _finish(self, answer: str) -> None:
        self.on_answer(answer)
        self.dismiss()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        names = {"confirm": "confirm", "snooze": "snooze", "skip": "skip"}
        names |= {"done": "confirm", "not-done": "skip"}
        if event.button.id in names:
            self.action_answer(names[event.button.id])
