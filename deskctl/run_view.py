"""What ``deskctl run`` says in the terminal: the schedule's prompts, exercises (with their
cautions) and notices, and from its state when the next change is due, that work is over
until a time, and how a prompt ended (snoozed, skipped, lapsed, taken as a break)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from deskctl.policy.engine import Action, Move, Notify, Phase, Prompt, ShowExercise, State
from deskctl.policy.exercises import Exercise, Library, Posture

Say = Callable[[str, bool], None]
"""Shows a line; the flag marks what deserves a desktop notification."""


class RunView:
    def __init__(self, library: Library, say: Say, zone: dt.tzinfo, now: Callable[[], float]):
        self.library = library
        self.say = say
        self.zone = zone
        self.now = now
        self.exercise_id: str | None = None
        """The exercise on show, for ``d`` and ``x``."""
        self.state: State | None = None
        self._told: tuple[object, ...] | None = None
        self._lapsed_at: float | None = None
        self._snoozes_left = 0

    # -- the engine's actions -----------------------------------------------------------------

    def __call__(self, action: Action) -> None:
        stamp = self._clock(self.now())
        if isinstance(action, Prompt):
            way = "stand up" if action.target is Posture.STAND else "sit down"
            self._snoozes_left = action.snoozes_left
            exercise = self.library.get(action.exercise_id or "")
            then = f", then: {exercise.name}" if exercise else ""
            when = (
                f"the desk moves in {action.countdown_s:.0f} s unless you answer"
                if action.auto
                else f"y to move, s to snooze ({action.snoozes_left} left), n to skip"
            )
            self.say(f"{stamp} time to {way}{then}: {when}", True)
        elif isinstance(action, ShowExercise):
            exercise = self.library.get(action.exercise_id)
            if exercise is None:
                return
            self.exercise_id = exercise.id
            steps = " ".join(exercise.steps)
            careful = "".join(f" Careful: {caution}" for caution in exercise.cautions)
            self.say(
                f"{stamp} {exercise.name} ({exercise.dose}, about {exercise.duration_s} s): "
                f"{steps}{careful} {self.library.notice} (d when done, x to skip)",
                False,
            )
            self.say(pictured_steps(exercise), False)
        elif isinstance(action, Move):
            self.say(f"{stamp} moving the desk to {action.target.value}", False)
        elif isinstance(action, Notify):
            self.say(f"{stamp} {action.text}", True)

    def suggested(self, lines: list[str]) -> None:
        """Heights learned from the person's fine-tunes (``deskctl profile suggest``)."""
        for line in lines:
            self.say(line, False)

    # -- the engine's state -------------------------------------------------------------------

    def stepped(self, state: State) -> None:
        """After each step of the schedule: say what changed for the person, once."""
        before, self.state = self.state, state
        stamp = self._clock(self.now())
        if before is not None and before.phase is Phase.PROMPT and state.phase is not Phase.PROMPT:
            said = self._prompt_ended(state, stamp)
            if said:
                self._told = self._situation(state)
                return
        situation = self._situation(state)
        if situation == self._told:
            return
        self._told = situation
        doing = "sitting" if state.posture is Posture.SIT else "standing"
        if state.phase is Phase.AT_DESK and state.due is not None:
            self.say(f"{stamp} {doing}; {self._next(state)}", False)
        elif state.phase is Phase.AT_DESK and state.postponed_at is not None:
            self.say(f"{stamp} {doing}; the next change waits until do not disturb is off", False)
        elif state.phase is Phase.OFF:
            if state.boundary is None:
                self.say(f"{stamp} no working hours in the coming week: nothing to ask", False)
            else:
                self.say(f"{stamp} outside working hours until {self._when(state.boundary)}", False)
        elif state.phase is Phase.AWAY:
            self.say(f"{stamp} away from the desk: the time counts as a break", False)

    def _prompt_ended(self, state: State, stamp: str) -> bool:
        if state.outcome == "snoozed" and state.due is not None:
            left = max(0, self._snoozes_left - 1)
            self.say(f"{stamp} snoozed until {self._when(state.due)} ({left} left)", False)
        elif state.outcome == "skipped":
            self.say(f"{stamp} skipped; {self._next(state)}", False)
        elif state.outcome == "lapsed":
            self._lapsed_at = self.now()
            self.say(f"{stamp} no answer: the prompt lapsed; {self._next(state)}", True)
        elif state.outcome == "away":
            self._lapsed_at = self.now()
            self.say(
                f"{stamp} no answer and nobody at the computer: taken as a break; "
                "the schedule starts afresh when you are back",
                True,
            )
        else:
            return False
        return True

    def nothing_to_answer(self) -> None:
        """``y``, ``s`` or ``n`` typed with no prompt open (it lapsed, or none came yet)."""
        state = self.state
        lapsed = (
            f"the prompt lapsed at {self._clock(self._lapsed_at)}; "
            if self._lapsed_at is not None
            else ""
        )
        if state is not None and state.phase is Phase.AT_DESK and state.due is not None:
            later = self._next(state)
        elif state is not None and state.phase is Phase.OFF and state.boundary is not None:
            later = f"outside working hours until {self._when(state.boundary)}"
        else:
            later = "the schedule asks again when a change is due"
        self.say(
            f"nothing to answer: {lapsed}{later} ('deskctl stand' or 'deskctl sit' moves the "
            "desk now)",
            False,
        )

    @property
    def prompt_open(self) -> bool:
        return self.state is not None and self.state.phase is Phase.PROMPT

    # -- words --------------------------------------------------------------------------------

    @staticmethod
    def _situation(state: State) -> tuple[object, ...]:
        if state.phase is Phase.AT_DESK:
            return (state.phase, state.posture, state.due)
        if state.phase is Phase.OFF:
            return (state.phase, state.boundary)
        return (state.phase,)

    def _next(self, state: State) -> str:
        way = "stand up" if state.posture is Posture.SIT else "sit down"
        after = ", after a meeting" if state.postponed_at is not None else ""
        return f"next change ({way}) at {self._when(state.due or self.now())}{after}"

    def _clock(self, t: float) -> str:
        return dt.datetime.fromtimestamp(t, self.zone).strftime("%H:%M")

    def _when(self, t: float) -> str:
        """``10:42`` today, ``Mon 09:00`` on another day."""
        moment = dt.datetime.fromtimestamp(t, self.zone)
        today = dt.datetime.fromtimestamp(self.now(), self.zone).date()
        return moment.strftime("%H:%M" if moment.date() == today else "%a %H:%M")


def pictured_steps(exercise: Exercise) -> str:
    """Each step beside its last picture (where the step ends; exercise_art.toml)."""
    from deskctl.policy.art import pictures

    lines: list[str] = []
    steps = pictures().get(exercise.id, ())
    for n, step in enumerate(exercise.steps):
        art = steps[n][-1].splitlines() if n < len(steps) and steps[n] else []
        width = max((len(line) for line in art), default=0)
        text = [f"{n + 1}. {step}"]
        for row in range(max(len(art), len(text))):
            drawing = art[row] if row < len(art) else ""
            lines.append(f"  {drawing:<{width}}  {text[row] if row < len(text) else ''}".rstrip())
    return "\n".join(lines)
