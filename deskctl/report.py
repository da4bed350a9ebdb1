"""The day's figures as people read them: lines of text with bars, and as data."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from deskctl.history import Change, DayStats

if TYPE_CHECKING:
    from deskctl.policy.exercises import Library


def minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}" if minutes >= 60 else f"{minutes} min"


def bar(value: float, goal: float, width: int = 24) -> str:
    full = max(goal, value, 1.0)
    filled = round(width * value / full)
    mark = round(width * goal / full) if goal else None
    cells = ["#" if n < filled else "." for n in range(width)]
    if mark is not None and 0 <= mark < width:
        cells[mark] = "|"
    return "".join(cells)


def render_day(stats: DayStats) -> list[str]:
    goal = f"{minutes(stats.goal_s)}" if stats.goal_s else "none"
    return [
        f"{stats.day:%a %d %b}  standing {minutes(stats.standing_s)} of goal {goal} "
        f"[{bar(stats.standing_s, stats.goal_s)}]",
        f"  sitting {minutes(stats.sitting_s)}, standing share {stats.standing_share:.0%}, "
        f"longest sitting {minutes(stats.longest_sitting_s)}, "
        f"{stats.changes_per_hour:.1f} changes an hour, "
        f"exercises {stats.exercises_done} of {stats.exercises_shown}",
    ]


def day_data(stats: DayStats) -> dict[str, Any]:
    return {
        "day": stats.day.isoformat(),
        "sitting_min": round(stats.sitting_s / 60, 1),
        "standing_min": round(stats.standing_s / 60, 1),
        "standing_share": round(stats.standing_share, 3),
        "longest_sitting_min": round(stats.longest_sitting_s / 60, 1),
        "changes": stats.changes,
        "changes_per_hour": round(stats.changes_per_hour, 2),
        "exercises_done": stats.exercises_done,
        "exercises_shown": stats.exercises_shown,
        "goal_min": round(stats.goal_s / 60, 1),
        "goal_met": stats.goal_met,
    }


def change_line(change: Change, library: Library, zone: dt.tzinfo) -> str:
    """``09:20 stand (prompt): Calf raises, done``."""
    clock = dt.datetime.fromtimestamp(change.t, zone).strftime("%H:%M")
    exercise = library.get(change.exercise_id) if change.exercise_id else None
    what = exercise.name if exercise else (change.exercise_id or "no exercise")
    said = f", {change.outcome}" if change.outcome else ""
    cause = "by hand" if change.cause == "manual" else change.cause
    return f"{clock} {change.posture} ({cause}): {what}{said}"


def change_data(change: Change) -> dict[str, Any]:
    return {
        "t": change.t,
        "posture": change.posture,
        "cause": change.cause,
        "exercise": change.exercise_id,
        "outcome": change.outcome,
    }
