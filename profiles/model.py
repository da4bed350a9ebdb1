"""A person's profile: who they are at the desk and how they like to work.

Heights are millimetres inside; a profile file may write them in any form
deskctl reads (``72cm``, ``28.5in``, ``720``).  Everything a person can get
wrong is checked here, with messages that say what a good value looks like.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from deskctl.errors import DeskctlError
from deskctl.policy.schedule import BOUNDS
from deskctl.profiles.at_desk import NAME_RE, RESERVED_NAMES
from deskctl.units import Unit, parse_height

# Where a desk's working surface can sensibly be, for anyone: lower is a coffee table, higher
# is a counter no desk reaches.  Each desk's own limits are checked when it moves.
WORKING_MIN_MM = 450.0
WORKING_MAX_MM = 1400.0
# Body heights from a small child to the tallest people measured.
BODY_MIN_MM = 1000.0
BODY_MAX_MM = 2500.0


def _height(value: Any) -> float:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return round(parse_height(value), 1)
        except DeskctlError as error:
            raise ValueError(str(error)) from None
    raise ValueError(f"{value!r} is not a height: write it like 72cm, 28.5in or 720")


def _write_height(mm: float) -> str:
    # Centimetres are exact for the tenths of a millimetre heights are kept to.
    return f"{round(mm / 10, 2):g}cm"


Height = Annotated[
    float,
    BeforeValidator(_height),
    PlainSerializer(_write_height, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, {"type": "number"}],
            "description": "a height: 72cm, 28.5in, 0.72m, or millimetres (720)",
            "examples": ["72cm", "110cm", "43.5in"],
        }
    ),
]


def working_height(mm: float) -> float:
    if not WORKING_MIN_MM <= mm <= WORKING_MAX_MM:
        raise ValueError(
            f"{mm / 10:g} cm is no working height: desks work between "
            f"{WORKING_MIN_MM / 10:g} and {WORKING_MAX_MM / 10:g} cm"
        )
    return mm


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OFFICE_HOURS = ("09:00-12:30", "13:30-17:30")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)\s*$")


def minutes_of(ranges: list[str]) -> tuple[tuple[int, int], ...]:
    """``["09:00-12:30"]`` as minutes from midnight, checked: in order, not overlapping."""
    out: list[tuple[int, int]] = []
    for text in ranges:
        match = _RANGE.match(text)
        if match is None:
            raise ValueError(f"{text!r} is no time range: write it like 09:00-12:30")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if not (h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60 and start < end <= 24 * 60):
            raise ValueError(f"{text!r} is no time range within one day")
        if out and start < out[-1][1]:
            raise ValueError(f"{text!r} overlaps or comes before the range before it")
        out.append((start, end))
    return tuple(out)


class FocusArea(StrEnum):
    NECK = "neck"
    SHOULDERS = "shoulders"
    UPPER_BACK = "upper-back"
    LOWER_BACK = "lower-back"
    CHEST = "chest"
    HIPS = "hips"
    LEGS = "legs"
    WRISTS = "wrists"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _bounded(name: str, default: int, description: str | None = None) -> Any:
    """A rhythm field within the limits the schedule itself keeps."""
    low, high = BOUNDS[name]
    return Field(default, ge=low, le=high, description=description)


class SchedulePrefs(_Strict):
    """The rhythm: in every cycle some minutes sitting, some standing, some moving.

    Defaults follow the evidence: about 20 / 8 / 2 in every 30 minutes, standing
    bouts of at most an hour, and a daily standing goal that starts at 2 hours
    and grows towards 4 over the first weeks.
    """

    hours: dict[str, list[str]] = Field(
        default_factory=lambda: {day: list(OFFICE_HOURS) for day in WEEKDAYS[:5]},
        description='working time per weekday, like mon = ["09:00-12:30", "13:30-17:30"]',
    )
    sit_minutes: int = _bounded("sit_minutes", 20)
    stand_minutes: int = _bounded("stand_minutes", 8)
    move_minutes: int = _bounded("move_minutes", 2, "moving, part of each standing bout")
    max_standing_minutes: int = _bounded("max_standing_minutes", 60, "longest standing bout")
    standing_goal_minutes: int = _bounded(
        "standing_goal_minutes", 120, "daily standing and moving, at the start"
    )
    standing_goal_target_minutes: int = _bounded(
        "standing_goal_target_minutes", 240, "daily, in the end (capped by the working hours)"
    )
    goal_ramp_weeks: int = _bounded("goal_ramp_weeks", 4, "weeks from start to target")

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, ranges in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is no weekday: use {', '.join(WEEKDAYS)}")
            minutes_of(ranges)
        return value

    @field_validator("max_standing_minutes", "standing_goal_target_minutes")
    @classmethod
    def _not_below(cls, value: int, info: ValidationInfo) -> int:
        floor_field = _FLOORS[str(info.field_name)]
        floor = info.data.get(floor_field)
        if floor is not None and value < floor:
            raise ValueError(f"must be at least {floor_field} ({floor})")
        return value


_FLOORS = {
    "max_standing_minutes": "stand_minutes",
    "standing_goal_target_minutes": "standing_goal_minutes",
}


class ExercisePrefs(_Strict):
    focus: list[FocusArea] = Field(default_factory=list, description="areas to favour")
    skip: list[str] = Field(default_factory=list, description="ids of exercises to leave out")
    longest_seconds: int = Field(120, ge=20, le=600, description="longest exercise to offer")


class PresetSlots(_Strict):
    """Which of the desk's memory presets hold this person's heights, if any."""

    sit: int | None = Field(None, ge=1, le=4)
    stand: int | None = Field(None, ge=1, le=4)

    @field_validator("stand")
    @classmethod
    def _distinct(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and value == info.data.get("sit"):
            raise ValueError("sit and stand cannot share one preset slot")
        return value


class Profile(_Strict):
    """One person.  ``name`` is the file's name; everything else is in the file."""

    name: str = Field(description="lower-case letters, digits, - and _; the file is NAME.toml")
    display_name: str = Field("", max_length=60)
    body_height: Height | None = Field(None, description="barefoot stature, for recommendations")
    sit: Height | None = None
    stand: Height | None = None
    unit: Unit | None = Field(None, description="mm, cm or in; the config's unit when unset")
    desks: list[str] = Field(default_factory=list, description="desk names or URLs used with")
    presets: PresetSlots = Field(default_factory=PresetSlots)
    schedule: SchedulePrefs = Field(default_factory=SchedulePrefs)
    exercises: ExercisePrefs = Field(default_factory=ExercisePrefs)
    calendars: list[str] = Field(
        default_factory=list,
        description="calendars whose busy events postpone changes of posture: .ics files "
        "or http(s) URLs",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError(
                f"{value!r} is not a profile name: use up to 40 lower-case letters, digits, "
                "- and _, starting with a letter or digit"
            )
        if value in RESERVED_NAMES:
            raise ValueError(f"{value!r} is reserved for deskctl's own use: choose another name")
        return value

    @field_validator("calendars")
    @classmethod
    def _calendars(cls, value: list[str]) -> list[str]:
        for source in value:
            scheme = source.split("://", 1)[0].lower() if "://" in source else None
            if not source.strip() or scheme not in (None, "http", "https", "webcal"):
                raise ValueError(f"{source!r} is no calendar: give an .ics file or an http(s) URL")
        return value

    @field_validator("body_height")
    @classmethod
    def _body(cls, value: float | None) -> float | None:
        if value is not None and not BODY_MIN_MM <= value <= BODY_MAX_MM:
            raise ValueError(
                f"{value / 10:g} cm is no body height: give the barefoot height of a person, "
                f"between {BODY_MIN_MM / 10:g} and {BODY_MAX_MM / 10:g} cm"
            )
        return value

    @field_validator("sit")
    @classmethod
    def _sit(cls, value: float | None) -> float | None:
        return None if value is None else working_height(value)

    @field_validator("stand")
    @classmethod
    def _stand(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        sit = info.data.get("sit")
        if sit is not None and value <= sit:
            raise ValueError(f"must be higher than sit ({sit / 10:g} cm), not {value / 10:g} cm")
        return working_height(value)

    @model_validator(mode="after")
    def _heights_known(self) -> Self:
        if self.sit is not None and self.stand is not None:
            return self
        if self.body_height is None:
            raise ValueError(
                "give sit and stand heights, or body_height so that deskctl can recommend them"
            )
        from deskctl.profiles.recommend import preferred  # it builds on this model

        sit, stand = preferred(self)
        if stand <= sit:
            raise ValueError(
                f"stand {stand / 10:g} cm must be higher than sit {sit / 10:g} cm "
                "(one of them recommended from body_height)"
            )
        return self

    @property
    def title(self) -> str:
        return self.display_name or self.name
