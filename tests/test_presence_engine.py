"""What the engine does with presence from the desktop: a locked screen, an idle time."""

from __future__ import annotations

from test_policy_engine import STARTER, Clocked, at

from deskctl.policy.engine import Activity, Away, Locked, Phase, Prompt, Record


def phase(desk: Clocked) -> Phase:
    """Read through a call: a type checker would keep its narrowing from an earlier assert."""
    return desk.state.phase


def test_a_locked_screen_is_away_at_once_and_a_break_however_short() -> None:
    desk = Clocked()
    desk.answer = lambda _: None
    desk.run_until(at(0, 9, 10))
    desk.step(Locked())
    assert phase(desk) is Phase.AWAY
    assert desk.state.last_activity is None  # nobody is at a locked screen
    assert ("posture", "away") in [(a.kind, a.what) for _, a in desk.log if isinstance(a, Record)]
    desk.now += 60
    desk.step(Activity())  # unlocked a minute later: they got up, so the cycle starts afresh
    assert phase(desk) is Phase.AT_DESK
    assert desk.state.due == desk.now + STARTER.sit_s
    desk.step(Away())
    desk.now += 60
    desk.step(Activity())  # a minute idle without a lock is still no break
    assert desk.state.due == at(0, 9, 11) + STARTER.sit_s + 60


def test_a_lock_during_a_prompt_ends_it_as_away() -> None:
    desk = Clocked()
    desk.answer = lambda _: None
    desk.run_until(at(0, 9, 20))
    assert phase(desk) is Phase.PROMPT
    desk.step(Locked())
    assert phase(desk) is Phase.AWAY
    assert desk.state.outcome == "away"
    asked = len(desk.of(Prompt))
    desk.run_until(at(0, 10))
    assert len(desk.of(Prompt)) == asked  # nobody to ask while locked


def test_idle_reported_late_counts_from_when_the_person_left() -> None:
    desk = Clocked()
    desk.answer = lambda _: None
    desk.run_until(at(0, 9, 15))
    desk.step(Away(since=at(0, 9, 10)))  # the desktop says so after its idle delay
    assert desk.state.away_since == at(0, 9, 10)
    desk.now = at(0, 9, 15) + 30
    desk.step(Activity())  # five and a half minutes gone: a natural break
    assert desk.state.due == desk.now + STARTER.sit_s
