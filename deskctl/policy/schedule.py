"""When the person works, and the rhythm of sitting and standing within that time.

Defaults follow the evidence gathered in the project's ergonomics notes: in
every half hour about 20 minutes sitting, 8 standing and 2 moving; standing
bouts of at most an hour and at most 4 hours a day; a daily goal of standing and
moving that starts at 2 hours and grows towards 4 over the first weeks, but never
beyond what the working hours allow when every change is taken.

The moving minutes belong to the standing bout (the exercise that comes with a
change, walking about): a bout up lasts ``stand + move`` minutes and counts towards
the goal, as the goal's source counts standing and light activity together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

Range = tuple[int, int]  # minutes from midnight, start inclusive, end exclusive

# The rhythm's limits in minutes, inclusive: the profile's schema and the engine use these.
BOUNDS: dict[str, tuple[int, int]] = {
    "sit_minutes": (5, 120),
    "stand_minutes": (5, 60),
    "move_minutes": (0, 15),
    "max_standing_minutes": (5, 60),
    "standing_goal_minutes": (0, 240),
    "standing_goal_target_minutes": (0, 240),
    "goal_ramp_weeks": (0, 52),
}
SHORTEST_BOUT_S = 60.0 * min(BOUNDS["sit_minutes"][0], BOUNDS["stand_minutes"][0])
"""No bout is shorter, even after snoozes are paid back."""
CHANGE_S = 30.0
"""What a change of posture takes when it is taken at once: the answer and the desk's travel."""

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

    @property
    def up_bout_s(self) -> float:
        """A standing bout: the cycle's standing and moving minutes, within the bout cap."""
        return min(self.stand_s + self.move_s, self.max_standing_s)

    def bout_s(self, standing: bool) -> float:
        return self.up_bout_s if standing else self.sit_s

    def reachable_s(self, ranges: tuple[Range, ...]) -> float:
        """Standing (and moving) in a day of these working ranges, every change taken when
        due at a cost of ``CHANGE_S``.  A range starts a new bout in the posture the last
        one ended in; the day's first posture is yesterday's last, so the lesser of both."""
        return min(self._up_in(ranges, standing=False), self._up_in(ranges, standing=True))

    def _up_in(self, ranges: tuple[Range, ...], *, standing: bool) -> float:
        up = 0.0
        for start, end in sorted(ranges):
            t, stop = start * 60.0, end * 60.0
            while t < stop and up < self.daily_standing_cap_s:
                ends = min(t + self.bout_s(standing), stop)
                if standing:
                    up += min(ends - t, self.daily_standing_cap_s - up)
                if ends < stop:
                    standing, t = not standing, ends + CHANGE_S
                else:
                    t = ends
        return up


def daily_goal_s(rhythm: Rhythm, hours: WorkingHours, day: dt.date) -> float:
    """The day's goal: the ramp's, but no more than the working hours allow; none on a day
    off."""
    return min(rhythm.goal_s(day), rhythm.reachable_s(hours.days.get(day.weekday(), ())))
