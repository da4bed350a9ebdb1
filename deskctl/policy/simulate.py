"""Days at a desk on simulated time: the engine, a desk that does as asked, and a
person who mostly goes along, sometimes snoozes or skips, moves the desk by
hand now and then, and leaves for a while.  Seeded, so a run can be repeated.

``deskctl simulate --days 5`` prints the timeline and the figures; it is also
how the engine's speed is measured.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from deskctl.history import DayStats, History, timeline
from deskctl.policy.engine import (
    Action,
    Activity,
    Arrived,
    Away,
    Confirm,
    DeskMoved,
    Engine,
    Event,
    ExerciseDone,
    Move,
    Prompt,
    Record,
    ShowExercise,
    Skip,
    Snooze,
    State,
    Tick,
)
from deskctl.policy.exercises import Posture
from deskctl.policy.learning import Suggestion, suggest_each
from deskctl.policy.tuning import Tuner
from deskctl.purpose import Purpose


@dataclass
class Person:
    """How the simulated person answers: chances per prompt and per hour."""

    confirm: float = 0.75
    snooze: float = 0.12
    skip: float = 0.08
    exercise_done: float = 0.8
    hand_moves_per_day: float = 1.0
    breaks_per_day: float = 2.0
    nudges_mm: dict[str, float] = field(default_factory=dict)
    """Posture -> how far the person moves the desk by hand soon after each scheduled move
    to that posture (their height is a little off), give or take a couple of mm."""
    seed: int = 0
    random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)  # noqa: S311 (a simulation, not secrets)


@dataclass
class Simulation:
    engine: Engine
    start: float
    days: int
    person: Person = field(default_factory=Person)
    history: History = field(default_factory=lambda: History(":memory:"))
    state: State = field(default_factory=State)
    now: float = 0.0
    moves: int = 0
    away: bool = False
    heights: tuple[float, float] = (720.0, 1100.0)
    """The person's sitting and standing heights."""
    limits: tuple[float, float] = (620.0, 1270.0)
    first_suggestion: tuple[float, Suggestion] | None = None
    """When the fine-tunes first made a suggestion, and which."""
    tuner: Tuner = field(init=False)

    def __post_init__(self) -> None:
        self.tuner = Tuner(lambda: self.history, "sim://simulated", lambda: self.now)

    def run(self) -> None:
        self.now = self.start
        end = self.start + self.days * 86400
        surprises = self._surprises(end)
        self._step(Tick())
        while True:
            wake = self.state.next_wake
            upcoming = surprises[0][0] if surprises else None
            nearest = min(t for t in (wake, upcoming, end) if t is not None)
            self.now = max(self.now, nearest)
            if nearest >= end:
                break
            if upcoming is not None and upcoming <= (wake if wake is not None else end):
                _, event = surprises.pop(0)
                self.away = isinstance(event, Away)
                self._step(event)
            else:
                if not self.away:
                    self._step(Activity())  # at the keyboard, as the platform would report
                self._step(Tick())

    def _surprises(self, end: float) -> list[tuple[float, Event]]:
        """Hand moves and breaks at random moments of the working days."""
        chance = self.person.random
        events: list[tuple[float, Event]] = []
        day_s = 86400
        for day in range(self.days):
            base = self.start + day * day_s
            for _ in range(_count(chance, self.person.hand_moves_per_day)):
                posture = chance.choice([Posture.SIT, Posture.STAND])
                events.append((base + chance.uniform(9, 17) * 3600, DeskMoved(posture)))
            for _ in range(_count(chance, self.person.breaks_per_day)):
                leaves = base + chance.uniform(9.5, 16.5) * 3600
                events.append((leaves, Away()))
                events.append((leaves + chance.uniform(5, 40) * 60, Activity()))
        return sorted((e for e in events if e[0] < end), key=lambda e: e[0])

    def _step(self, event: Event) -> None:
        self.state, actions = self.engine.step(self.state, event, self.now)
        for action in actions:
            self._act(action)

    def _act(self, action: Action) -> None:
        chance = self.person.random.random
        if isinstance(action, Record):
            self.history.record(self.now, action.kind, action.what, action.detail)
        elif isinstance(action, Prompt):
            roll = chance()
            person = self.person
            if roll < person.confirm:
                self._step(Confirm())
            elif roll < person.confirm + person.snooze and action.snoozes_left:
                self._step(Snooze())
            elif roll < person.confirm + person.snooze + person.skip:
                self._step(Skip())
        elif isinstance(action, Move):
            self.moves += 1
            self.now += 15.0  # a typical move
            self._step(Arrived(action.target))
            self._fine_tune(action.target)
        elif isinstance(action, ShowExercise):
            self._step(ExerciseDone(action.exercise_id, chance() < self.person.exercise_done))

    def _fine_tune(self, posture: Posture) -> None:
        """The desk reached the person's height; a person whose height is off nudges it."""
        height = self.heights[posture is Posture.STAND]
        self.tuner.followed(Purpose("schedule", posture.value, height, None), height)
        nudge = self.person.nudges_mm.get(posture.value)
        if nudge is None:
            return
        chance = self.person.random
        self.now += chance.uniform(20, 120)  # settles in, then reaches for the handset
        self.tuner.rested(height + nudge + chance.gauss(0, 1.5))
        if self.first_suggestion is None:
            current = {"sit": self.heights[0], "stand": self.heights[1]}
            found = suggest_each(self.history.adjustments(), current, self.limits)
            if found:
                self.first_suggestion = (self.now, found[0])

    def stats(self) -> list[DayStats]:
        timezone = self.engine.settings.timezone
        settings = self.engine.settings
        first = dt.datetime.fromtimestamp(self.start, timezone).date()
        days = [first + dt.timedelta(days=n) for n in range(self.days)]
        return [self.history.day(day, timezone, settings.goal_s(day), self.now) for day in days]

    def timeline(self, day: dt.date) -> str:
        return timeline(self.history, day, self.engine.settings.timezone)


def _count(chance: random.Random, mean: float) -> int:
    whole = int(mean)
    return whole + (chance.random() < mean - whole)


@dataclass(frozen=True)
class Postponed:
    """A change of posture that fell in a meeting: when it was due, why it waited, and
    when it was asked for (None: working time ended first)."""

    due: float
    why: str
    asked: float | None
    away: bool = False
    """The person was away from the desk in between (asked once they were back)."""


def postponed_changes(history: History, day: dt.date, zone: dt.tzinfo) -> list[Postponed]:
    start = dt.datetime.combine(day, dt.time(), zone).timestamp()
    events = history.events(start, start + 86400)
    found = []
    for index, (t, kind, what, detail) in enumerate(events):
        if kind != "transition" or what != "postponed":
            continue
        later = events[index + 1 :]
        ended = next((u for u, k, w, _ in later if k == "posture" and w == "off"), None)
        # Asked for, or not needed: the day's standing was capped, or the person moved.
        asked = next(
            (
                u
                for u, k, w, d in later
                if (k == "transition" and w in ("prompted", "capped"))
                or (k == "posture" and d == "manual")
            ),
            None,
        )
        if asked is not None and ended is not None and ended < asked:
            asked = None
        until = asked if asked is not None else start + 86400
        away = any(k == "posture" and w == "away" and u < until for u, k, w, _ in later)
        found.append(Postponed(t, detail, asked, away))
    return found
