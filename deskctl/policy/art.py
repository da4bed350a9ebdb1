"""The exercises' pictures (``exercise_art.toml``, shipped in the package): for each step of
an exercise, a few frames of line art shown in turn while the step is under way."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from deskctl.errors import ConfigError
from deskctl.policy.exercises import Exercise

Frames = tuple[str, ...]
"""One step's drawings, shown in turn."""


@functools.cache
def pictures() -> dict[str, tuple[Frames, ...]]:
    """Each exercise's frames, step by step."""
    source = resources.files("deskctl.policy").joinpath("exercise_art.toml")
    return parse_pictures(source.read_text(encoding="utf-8"), "exercise_art.toml")


def parse_pictures(text: str, where: str) -> dict[str, tuple[Frames, ...]]:
    try:
        data = tomllib.loads(text)
        poses = {name: _block(pose["art"]) for name, pose in data["pose"].items()}
        return {
            exercise_id: tuple(tuple(poses[name] for name in step) for step in item["steps"])
            for exercise_id, item in data["exercise"].items()
        }
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise ConfigError(where, None, None, f"not a valid picture file ({error})") from None


def _block(art: str) -> str:
    """A drawing without its first newline, every line as wide as the widest."""
    lines = art.removeprefix("\n").rstrip("\n").split("\n")
    width = max(len(line) for line in lines)
    return "\n".join(line.ljust(width) for line in lines)


def frame_at(exercise: Exercise, elapsed_s: float, frame_s: float = 1.0) -> tuple[int, str]:
    """The step under way ``elapsed_s`` into ``exercise`` (its time split evenly among its
    steps) and the drawing to show then; ("", the step) when it has no pictures."""
    steps = pictures().get(exercise.id, ())
    count = max(1, len(exercise.steps))
    share = exercise.duration_s / count if exercise.duration_s else 1.0
    step = min(count - 1, max(0, int(elapsed_s // share)))
    if step >= len(steps) or not steps[step]:
        return step, ""
    frames = steps[step]
    return step, frames[int(elapsed_s // frame_s) % len(frames)]
