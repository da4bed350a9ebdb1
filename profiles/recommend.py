"""Sitting and standing desk heights from body height.

The desk top belongs a little below the elbow, so that the keyboard's home row
sits at elbow height with the upper arms hanging relaxed:

* standing elbow height is about 0.63 of barefoot stature (Drillis and Contini,
  as reproduced by Winter; Pheasant's tables agree), plus the shoes;
* seated elbow height above the floor is about 0.39 of stature: seat height
  (popliteal height, about 0.25) plus elbow height above the seat (about 0.14),
  plus the shoes;
* the desk top is lower than the elbow by the keyboard's height at the home row.

Shoes add about 25 mm and keyboards are about 25 mm tall at the home row, so
for a person in shoes the two cancel.  Results are rounded to whole millimetres
and clamped to the desk's limits, with a note saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deskctl.model import Limits
from deskctl.units import Unit, format_height

if TYPE_CHECKING:
    from deskctl.profiles.model import Profile

SEATED_ELBOW_RATIO = 0.39
STANDING_ELBOW_RATIO = 0.63
SHOES_MM = 25.0
KEYBOARD_MM = 25.0


@dataclass(frozen=True)
class Recommendation:
    body_mm: float
    shoes_mm: float
    keyboard_mm: float
    sit_mm: float
    stand_mm: float
    """Clamped to the desk's limits when they were given."""
    ideal_sit_mm: float
    ideal_stand_mm: float
    notes: list[str] = field(default_factory=list)

    def explain(self, unit: Unit) -> list[str]:
        """The arithmetic, line by line, for people to check."""

        def h(mm: float) -> str:
            return format_height(mm, unit)

        body, shoes, keys = self.body_mm, self.shoes_mm, self.keyboard_mm
        return [
            f"body height {h(body)} barefoot, shoes {h(shoes)}, keyboard home row {h(keys)}",
            f"sitting:  elbow {SEATED_ELBOW_RATIO} x {h(body)} + {h(shoes)} = "
            f"{h(SEATED_ELBOW_RATIO * body + shoes)}; desk top {h(keys)} lower = "
            f"{h(self.ideal_sit_mm)}",
            f"standing: elbow {STANDING_ELBOW_RATIO} x {h(body)} + {h(shoes)} = "
            f"{h(STANDING_ELBOW_RATIO * body + shoes)}; desk top {h(keys)} lower = "
            f"{h(self.ideal_stand_mm)}",
            *self.notes,
        ]


def recommend(
    body_mm: float,
    *,
    shoes_mm: float = SHOES_MM,
    keyboard_mm: float = KEYBOARD_MM,
    limits: Limits | None = None,
    unit: Unit = Unit.CM,
) -> Recommendation:
    """Working heights for a person ``body_mm`` tall (barefoot), at a desk with ``limits``."""
    ideal_sit = round(SEATED_ELBOW_RATIO * body_mm + shoes_mm - keyboard_mm)
    ideal_stand = round(STANDING_ELBOW_RATIO * body_mm + shoes_mm - keyboard_mm)
    sit, stand, notes = float(ideal_sit), float(ideal_stand), []
    if limits is not None:
        sit, sit_note = clamp("sitting", sit, limits, unit)
        stand, stand_note = clamp("standing", stand, limits, unit)
        notes = [note for note in (sit_note, stand_note) if note]
    return Recommendation(
        body_mm, shoes_mm, keyboard_mm, sit, stand, float(ideal_sit), float(ideal_stand), notes
    )


def clamp(posture: str, height_mm: float, limits: Limits, unit: Unit) -> tuple[float, str]:
    """``height_mm`` within ``limits``, and a note when it had to move."""
    clamped = limits.clamp(height_mm)
    if clamped == height_mm:
        return height_mm, ""
    ideal, reached = format_height(height_mm, unit), format_height(clamped, unit)
    if clamped > height_mm:
        advice = (
            "raise your chair to match and rest your feet on a footrest"
            if posture == "sitting"
            else "a keyboard tray or a lower keyboard can make up the difference"
        )
        return (
            clamped,
            f"warning: {posture} {ideal} is below this desk's lowest {reached}; {advice}",
        )
    advice = (
        "lower your chair to match"
        if posture == "sitting"
        else "a riser on the desk can make up the difference"
    )
    return clamped, f"warning: {posture} {ideal} is above this desk's highest {reached}; {advice}"


@dataclass(frozen=True)
class WorkingHeights:
    sit_mm: float
    stand_mm: float
    notes: list[str]


def preferred(profile: Profile) -> tuple[float, float]:
    """Sit and stand as ``profile`` asks for them: its own, else recommended from its body."""
    sit, stand = profile.sit, profile.stand
    if sit is None or stand is None:
        assert profile.body_height is not None  # the model insists on one or the other
        advice = recommend(profile.body_height)
        sit = advice.sit_mm if sit is None else sit
        stand = advice.stand_mm if stand is None else stand
    return sit, stand


def heights_for(profile: Profile, limits: Limits, unit: Unit = Unit.CM) -> WorkingHeights:
    """The heights ``profile`` works at on a desk with ``limits``, with notes on clamping."""
    sit, stand = preferred(profile)
    sit, sit_note = clamp("sitting", sit, limits, unit)
    stand, stand_note = clamp("standing", stand, limits, unit)
    return WorkingHeights(sit, stand, [note for note in (sit_note, stand_note) if note])
