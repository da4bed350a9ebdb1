"""Every request a client may send the agent, as typed models: the agent validates each
line against them before it does anything (see ``protocol`` for the framing)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Key = Annotated[str, Field(min_length=1, max_length=300)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    id: Annotated[int, Field(ge=0, lt=2**53)]


class Hello(_Request):
    op: Literal["hello"]
    client: Annotated[str, Field(max_length=200)] = ""


class Open(_Request):
    """Open a desk (or share the agent's connection to it); events follow for it."""

    op: Literal["open"]
    url: Annotated[str, Field(min_length=1, max_length=500)]


class Purpose(BaseModel):
    """What a move is for, when it goes to one of the person's heights: the agent then
    watches for fine-tunes after it (heights that learn from the hands)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["sit", "stand", "preset"]
    posture: Literal["sit", "stand"]
    target_mm: Finite
    profile: Annotated[str | None, Field(max_length=100)] = None


class Close(_Request):
    op: Literal["close"]
    desk: Key


class Move(_Request):
    op: Literal["move"]
    desk: Key
    height_mm: Finite
    roughly: bool = False
    """Ending short of the target is no error (calibration)."""
    purpose: Purpose | None = None


class Stop(_Request):
    op: Literal["stop"]
    desk: Key


class Hold(_Request):
    """Start holding a direction, for ``lease_s`` unless renewed (a dead man's handle)."""

    op: Literal["hold"]
    desk: Key
    direction: Literal["up", "down"]
    lease_s: Annotated[float, Field(gt=0, le=5)] = 1.0


class HoldRenew(_Request):
    op: Literal["hold_renew"]
    desk: Key


class HoldEnd(_Request):
    op: Literal["hold_end"]
    desk: Key


class Presets(_Request):
    op: Literal["presets"]
    desk: Key


class Recall(_Request):
    op: Literal["recall"]
    desk: Key
    slot: Annotated[int, Field(ge=1, le=16)]
    purpose: Purpose | None = None


class SavePreset(_Request):
    op: Literal["save_preset"]
    desk: Key
    slot: Annotated[int, Field(ge=1, le=16)]


class Calibrate(_Request):
    op: Literal["calibrate"]
    desk: Key


class Cancel(_Request):
    """Withdraw an earlier request of this client (Ctrl-C during a move): its move stops."""

    op: Literal["cancel"]
    request: Annotated[int, Field(ge=0, lt=2**53)]


class Follow(_Request):
    """Follow the desk's schedule: it runs while any client follows it."""

    op: Literal["follow"]
    desk: Key
    profile: Annotated[str | None, Field(max_length=100)] = None
    auto: bool = False
    sit_mm: Finite
    stand_mm: Finite
    schedule: dict[str, Any] | None = None
    """A rhythm and working hours for this session, as a profile's ``[schedule]`` table."""


class Unfollow(_Request):
    op: Literal["unfollow"]
    desk: Key


class Answer(_Request):
    """The person's answer to the schedule's prompt or exercise, from any face."""

    op: Literal["answer"]
    desk: Key
    answer: Literal["confirm", "snooze", "skip", "done", "skipped", "activity", "away"]
    exercise: Annotated[str | None, Field(max_length=100)] = None


class Shutdown(_Request):
    op: Literal["shutdown"]


Request = Annotated[
    Hello
    | Open
    | Close
    | Move
    | Stop
    | Hold
    | HoldRenew
    | HoldEnd
    | Presets
    | Recall
    | SavePreset
    | Calibrate
    | Cancel
    | Follow
    | Unfollow
    | Answer
    | Shutdown,
    Field(discriminator="op"),
]
REQUEST: TypeAdapter[Request] = TypeAdapter(Request)
