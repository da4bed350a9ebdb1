"""Heights that learn from the hands: the rule that turns fine-tunes into a suggestion.

Pure: no clock, no files.  An adjustment is the person moving the desk a little, soon
after it went to one of their heights (see ``deskctl.policy.tuning``).  When most of the
recent adjustments of one posture go the same way, the height in use is probably a little
off, and the typical adjustment (the median, which one odd nudge cannot pull) is
suggested.  The person decides: nothing here changes a height.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LOOK_BACK = 5
"""How many of the latest adjustments of a posture are weighed."""
NEEDED = 3
"""How many of those must go one way, ..."""
LEAST_MM = 5.0
"""... each by at least this much."""
SAME_HEIGHT_MM = 2.0
"""An adjustment counts for the height in use when it started this close to it (so one
made before a height was changed says nothing of the new one)."""


@dataclass(frozen=True)
class Adjustment:
    """The desk moved from one of the person's heights to where they settled it."""

    id: int
    t: float
    desk: str
    profile: str | None
    posture: str
    """sit or stand: the height the move went to."""
    kind: str
    """The move it followed: schedule, sit, stand or preset."""
    target_mm: float
    settled_mm: float

    @property
    def delta_mm(self) -> float:
        return self.settled_mm - self.target_mm


@dataclass(frozen=True)
class Suggestion:
    desk: str
    profile: str | None
    posture: str
    current_mm: float
    suggested_mm: float
    typical_mm: float
    """The median of the consistent adjustments (before clamping to the desk)."""
    evidence: tuple[Adjustment, ...]
    """The consistent adjustments, oldest first."""

    @property
    def change_mm(self) -> float:
        return self.suggested_mm - self.current_mm

    @property
    def evidence_ids(self) -> frozenset[int]:
        return frozenset(a.id for a in self.evidence)


def suggest(
    adjustments: Iterable[Adjustment],
    *,
    posture: str,
    current_mm: float,
    limits: tuple[float, float],
    answered: frozenset[int] = frozenset(),
) -> Suggestion | None:
    """A new height for ``posture`` (in use: ``current_mm``) from one desk and person's
    adjustments, or None.  ``answered`` are adjustments whose suggestion was applied or
    dismissed already: they are not weighed again."""
    relevant = sorted(
        (
            a
            for a in adjustments
            if a.posture == posture
            and a.id not in answered
            and abs(a.target_mm - current_mm) <= SAME_HEIGHT_MM
        ),
        key=lambda a: (a.t, a.id),
    )
    latest = relevant[-LOOK_BACK:]
    up = [a for a in latest if a.delta_mm >= LEAST_MM]
    down = [a for a in latest if a.delta_mm <= -LEAST_MM]
    consistent = up if len(up) >= NEEDED else down if len(down) >= NEEDED else []
    if not consistent:
        return None
    typical = statistics.median(a.delta_mm for a in consistent)
    low, high = limits
    suggested = min(high, max(low, current_mm + typical))
    if abs(suggested - current_mm) < LEAST_MM:
        return None  # the desk's limit leaves nothing worth suggesting
    first = consistent[0]
    return Suggestion(
        desk=first.desk,
        profile=first.profile,
        posture=posture,
        current_mm=current_mm,
        suggested_mm=round(suggested, 1),
        typical_mm=typical,
        evidence=tuple(consistent),
    )


def suggest_each(
    adjustments: Sequence[Adjustment],
    current: dict[str, float],
    limits: tuple[float, float],
    answered: frozenset[int] = frozenset(),
) -> list[Suggestion]:
    """One suggestion at most per posture in ``current`` (posture -> height in use)."""
    found = (
        suggest(adjustments, posture=p, current_mm=mm, limits=limits, answered=answered)
        for p, mm in current.items()
    )
    return [s for s in found if s is not None]
