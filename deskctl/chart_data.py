"""The figures of the day and the week as charts take them: postures as spans over the
working hours, cut into cells, and the week's days against the standing goal.

Pure: the history and the engine's settings in, plain data out. The figures are the
ones ``deskctl stats`` prints (:meth:`History.day`, :meth:`History.streak`); this only
adds where each posture lies in time.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deskctl.history import DayStats, History
    from deskctl.policy.engine import Settings

# The hours a day's strip spans when the day has no working hours and nothing recorded.
DEFAULT_HOURS = (8, 18)
WEEK_DAYS = 7


@dataclass(frozen=True)
class Span:
    posture: str
    """sit, stand, away or off."""
    start: float
    end: float


@dataclass(frozen=True)
class DayStrip:
    """A day's postures from ``start`` to ``end`` (whole hours), known up to ``now``."""

    day: dt.date
    start: float
    end: float
    now: float
    spans: tuple[Span, ...]
    """What the history says, never past ``now``."""
    zone: dt.tzinfo

    @property
    def first_hour(self) -> int:
        return dt.datetime.fromtimestamp(self.start, self.zone).hour

    def cells(self, count: int) -> list[str | None]:
        """``count`` cells across the strip: the posture that fills most of each cell's
        past, or None for a cell that is all future (the cell under way shows its past)."""
        width = (self.end - self.start) / count
        cells: list[str | None] = []
        for n in range(count):
            begins = self.start + n * width
            ends = min(begins + width, self.now)
            if begins >= self.now:
                cells.append(None)
                continue
            held: dict[str, float] = {}
            for span in self.spans:
                overlap = min(ends, span.end) - max(begins, span.start)
                if overlap > 0:
                    held[span.posture] = held.get(span.posture, 0.0) + overlap
            cells.append(max(held, key=lambda posture: held[posture]) if held else "off")
        return cells

    def column(self, moment: float, count: int) -> int | None:
        """The cell ``moment`` falls in, or None outside the strip."""
        if not self.start <= moment < self.end:
            return None
        return int((moment - self.start) / (self.end - self.start) * count)

    def hours(self) -> range:
        """The whole hours the strip's axis marks, its two ends included."""
        last = self.first_hour + round((self.end - self.start) / 3600)
        return range(self.first_hour, last + 1)

    def hour_at(self, hour: int) -> float:
        return self.start + (hour - self.first_hour) * 3600


@dataclass(frozen=True)
class StatsView:
    """What the Stats section shows: today's strip and figures, the week, the streak."""

    today: DayStrip
    week: tuple[DayStats, ...]
    """The last seven days, oldest first; the last is today."""
    streak: int

    @property
    def today_stats(self) -> DayStats:
        return self.week[-1]


def day_strip(history: History, day: dt.date, settings: Settings, now: float) -> DayStrip:
    """``day``'s postures over its working hours, widened to whole hours and to any time at
    the desk outside them."""
    zone = settings.timezone
    midnight = dt.datetime.combine(day, dt.time(), zone).timestamp()
    spans = tuple(
        Span(posture, start, end)
        for posture, start, end in history.postures(midnight, midnight + 86400, now)
    )
    ranges = settings.hours.days.get(day.weekday(), ())
    ends = [midnight + minute * 60 for r in ranges for minute in r]
    ends += [t for s in spans if s.posture != "off" for t in (s.start, s.end)]
    if ends:
        first = math.floor((min(ends) - midnight) / 3600)
        last = math.ceil((max(ends) - midnight) / 3600)
    else:
        first, last = DEFAULT_HOURS
    last = max(last, first + 1)
    return DayStrip(
        day=day,
        start=midnight + first * 3600,
        end=midnight + last * 3600,
        now=now,
        spans=spans,
        zone=zone,
    )


def stats_view(history: History, settings: Settings, now: float) -> StatsView:
    """Today and the six days before it, as ``deskctl stats --week`` counts them."""
    zone = settings.timezone
    today = dt.datetime.fromtimestamp(now, zone).date()
    days = [today - dt.timedelta(days=n) for n in range(WEEK_DAYS - 1, -1, -1)]
    week = tuple(history.day(day, zone, settings.goal_s(day), now) for day in days)
    return StatsView(
        today=day_strip(history, today, settings, now),
        week=week,
        streak=history.streak(today, zone, settings.goal_s, now),
    )
