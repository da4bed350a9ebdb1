"""What a Jiecang box's height reports say: a plausible height, when it last changed, how fast.

Boxes report on a schedule of their own (only when the height changes, or the
same height again and again), a noisy line loses some reports, and now and then
a damaged frame passes its one-byte checksum with a height that cannot be.  So a
change of height, never the arrival of a frame, is what says the desk moves, and
a report is believed only if the desk could have got there since the last one.
Pure: the caller passes the time.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

# No desk is this fast: a report that needs more is noise.
MAX_SPEED_MM_S = 120.0
# Speed is the slope of the reports over this long: single steps of 1 mm, or of a
# tenth of an inch, are too coarse for it.
SPEED_WINDOW_S = 0.3
MIN_SPEED_SPAN_S = 0.05


class Heard(Enum):
    NEW = "new height"
    SAME = "same height"
    DOUBTED = "implausible, set aside"


@dataclass
class HeightTrack:
    unit_mm: float = 1.0
    """What one step of the reported number is worth: 1 mm, or 2.54 mm on an inch box."""
    height_mm: float | None = None
    heard_at: float = -math.inf
    """When the last believed report arrived."""
    changed_at: float = -math.inf
    """When a believed report last showed a new height."""
    doubted: int = 0
    _suspect: tuple[float, float] | None = None
    _samples: deque[tuple[float, float]] = field(default_factory=deque)

    def hear(self, height_mm: float, now: float) -> Heard:
        """A height report arrived at ``now``: is it news, the same, or not to be believed?"""
        if self.height_mm is not None and not self._reachable(
            (self.heard_at, self.height_mm), height_mm, now
        ):
            suspect, self._suspect = self._suspect, (now, height_mm)
            if suspect is None or not self._reachable(suspect, height_mm, now):
                self.doubted += 1
                return Heard.DOUBTED
            # Two reports agree with each other: it is the track that was wrong.
        self._suspect = None
        new = height_mm != self.height_mm
        self.height_mm, self.heard_at = height_mm, now
        if new:
            self.changed_at = now
        self._samples.append((now, height_mm))
        self._trim(now)
        return Heard.NEW if new else Heard.SAME

    def _reachable(self, since: tuple[float, float], height_mm: float, now: float) -> bool:
        then, there = since
        return abs(height_mm - there) <= MAX_SPEED_MM_S * max(0.0, now - then) + 3 * self.unit_mm

    def anchor(self, now: float) -> None:
        """A motion command goes out: until now the desk stood at its last height."""
        if self.height_mm is not None:
            self._samples = deque([(now, self.height_mm)])

    def _trim(self, now: float) -> None:
        # Keep the window, and the one sample before it so that a sparse report still spans.
        while len(self._samples) > 2 and self._samples[1][0] <= now - SPEED_WINDOW_S:
            self._samples.popleft()
        if self._samples and self._samples[0][0] < now - 2 * SPEED_WINDOW_S:
            self._samples.popleft()

    def speed(self) -> float:
        """The least-squares slope of the recent reports, in mm/s (0 without enough of them)."""
        samples = self._samples
        if len(samples) < 2 or samples[-1][0] - samples[0][0] < MIN_SPEED_SPAN_S:
            return 0.0
        mean_t = sum(t for t, _ in samples) / len(samples)
        mean_h = sum(h for _, h in samples) / len(samples)
        spread = sum((t - mean_t) ** 2 for t, _ in samples)
        return sum((t - mean_t) * (h - mean_h) for t, h in samples) / spread
