"""Meetings in the engine, on fake time: a change that falls in one is postponed to its
end (not dropped), nothing is asked or moved during it, and the day goes on from there."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_policy_engine import STARTER, Clocked, at

from deskctl.policy.calendars import Calendars
from deskctl.policy.engine import Activity, Engine, Move, Phase, Prompt, Record, Settings, Tick
from deskctl.policy.exercises import Posture
from deskctl.policy.meetings import Busy
from deskctl.policy.schedule import Rhythm
from deskctl.policy.simulate import Person, Simulation, postponed_changes

BERLIN = ZoneInfo("Europe/Berlin")


def meetings(*spans: tuple[float, float]) -> Settings:
    return Settings(rhythm=STARTER, meetings=Busy(spans))


def prompts(desk: Clocked) -> list[float]:
    return [t for t, action in desk.log if isinstance(action, Prompt)]


def postponed(desk: Clocked) -> list[tuple[float, str]]:
    return [
        (t, a.detail)
        for t, a in desk.log
        if isinstance(a, Record) and a.kind == "transition" and a.what == "postponed"
    ]


def test_a_change_due_in_a_meeting_waits_for_its_end() -> None:
    # Work starts at 9:00 seated; standing is due at 9:20, in the 9:15-9:45 meeting.
    desk = Clocked(meetings((at(0, 9, 15), at(0, 9, 45))))
    desk.run_until(at(0, 12))
    assert postponed(desk) == [(at(0, 9, 20), "a meeting until 09:45")]
    assert not [t for t in prompts(desk) if at(0, 9, 15) <= t < at(0, 9, 45)]
    # The plan adapts: the standing bout runs from the postponed change, and makes up for
    # the standing the meeting took: the 25 minutes sat beyond the bout are paired with
    # 12.5 minutes of standing (10 for every 20), on top of the bout's 8 + 2 minutes.
    up = (10 + 12.5) * 60
    assert prompts(desk)[:3] == [at(0, 9, 45), at(0, 9, 45) + up, at(0, 10, 5) + up]
    stands = [t for t, a in desk.log if isinstance(a, Record) and a.what == "stand"]
    assert stands[:2] == [at(0, 9, 45), at(0, 10, 5) + up]
    assert desk.state.owed_s == 0.0


def test_back_to_back_meetings_are_waited_out_together() -> None:
    desk = Clocked(meetings((at(0, 9, 15), at(0, 9, 45)), (at(0, 9, 45), at(0, 10, 30))))
    desk.run_until(at(0, 11))
    assert postponed(desk) == [(at(0, 9, 20), "a meeting until 10:30")]
    assert prompts(desk)[0] == at(0, 10, 30)


class Agenda:
    """Meetings that can be added while the day runs (an invitation accepted)."""

    def __init__(self) -> None:
        self.busy = Busy()

    def add(self, begins: float, ends: float) -> None:
        self.busy = Busy((*self.busy.intervals, (begins, ends)))

    def until(self, moment: float) -> float | None:
        return self.busy.until(moment)

    def next_start(self, moment: float) -> float | None:
        return self.busy.next_start(moment)


def test_an_automatic_move_never_starts_in_a_meeting() -> None:
    agenda = Agenda()
    settings = Settings(rhythm=STARTER, meetings=agenda, auto_move=True, countdown_s=30.0)
    desk = Clocked(settings)
    desk.run_until(at(0, 9, 19))
    desk.step(Activity())  # at the keyboard
    desk.run_until(at(0, 9, 20))
    assert prompts(desk) == [at(0, 9, 20)]  # the warning: the desk moves in 30 s
    agenda.add(at(0, 9, 20) + 15, at(0, 10))  # a call comes in
    desk.run_until(at(0, 9, 21))
    assert not [a for _, a in desk.log if isinstance(a, Move)]
    assert postponed(desk) == [(at(0, 9, 20) + 30, "a meeting until 10:00")]
    desk.now = at(0, 9, 59)
    desk.step(Activity())
    desk.run_until(at(0, 10, 1))
    assert prompts(desk)[-1] == at(0, 10)
    moves = [t for t, a in desk.log if isinstance(a, Move)]
    assert moves == [at(0, 10) + 30]  # within 2 minutes of the meeting's end
    assert desk.posture() is Posture.STAND


def test_standing_ends_before_a_meeting_and_nobody_stands_up_just_before_one() -> None:
    # Standing from 9:20 would run to 9:30, into a 9:27 meeting: sit down at 9:26.
    desk = Clocked(meetings((at(0, 9, 27), at(0, 9, 55))))
    desk.run_until(at(0, 9, 21))
    assert desk.state.owed_s == 4 * 60  # the 4 minutes the meeting cuts off, made up later
    desk.run_until(at(0, 10))
    assert prompts(desk)[:2] == [at(0, 9, 20), at(0, 9, 26)]
    # Standing due at 9:20 with a meeting at 9:24: too short a bout; stand up after it.
    desk = Clocked(meetings((at(0, 9, 24), at(0, 9, 40))))
    desk.run_until(at(0, 9, 50))
    assert postponed(desk) == [(at(0, 9, 20), "a meeting until 09:40")]
    assert prompts(desk) == [at(0, 9, 40)]


def test_do_not_disturb_holds_a_change_until_it_is_turned_off() -> None:
    quiet = [False]
    desk = Clocked(Settings(rhythm=STARTER, do_not_disturb=lambda: quiet[0]))
    desk.run_until(at(0, 9, 10))
    quiet[0] = True
    desk.run_until(at(0, 11))
    assert postponed(desk) == [(at(0, 9, 20), "do not disturb")]
    assert prompts(desk) == []
    # Waiting for an unknown end means no wakes but the end of working time.
    assert desk.state.next_wake == at(0, 12, 30)
    assert desk.state.phase is Phase.AT_DESK
    quiet[0] = False
    desk.now = at(0, 11, 5)
    desk.step(Tick())  # what the desktop's signal turns into
    assert prompts(desk) == [at(0, 11, 5)]
    assert desk.state.postponed_at is None


def test_a_meeting_past_the_end_of_work_leaves_the_change_for_tomorrow() -> None:
    desk = Clocked(meetings((at(0, 17, 0), at(0, 18, 30))))
    desk.run_until(at(1, 9, 1))
    late = [t for t in prompts(desk) if at(0, 17) <= t < at(1, 9)]
    assert late == []
    assert postponed(desk)[-1][1] == "a meeting until 18:30"
    assert desk.state.phase is Phase.AT_DESK
    assert desk.state.postponed_at is None


def test_the_days_plan_shows_changes_after_meetings() -> None:
    desk = Clocked(meetings((at(0, 9, 15), at(0, 9, 45))))
    desk.now = at(0, 9)
    desk.step(Tick())
    bouts = desk.engine.plan(desk.state, at(0, 9), at(0, 10, 30))
    assert [(p, start) for p, start, _ in bouts[:3]] == [
        (Posture.SIT, at(0, 9)),
        (Posture.STAND, at(0, 9, 45)),
        (Posture.SIT, at(0, 9, 55)),
    ]


# -- a month with a realistic calendar ---------------------------------------------------------

MONTH = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//deskctl tests//EN
BEGIN:VEVENT
UID:standup
SUMMARY:Daily stand-up
DTSTART;TZID=Europe/Berlin:20261123T093000
DTEND;TZID=Europe/Berlin:20261123T094500
RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR
EXDATE;TZID=Europe/Berlin:20261204T093000
END:VEVENT
BEGIN:VEVENT
UID:standup
RECURRENCE-ID;TZID=Europe/Berlin:20261202T093000
SUMMARY:Daily stand-up (late)
DTSTART;TZID=Europe/Berlin:20261202T101000
DTEND;TZID=Europe/Berlin:20261202T102500
END:VEVENT
BEGIN:VEVENT
UID:team
SUMMARY:Team meeting
DTSTART;TZID=Europe/Berlin:20261124T140000
DTEND;TZID=Europe/Berlin:20261124T150000
RRULE:FREQ=WEEKLY;BYDAY=TU
END:VEVENT
BEGIN:VEVENT
UID:planning
SUMMARY:Planning
DTSTART:20261126T090000Z
DTEND:20261126T110000Z
RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH
END:VEVENT
BEGIN:VEVENT
UID:one-on-one
SUMMARY:One-on-one
DTSTART:20261125T160000
DTEND:20261125T163000
RRULE:FREQ=WEEKLY;BYDAY=WE
END:VEVENT
BEGIN:VEVENT
UID:workshop
SUMMARY:Workshop
DTSTART;TZID=Europe/Berlin:20261209T130000
DTEND;TZID=Europe/Berlin:20261209T163000
END:VEVENT
BEGIN:VEVENT
UID:review
SUMMARY:Design review, back to back with the team meeting
DTSTART;TZID=Europe/Berlin:20261201T150000
DTEND;TZID=Europe/Berlin:20261201T153000
END:VEVENT
BEGIN:VEVENT
UID:focus
SUMMARY:Focus time
DTSTART;TZID=Europe/Berlin:20261123T130000
DTEND;TZID=Europe/Berlin:20261123T170000
RRULE:FREQ=DAILY;COUNT=30
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
UID:offsite
SUMMARY:Offsite (all day)
DTSTART;VALUE=DATE:20261211
DTEND;VALUE=DATE:20261212
END:VEVENT
BEGIN:VEVENT
UID:cancelled
SUMMARY:Cancelled retro
DTSTART;TZID=Europe/Berlin:20261127T100000
DTEND;TZID=Europe/Berlin:20261127T120000
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
"""


