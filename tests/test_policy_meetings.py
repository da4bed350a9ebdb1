"""Meetings in the engine, on fake time: a change that falls in one is postponed to its
end (not dropped), nothing is asked or moved during it, and the day goes on from there."""

from __future__ import annotations

import dataclasses

from test_policy_engine import STARTER, Clocked, at

from deskctl.policy.engine import Activity, Move, Phase, Prompt, Record, Settings, Tick
from deskctl.policy.exercises import Posture
from deskctl.policy.meetings import Busy


def meetings(*spans: tuple[float, float]) -> Settings:
    return Settings(rhythm=STARTER, busy_until=Busy(spans).until)


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
    # the standing the meeting took: a third of its 25 minutes (10 of every 30) on top of
    # the bout's 8 + 2 minutes.
    up = (10 + 25 / 3) * 60
    assert prompts(desk)[:3] == [at(0, 9, 45), at(0, 9, 45) + up, at(0, 10, 5) + up]
    stands = [t for t, a in desk.log if isinstance(a, Record) and a.what == "stand"]
    assert stands[:2] == [at(0, 9, 45), at(0, 10, 5) + up]
    assert desk.state.owed_s == 0.0


def test_back_to_back_meetings_are_waited_out_together() -> None:
    desk = Clocked(meetings((at(0, 9, 15), at(0, 9, 45)), (at(0, 9, 45), at(0, 10, 30))))
    desk.run_until(at(0, 11))
    assert postponed(desk) == [(at(0, 9, 20), "a meeting until 10:30")]
    assert prompts(desk)[0] == at(0, 10, 30)


def test_an_automatic_move_never_starts_in_a_meeting() -> None:
    settings = dataclasses.replace(
        meetings((at(0, 9, 20) + 15, at(0, 10))), auto_move=True, countdown_s=30.0
    )
    desk = Clocked(settings)
    desk.run_until(at(0, 9, 19))
    desk.step(Activity())  # at the keyboard
    desk.run_until(at(0, 9, 21))
    # Asked at 9:20 (free); the warning ran out at 9:20:30, inside the meeting.
    assert prompts(desk) == [at(0, 9, 20)]
    assert not [a for _, a in desk.log if isinstance(a, Move)]
    assert postponed(desk) == [(at(0, 9, 20) + 30, "a meeting until 10:00")]
    desk.now = at(0, 9, 59)
    desk.step(Activity())
    desk.run_until(at(0, 10, 1))
    assert prompts(desk)[-1] == at(0, 10)
    moves = [t for t, a in desk.log if isinstance(a, Move)]
    assert moves == [at(0, 10) + 30]  # within 2 minutes of the meeting's end
    assert desk.posture() is Posture.STAND


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
