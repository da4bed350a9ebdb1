"""A person's preferences (their profile) as the engine's settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from deskctl.policy.engine import Settings
from deskctl.policy.schedule import Rhythm, WorkingHours
from deskctl.profiles.model import WEEKDAYS, Profile, SchedulePrefs, minutes_of


def settings_for(
    profile: Profile | None,
    started: dt.date,
    *,
    schedule: SchedulePrefs | None = None,
    **changes: Any,
) -> Settings:
    """The engine's settings from a profile (or the defaults) and when the person began;
    ``schedule`` replaces the profile's rhythm and working hours."""
    prefs = schedule or (profile.schedule if profile is not None else SchedulePrefs())
    exercises = profile.exercises if profile is not None else None
    return Settings(
        rhythm=rhythm_of(prefs, started),
        hours=hours_of(prefs),
        focus=tuple(exercises.focus) if exercises else (),
        skip_exercises=tuple(exercises.skip) if exercises else (),
        longest_exercise_s=exercises.longest_seconds if exercises else 120.0,
        **changes,
    )


def rhythm_of(prefs: SchedulePrefs, started: dt.date) -> Rhythm:
    return Rhythm(
        sit_s=prefs.sit_minutes * 60,
        stand_s=prefs.stand_minutes * 60,
        move_s=prefs.move_minutes * 60,
        max_standing_s=prefs.max_standing_minutes * 60,
        goal_start_s=prefs.standing_goal_minutes * 60,
        goal_target_s=prefs.standing_goal_target_minutes * 60,
        ramp_weeks=prefs.goal_ramp_weeks,
        started=started,
    )


def hours_of(prefs: SchedulePrefs) -> WorkingHours:
    return WorkingHours(
        {WEEKDAYS.index(day): minutes_of(ranges) for day, ranges in prefs.hours.items()}
    )
