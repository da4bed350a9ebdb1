"""The exercise library (``exercises.toml``, shipped in the package) and the picker.

The picker chooses an exercise for the posture someone is entering: one that
can be done in that posture, favours their focus areas, leaves out what they
asked to skip and what they did recently, and fits the cycle's movement time.
It is deterministic: the same history gives the same choice.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from deskctl.errors import ConfigError


class Posture(StrEnum):
    SIT = "sit"
    STAND = "stand"


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    posture: str
    """seated, standing or either."""
    areas: tuple[str, ...]
    steps: tuple[str, ...]
    duration_s: int
    intensity: str
    reps: int = 1
    sides: int = 1
    hold_s: int = 0
    cautions: tuple[str, ...] = ()

    def suits(self, posture: Posture) -> bool:
        wanted = "seated" if posture is Posture.SIT else "standing"
        return self.posture in (wanted, "either")

    @property
    def dose(self) -> str:
        """How much, as a person reads it: "5 reps each side, hold 1 s"."""
        parts = [f"{self.reps} rep{'s' if self.reps != 1 else ''}" if self.reps > 1 else "once"]
        if self.sides > 1:
            parts[0] += " each side"
        if self.hold_s:
            parts.append(f"hold {self.hold_s} s")
        return ", ".join(parts)


@dataclass(frozen=True)
class Library:
    exercises: tuple[Exercise, ...]
    notice: str

    def get(self, exercise_id: str) -> Exercise | None:
        return next((e for e in self.exercises if e.id == exercise_id), None)

    def pick(
        self,
        posture: Posture,
        *,
        focus: Sequence[str] = (),
        skip: Sequence[str] = (),
        recent: Sequence[str] = (),
        longest_s: float = 120,
    ) -> Exercise | None:
        """An exercise for someone entering ``posture``; None if nothing fits at all."""
        fitting = [
            e
            for e in self.exercises
            if e.suits(posture) and e.id not in skip and e.duration_s <= longest_s
        ]
        if not fitting:
            return None
        fresh = [e for e in fitting if e.id not in recent] or fitting
        # Focus areas first, then whatever was done longest ago (or never).
        age = {exercise_id: index for index, exercise_id in enumerate(reversed(recent))}

        def rank(e: Exercise) -> tuple[bool, int, int]:
            focused = any(area in focus for area in e.areas)
            return (not focused, -age.get(e.id, len(recent) + 1), self.exercises.index(e))

        return min(fresh, key=rank)


@functools.cache
def library() -> Library:
    """The library that ships with deskctl."""
    source = resources.files("deskctl.policy").joinpath("exercises.toml")
    return parse_library(source.read_text(encoding="utf-8"), "exercises.toml")


def parse_library(text: str, where: str) -> Library:
    try:
        data = tomllib.loads(text)
        exercises = tuple(
            Exercise(
                id=item["id"],
                name=item["name"],
                posture=item["posture"],
                areas=tuple(item["areas"]),
                steps=tuple(item["steps"]),
                duration_s=int(item["duration_s"]),
                intensity=item["intensity"],
                reps=int(item.get("reps", 1)),
                sides=int(item.get("sides", 1)),
                hold_s=int(item.get("hold_s", 0)),
                cautions=tuple(item.get("cautions", ())),
            )
            for item in data["exercise"]
        )
        return Library(exercises, str(data["notice"]))
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise ConfigError(where, None, None, f"not a valid exercise library ({error})") from None
