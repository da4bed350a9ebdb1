"""The history database: figures against hand-computed values, and a kill mid-write."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from deskctl.history import History

HERE = Path(__file__).parent
DAY = dt.date(2026, 11, 23)
UTC = dt.UTC


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> float:
    return dt.datetime.combine(day, dt.time(hour, minute), UTC).timestamp()


def test_a_day_in_figures() -> None:
    history = History(":memory:")
    for t, what, detail in [
        (at(9), "sit", "work starts"),
        (at(9, 40), "stand", "prompt"),  # 40 min sitting
        (at(9, 50), "sit", "prompt"),  # 10 min standing
        (at(10, 20), "away", ""),  # 30 min sitting
        (at(10, 30), "sit", "back"),
        (at(10, 45), "stand", "manual"),  # 15 min sitting: a new bout after the break
        (at(11, 5), "off", "work ends"),  # 20 min standing
    ]:
        history.record(t, "posture", what, detail)
    history.record(at(9, 41), "exercise", "shown", "calf-raises")
    history.record(at(9, 42), "exercise", "done", "calf-raises")
    history.record(at(9, 51), "exercise", "shown", "chin-tuck")
    stats = history.day(DAY, UTC, goal_s=3600, now=at(23))
    assert stats.sitting_s == (40 + 30 + 15) * 60
    assert stats.standing_s == (10 + 20) * 60
    assert stats.longest_sitting_s == 40 * 60  # the break cut the 30 + 15
    assert stats.changes == 3  # sit>stand>sit, (away), sit>stand
    assert stats.changes_per_hour == pytest.approx(3 / (115 / 60))
    assert stats.standing_share == pytest.approx(30 / 115)
    assert (stats.exercises_done, stats.exercises_shown) == (1, 2)
    assert not stats.goal_met


def test_an_open_posture_ends_at_now_today_and_at_the_last_record_after_a_kill() -> None:
    history = History(":memory:")
    history.record(at(9), "posture", "stand", "work starts")
    assert history.day(DAY, UTC, 0, now=at(9, 30)).standing_s == 30 * 60
    history.record(at(9, 10), "transition", "prompted", "sit")
    history.close_dangling()  # the process died after 09:10
    assert history.day(DAY, UTC, 0, now=at(23)).standing_s == 10 * 60


def test_the_streak_counts_goal_days_and_skips_days_off() -> None:
    history = History(":memory:")
    monday = DAY
    for offset, standing in [(0, 130), (1, 125), (2, 50), (3, 121), (4, 140)]:
        day = monday + dt.timedelta(days=offset)
        history.record(at(9, day=day), "posture", "stand", "")
        history.record(at(9, day=day) + standing * 60, "posture", "off", "")
    saturday, sunday = monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)
    next_monday = monday + dt.timedelta(days=7)
    history.record(at(9, day=next_monday), "posture", "stand", "")
    history.record(at(11, day=next_monday), "posture", "off", "")
    goal = 120 * 60.0
    now = at(12, day=next_monday)
    assert history.streak(next_monday, UTC, lambda _: goal, now) == 3  # Thu, Fri, Mon
    assert history.streak(sunday, UTC, lambda _: goal, at(12, day=sunday)) == 2
    assert history.streak(saturday, UTC, lambda _: goal, at(12, day=saturday)) == 2


WRITER = """
import sys
from deskctl.history import History

history = History(sys.argv[1])
n = 0
while True:
    history.record(1795420800.0 + n, "posture", "sit" if n % 2 else "stand", "x" * 200)
    n += 1
    print(n, flush=True)
"""


def test_nothing_committed_is_lost_when_the_process_is_killed(tmp_path: Path) -> None:
    database = tmp_path / "history.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(database)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE,  # the checkout's top folder would shadow the installed package
    )
    assert writer.stdout is not None
    committed = 0
    for _ in range(300):
        committed = int(writer.stdout.readline())
    os.kill(writer.pid, signal.SIGKILL)  # most likely in the middle of the next write
    writer.wait()
    check = sqlite3.connect(database)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    (rows,) = check.execute("SELECT COUNT(*) FROM events").fetchone()
    check.close()
    assert rows >= committed
    History(database).close()  # and it opens again


GONE_WRITER = """
import sys
from deskctl.history import History

history = History(sys.argv[1])
history.close_dangling()
history.record(float(sys.argv[2]), "posture", "sit", "work starts")
"""


def test_an_open_bout_of_a_writer_that_is_gone_stops_counting(tmp_path: Path) -> None:
    database = tmp_path / "history.sqlite3"
    subprocess.run(
        [sys.executable, "-c", GONE_WRITER, str(database), str(at(9))], check=True, cwd=HERE
    )
    history = History(database)  # a reader, as 'deskctl stats' is
    assert history.day(DAY, UTC, 0, now=at(9, 30)).sitting_s == 0
    assert history.day(DAY, UTC, 0, now=at(12)).sitting_s == 0
    history.record(at(9, 20), "transition", "prompted", "stand")
    assert history.day(DAY, UTC, 0, now=at(12)).sitting_s == 20 * 60
    history.close_dangling()  # this process writes now: its open bout counts until now
    history.record(at(10), "posture", "stand", "work starts")
    assert history.day(DAY, UTC, 0, now=at(10, 30)).standing_s == 30 * 60
