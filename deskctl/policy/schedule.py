"""When the person works, and the rhythm of sitting and standing within that time.

Defaults follow the evidence gathered in the project's ergonomics notes: in
every half hour about 20 minutes sitting, 8 standing and 2 moving; standing
bouts of at most an hour and at most 4 hours a day; a daily standing goal that
starts at 2 hours and grows towards 4 over the first weeks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

Range = tuple[int, int]  # minutes from midnight, start inclusive, end exclusive

# Office hours with a lunch break; weekends off.
DEFAULT_DAY: tuple[Range, ...] = ((9 * 60, 12 * 60 + 30), (13 * 60 + 30, 17 * 60 + 30))


def _default_week() -> dict[int, tuple[Range, ...]]:
    return dict.fromkeys(range(5), DEFAULT_DAY)


@dataclass(frozen=True)
class WorkingHours:
    """Working time per weekday (0 is Monday) as ranges of minutes, in local time."""

    days: dict[int, tuple[Range, ...]] = field(default_factory=_default_week)

    def range_at(self, moment: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
        """The working range ``moment`` falls in, as local datetimes, or None."""
        minute = moment.hour * 60 + moment.minute + moment.second / 60
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        for start, end in self.days.get(moment.weekday(), ()):
            if start <= minute < end:
                return midnight + dt.timedelta(minutes=start), midnight + dt.timedelta(minutes=end)
        return None

    def next_start(self, moment: dt.datetime) -> dt.datetime | None:
        """The next moment after ``moment`` that work begins, within a week."""
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(8):
            day = midnight + dt.timedelta(days=offset)
            for start, _ in sorted(self.days.get(day.weekday(), ())):
                begins = day + dt.timedelta(minutes=start)
                if begins > moment:
                    return begins
        return None

    def minutes_on(self, weekday: int) -> int:
        return sum(end - start for start, end in self.days.get(weekday, ()))


@dataclass(frozen=True)
class Rhythm:
    sit_s: float = 20 * 60
    stand_s: float = 8 * 60
    move_s: float = 2 * 60
    max_standing_s: float = 60 * 60
    daily_standing_cap_s: float = 4 * 3600
    goal_start_s: float = 2 * 3600
    goal_target_s: float = 4 * 3600
    ramp_weeks: int = 4
    started: dt.date = field(default_factory=dt.date.today)
    """The day the person began; the goal ramps from here."""

    def goal_s(self, day: dt.date) -> float:
        """Today's standing goal: from the start goal towards the target over the ramp."""
        if self.ramp_weeks <= 0:
            return self.goal_target_s
        weeks = max(0.0, (day - self.started).days / 7)
        share = min(1.0, weeks / self.ramp_weeks)
        return self.goal_start_s + (self.goal_target_s - self.goal_start_s) * share

    def stand_bout_s(self, day: dt.date, workday_s: float) -> float:
        """A standing bout, long enough that a day of cycles meets the goal, within the caps."""
        cycle = self.sit_s + self.stand_s + self.move_s
        planned = workday_s / cycle * self.stand_s if cycle else 0.0
        bout = self.stand_s
        goal = self.goal_s(day)
        if planned and planned < goal:
            bout = self.stand_s * goal / planned
        return min(bout, self.max_standing_s)
