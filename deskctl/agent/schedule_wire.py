"""The schedule's state and actions on the wire (the agent sends them to every face)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from deskctl.policy.engine import Action, Move, Notify, Phase, Prompt, ShowExercise, State
from deskctl.policy.exercises import Posture


def state_to_wire(state: State) -> dict[str, Any]:
    data = dataclasses.asdict(state)
    data["phase"] = state.phase.value
    data["posture"] = state.posture.value
    data["target"] = None if state.target is None else state.target.value
    data["resume"] = None if state.resume is None else state.resume.value
    data["debt_s"] = {posture.value: seconds for posture, seconds in state.debt_s.items()}
    data["day"] = None if state.day is None else state.day.isoformat()
    data["recent"] = list(state.recent)
    return data


def state_from_wire(data: dict[str, Any]) -> State:
    fields = {f.name for f in dataclasses.fields(State)}
    values = {k: v for k, v in data.items() if k in fields}
    values["phase"] = Phase(data["phase"])
    values["posture"] = Posture(data["posture"])
    values["target"] = None if data.get("target") is None else Posture(data["target"])
    values["resume"] = None if data.get("resume") is None else Phase(data["resume"])
    values["debt_s"] = {Posture(k): float(v) for k, v in data.get("debt_s", {}).items()}
    values["day"] = None if data.get("day") is None else dt.date.fromisoformat(data["day"])
    values["recent"] = tuple(data.get("recent", ()))
    return State(**values)


def action_to_wire(action: Action) -> dict[str, Any] | None:
    """What a face shows; None for what only the agent acts on (records)."""
    if isinstance(action, Prompt):
        return {
            "type": "prompt",
            "target": action.target.value,
            "exercise": action.exercise_id,
            "countdown_s": action.countdown_s,
            "auto": action.auto,
            "snoozes_left": action.snoozes_left,
        }
    if isinstance(action, Move):
        return {"type": "move", "target": action.target.value}
    if isinstance(action, ShowExercise):
        return {"type": "exercise", "exercise": action.exercise_id}
    if isinstance(action, Notify):
        return {"type": "notice", "text": action.text}
    return None


def action_from_wire(data: dict[str, Any]) -> Action | None:
    kind = data.get("type")
    if kind == "prompt":
        return Prompt(
            target=Posture(data["target"]),
            exercise_id=data.get("exercise"),
            countdown_s=float(data["countdown_s"]),
            auto=bool(data["auto"]),
            snoozes_left=int(data["snoozes_left"]),
        )
    if kind == "move":
        return Move(Posture(data["target"]))
    if kind == "exercise":
        return ShowExercise(str(data["exercise"]))
    if kind == "notice":
        return Notify(str(data["text"]))
    return None
