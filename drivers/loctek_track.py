"""Where a Loctek desk is, from what its three digits show and when.

A display frame says the height was within half a digit of the number shown
when the box sent it: a band, 1 mm wide below 100 cm on most panels, 10 mm
above (2.54 mm on inch panels).  While the desk moves, the bands of the last
fraction of a second all hold for one straight line (the desk runs at its
top speed), and the line that fits them best (the one that leaves the most
room in the tightest band) gives both the height between frames and the speed,
far better than any single frame.  Frames repeated with unchanged digits
count as much as changes: they say the next digit has not been reached yet.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

FRAME_S = 9 * 10 / 9600
"""A display frame takes this long on the line: the digits are that old on arrival."""
SPEED_LIMIT_MM_S = 120.0
"""Faster than any desk: bounds the search for the speed."""


def window_for(step_mm: float) -> float:
    """Fit the line to this much of the past: long enough for two changes of the last
    digit at a slow top speed, short enough to follow the ramp."""
    return 0.6 if step_mm <= 3.0 else 1.2


@dataclass
class Band:
    at: float
    low: float
    high: float


@dataclass
class DisplayTrack:
    """The digits seen, and the straight line through the recent ones."""

    shown_mm: float | None = None
    step_mm: float = 1.0
    changed_at: float = -math.inf
    seen_at: float = -math.inf
    fine_up_to_mm: float = 0.0
    """The highest height at which the digits showed tenths (0: never)."""
    _bands: deque[Band] = field(default_factory=deque)
    _speed: float | None = None

    def observe(
        self, now: float, shown_mm: float, step_mm: float, reports_within_s: float | None = None
    ) -> bool:
        """A frame showing ``shown_mm``, received at ``now``; True if the digits changed.

        ``reports_within_s``: a box that sends only changes sends each within this long,
        so the digits before were still right that long before the frame."""
        before = self.shown_mm
        changed = before is not None and shown_mm != before
        if changed:
            self.changed_at = now
        self.shown_mm, self.step_mm, self.seen_at = shown_mm, step_mm, now
        if step_mm <= 3.0:
            self.fine_up_to_mm = max(self.fine_up_to_mm, shown_mm)
        at = now - FRAME_S
        if changed and before is not None and reports_within_s is not None:
            earlier = max(at - reports_within_s, self._bands[-1].at if self._bands else -math.inf)
            self._bands.append(Band(earlier, before - step_mm / 2, before + step_mm / 2))
        self._bands.append(Band(at, shown_mm - step_mm / 2, shown_mm + step_mm / 2))
        while self._bands and self._bands[0].at < at - window_for(step_mm):
            self._bands.popleft()
        return changed

    def band(self) -> tuple[float, float]:
        """The heights the digits on the screen allow."""
        shown = self.shown_mm or 0.0
        return shown - self.step_mm / 2, shown + self.step_mm / 2

    def forget(self) -> None:
        """The desk is at rest: the next motion starts a new line."""
        last = self._bands[-1] if self._bands else None
        self._bands.clear()
        self._speed = None
        if last is not None:
            self._bands.append(last)

    def fit(self, at: float) -> tuple[float, float] | None:
        """Height at ``at`` and speed of the line that fits the recent bands best, or
        None while they span less than two values."""
        bands = self._bands
        if len({band.low for band in bands}) < 2:
            return None
        times = [band.at - at for band in bands]
        lows = [band.low for band in bands]
        highs = [band.high for band in bands]
        pairs = list(zip(times, lows, highs, strict=True))

        def room(speed: float) -> tuple[float, float, float]:
            low, high = -math.inf, math.inf
            for offset, floor, ceiling in pairs:
                shift = speed * offset
                low = max(low, floor - shift)
                high = min(high, ceiling - shift)
            return high - low, low, high

        # The room left is concave in the speed: a ternary search finds its best, near the
        # speed found last if there is one.
        if self._speed is None:
            slow, fast = -SPEED_LIMIT_MM_S, SPEED_LIMIT_MM_S
        else:
            slow, fast = self._speed - 25.0, self._speed + 25.0
        while fast - slow > 0.01:
            one, two = slow + (fast - slow) / 3, fast - (fast - slow) / 3
            if room(one)[0] < room(two)[0]:
                slow = one
            else:
                fast = two
        speed = (slow + fast) / 2
        _, low, high = room(speed)
        self._speed = speed
        return (low + high) / 2, speed