@pytest.mark.parametrize("nudges_mm", [{}, {"stand": 15.0}], ids=["as-set", "nudging-up"])
def test_a_month_of_meetings_no_prompt_in_one_changes_at_their_end_goal_met(
    tmp_path: Path, nudges_mm: dict[str, float]
) -> None:
    path = tmp_path / "work.ics"
    path.write_text(MONTH)
    said: list[str] = []
    calendars = Calendars([str(path)], zone=BERLIN, cache_dir=tmp_path, warn=said.append)
    start = dt.datetime(2026, 11, 23, tzinfo=BERLIN)
    settings = Settings(rhythm=Rhythm(started=start.date()), timezone=BERLIN, meetings=calendars)
    # Someone who takes every change when asked, never away: the goal is theirs to meet.
    # The second also fine-tunes the standing height 1.5 cm up after every stand.
    person = Person(
        confirm=1.0,
        snooze=0,
        skip=0,
        hand_moves_per_day=0,
        breaks_per_day=0,
        nudges_mm=nudges_mm,
    )
    heights = (720.0, 1100.0)
    simulation = Simulation(Engine(settings), start.timestamp(), 28, person, heights=heights)
    simulation.run()
    if nudges_mm:
        assert simulation.first_suggestion is not None
        when, suggestion = simulation.first_suggestion
        assert when - start.timestamp() <= 7 * 86400
        assert suggestion.posture == "stand"
        assert suggestion.change_mm == pytest.approx(15.0, abs=3.0)
    else:
        assert simulation.first_suggestion is None
    history = simulation.history
    busy = Busy(tuple(calendars.intervals(start.timestamp(), start.timestamp() + 29 * 86400)))
    assert len(busy.intervals) >= 30
    assert said == []

    prompted = [t for t, _, what, _ in history.events(0, 2e9, "transition") if what == "prompted"]
    assert prompted
    assert not [t for t in prompted if busy.until(t) is not None]

    days = [start.date() + dt.timedelta(days=n) for n in range(28)]
    waits = [w for day in days for w in postponed_changes(history, day, BERLIN)]
    assert len(waits) >= 10
    for wait in waits:
        ends = busy.until(wait.due)
        assert ends is not None
        if wait.asked is None:  # working time ended first: nothing waits overnight
            assert dt.datetime.fromtimestamp(ends, BERLIN).time() >= dt.time(17, 30)
        else:
            assert ends <= wait.asked <= ends + 120, wait

    for stats in simulation.stats():
        if stats.day.weekday() < 5:
            assert stats.goal_met, stats

    # The schedule never has anyone stand through a meeting: no standing bout it asked for
    # goes beyond the cap of an hour.  (A raised desk at the start of work, as a meeting
    # begins, stays raised: nothing interrupts a meeting.)
    postures = [(t, what, why) for t, _, what, why in history.events(0, 2e9, "posture")]
    stood = [b[0] - a[0] for a, b in itertools.pairwise(postures) if a[1:] == ("stand", "prompt")]
    assert max(stood) <= 3600


def test_run_says_a_change_waits_for_a_meeting_or_for_do_not_disturb() -> None:
    from test_run_view import Terminal

    terminal = Terminal()
    quiet = [False]
    terminal.engine = Engine(
        dataclasses.replace(
            terminal.engine.settings,
            meetings=Busy(((at(0, 9, 15), at(0, 9, 45)),)),
            do_not_disturb=lambda: quiet[0],
        )
    )
    terminal.now = at(0, 9)
    terminal.step(Tick())
    terminal.now = at(0, 9, 20)
    terminal.step(Tick())
    assert terminal.lines[-1] == "09:20 sitting; next change (stand up) at 09:45, after a meeting"
    quiet[0] = True
    terminal.now = at(0, 9, 45)
    terminal.step(Tick())
    assert terminal.lines[-1] == "09:45 sitting; the next change waits until do not disturb is off"
