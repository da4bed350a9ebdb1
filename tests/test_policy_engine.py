"""The sit/stand engine on fake time: whole days and weeks in milliseconds, no sleeps."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable

import pytest

from deskctl.policy.engine import (
    Action,
    Activity,
    Arrived,
    Away,
    Confirm,
    DeskMoved,
    Engine,
    Event,
    Faulted,
    Move,
    MoveFailed,
    Phase,
    Prompt,
    Rearmed,
    Record,
    Settings,
    ShowExercise,
    Skip,
    Snooze,
    State,
    Tick,
)
from deskctl.policy.exercises import Posture, library
from deskctl.policy.schedule import Rhythm, WorkingHours

MONDAY = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)  # a Monday
# Someone who started that Monday: a standing goal of 2 hours, 8-minute standing bouts.
STARTER = Rhythm(started=MONDAY.date())


def at(day: int, hour: int, minute: int = 0) -> float:
    return (MONDAY + dt.timedelta(days=day, hours=hour, minutes=minute)).timestamp()


class Clocked:
    """The engine with a person and a desk around it, on fake time."""

    def __init__(self, settings: Settings | None = None, start: float = at(0, 8)) -> None:
        self.engine = Engine(settings or Settings(rhythm=STARTER))
        self.state = State()
        self.now = start
        self.log: list[tuple[float, Action]] = []
        # The person: what they do with a prompt (None ignores it).
        self.answer: Callable[[Prompt], Event | None] = lambda _: Confirm()
        self.step(Tick())

    def step(self, event: Event) -> list[Action]:
        self.state, actions = self.engine.step(self.state, event, self.now)
        self.log += [(self.now, action) for action in actions]
        for action in actions:
            if isinstance(action, Prompt) and not action.auto:
                reply = self.answer(action)
                if reply is not None:
                    actions += self.step(reply)
            elif isinstance(action, Move):
                actions += self.step(Arrived(action.target))  # the desk does as asked
        return actions

    def run_until(self, end: float) -> None:
        while (wake := self.state.next_wake) is not None and wake <= end:
            self.now = max(self.now, wake)
            self.step(Tick())
        self.now = end

    # Read through calls: a type checker would keep its narrowing from an earlier assert.
    def posture(self) -> Posture:
        return self.state.posture

    def phase(self) -> Phase:
        return self.state.phase

    def of(self, kind: type[Action]) -> list[tuple[float, Action]]:
        return [(t, a) for t, a in self.log if isinstance(a, kind)]

    def records(self, kind: str, what: str | None = None) -> list[Record]:
        return [
            a
            for _, a in self.log
            if isinstance(a, Record) and a.kind == kind and (what is None or a.what == what)
        ]


def local_time(t: float) -> dt.time:
    return dt.datetime.fromtimestamp(t, dt.UTC).time()


def test_a_workday_alternates_within_working_hours_only() -> None:
    desk = Clocked()
    desk.run_until(at(0, 23))
    moves = desk.of(Move)
    assert moves
    for t, _ in moves:
        clock = local_time(t)
        assert dt.time(9) <= clock < dt.time(17, 30)
        assert not dt.time(12, 30) <= clock < dt.time(13, 30)  # lunch
    targets = [m.target for _, m in moves if isinstance(m, Move)]
    assert all(a is not b for a, b in itertools.pairwise(targets))  # alternating
    assert desk.state.phase is Phase.OFF
    # About one change per 14 min (20 min sitting, 8 standing) over 7.5 hours.
    assert 25 <= len(moves) <= 35


def test_every_change_is_paired_with_an_exercise_for_the_posture_entered() -> None:
    desk = Clocked()
    desk.run_until(at(0, 17, 30))
    shown = desk.of(ShowExercise)
    assert len(shown) == len(desk.of(Move))
    postures = iter(m.target for _, m in desk.of(Move) if isinstance(m, Move))
    for _, action in shown:
        assert isinstance(action, ShowExercise)
        exercise = library().get(action.exercise_id)
        assert exercise is not None
        assert exercise.suits(next(postures))


def test_a_week_with_snoozes_and_skips() -> None:
    desk = Clocked()
    count = 0

    def person(prompt: Prompt) -> Event:
        nonlocal count
        count += 1
        if count % 5 == 0:
            return Skip()
        if count % 3 == 0 and prompt.snoozes_left:
            return Snooze()
        return Confirm()

    desk.answer = person
    desk.run_until(at(7, 8))
    assert len(desk.records("transition", "skipped")) >= 20
    assert len(desk.records("transition", "snoozed")) >= 20
    days_with_moves = {dt.datetime.fromtimestamp(t, dt.UTC).weekday() for t, _ in desk.of(Move)}
    assert days_with_moves == {0, 1, 2, 3, 4}  # the weekend stays quiet


def test_snoozes_are_bounded_and_paid_back() -> None:
    desk = Clocked()
    desk.answer = lambda _: None  # the person only reacts when the test says so
    desk.run_until(at(0, 9, 20))
    assert desk.state.phase is Phase.PROMPT
    desk.step(Snooze())
    assert desk.state.due == desk.now + 300
    desk.run_until(desk.state.due or 0)
    desk.step(Snooze())
    desk.run_until(desk.state.due or 0)
    assert desk.state.phase is Phase.PROMPT
    assert [p.snoozes_left for _, p in desk.of(Prompt) if isinstance(p, Prompt)] == [2, 1, 0]
    notes = desk.step(Snooze())  # a third one is refused
    assert any("no snoozes left" in getattr(a, "text", "") for a in notes)
    desk.step(Confirm())
    assert desk.state.posture is Posture.STAND
    desk.run_until(desk.state.due or 0)
    desk.step(Confirm())  # back to sitting: that bout pays for the two snoozes
    sat_down = desk.now
    assert desk.state.due == pytest.approx(sat_down + 20 * 60 - 10 * 60)


def test_a_manual_move_is_followed_not_fought() -> None:
    desk = Clocked()
    desk.answer = lambda _: None
    desk.run_until(at(0, 9, 5))
    assert desk.state.posture is Posture.SIT
    desk.step(DeskMoved(Posture.STAND))  # the handset
    assert desk.posture() is Posture.STAND
    assert desk.state.since == desk.now
    assert desk.state.due is not None
    assert desk.state.due - desk.now == pytest.approx(STARTER.up_bout_s)
    assert not desk.of(Move)
    assert desk.records("posture", "stand")[-1].detail == "manual"
    # A hand move to what a prompt asked for counts as doing it, exercise and all.
    desk.run_until(desk.state.due or 0)
    assert desk.state.phase is Phase.PROMPT
    desk.step(DeskMoved(Posture.SIT))
    assert desk.records("transition", "confirmed")[-1].what == "confirmed"
    assert desk.of(ShowExercise)


def auto(**changes: object) -> Settings:
    return dataclasses.replace(Settings(rhythm=STARTER, auto_move=True), **changes)  # type: ignore[arg-type]


def test_an_absent_person_is_never_moved() -> None:
    desk = Clocked(auto())
    desk.run_until(at(0, 17))
    assert not desk.of(Move)
    assert desk.state.phase is Phase.AWAY
    assert desk.records("transition", "lapsed")[0].detail == "nobody at the desk"


def test_automatic_moves_need_recent_activity() -> None:
    desk = Clocked(auto())
    desk.run_until(
        at(
            0,
            9,
            19,
        )
    )
    desk.step(Activity())
    desk.run_until(at(0, 9, 21))  # the countdown runs out with the person there
    assert [m.target for _, m in desk.of(Move) if isinstance(m, Move)] == [Posture.STAND]
    assert desk.records("transition", "automatic")
    # Next time they went quiet long before the countdown ends: nothing moves.
    desk.run_until(at(0, 9, 40))
    assert len(desk.of(Move)) == 1
    assert desk.state.phase is Phase.AWAY


def test_any_answer_during_the_countdown_cancels_the_automatic_move() -> None:
    desk = Clocked(auto())
    desk.run_until(at(0, 9, 19))
    desk.step(Activity())
    desk.run_until(
        at(
            0,
            9,
            20,
        )
    )
    assert desk.state.phase is Phase.PROMPT
    desk.step(Skip())
    desk.run_until(at(0, 9, 21))
    assert not desk.of(Move)


def test_a_collision_blocks_everything_until_the_person_acts() -> None:
    desk = Clocked()
    desk.run_until(at(0, 10))
    moves = len(desk.of(Move))
    desk.step(Faulted("the desk hit something"))
    desk.run_until(at(0, 12))
    assert len(desk.of(Move)) == moves
    assert desk.state.phase is Phase.BLOCKED
    desk.step(Confirm())
    assert len(desk.of(Move)) == moves
    desk.step(Rearmed())
    desk.run_until(at(0, 12, 29))
    assert len(desk.of(Move)) > moves


def test_a_move_refused_by_the_duty_cycle_is_not_retried_at_once() -> None:
    desk = Clocked()
    desk.answer = lambda _: None
    desk.run_until(at(0, 9, 20))
    desk.state, _ = desk.engine.step(desk.state, Confirm(), desk.now)
    assert desk.state.phase is Phase.MOVING
    desk.step(MoveFailed("the motor must rest 15 min"))
    assert desk.phase() is Phase.AT_DESK
    assert desk.state.due == desk.now + Settings().retry_s
    assert desk.records("move", "failed")


def test_standing_is_capped_per_bout_and_per_day() -> None:
    keen = Rhythm(sit_s=5 * 60, stand_s=50 * 60, goal_start_s=6 * 3600, goal_target_s=6 * 3600)
    desk = Clocked(Settings(rhythm=keen, min_bout_s=60))
    desk.run_until(at(0, 18))
    bouts = []
    standing_from = None
    for t, action in desk.log:
        if isinstance(action, Record) and action.kind == "posture":
            if standing_from is not None:
                bouts.append(t - standing_from)
            standing_from = t if action.what == "stand" else None
    assert max(bouts) <= 60 * 60
    assert sum(bouts) <= 4 * 3600
    assert desk.records("transition", "capped")


def test_the_goal_ramps_from_two_hours_towards_four() -> None:
    rhythm = Rhythm(started=dt.date(2026, 11, 2))
    assert rhythm.goal_s(dt.date(2026, 11, 2)) == 2 * 3600
    assert rhythm.goal_s(dt.date(2026, 11, 16)) == 3 * 3600
    assert rhythm.goal_s(dt.date(2026, 11, 30)) == 4 * 3600
    assert rhythm.goal_s(dt.date(2027, 3, 1)) == 4 * 3600
    # The bouts keep the rhythm's proportions whatever the goal: 20 sitting, 8 + 2 up.
    assert rhythm.up_bout_s == 10 * 60
    assert rhythm.bout_s(standing=False) == 20 * 60


def test_the_goal_is_capped_at_what_the_working_hours_allow() -> None:
    settings = Settings(rhythm=Rhythm(started=dt.date(2026, 11, 2)))
    monday, saturday = dt.date(2026, 11, 30), dt.date(2026, 12, 5)
    assert settings.rhythm.goal_s(monday) == 4 * 3600  # the ramp's end ...
    # ... but 7.5 working hours at 20 / 8 / 2 hold about 2.5 hours up, less the changes.
    assert 2 * 3600 + 20 * 60 < settings.goal_s(monday) <= 2.5 * 3600
    assert settings.goal_s(saturday) == 0  # a day off has no goal
    short_day = dataclasses.replace(settings, hours=WorkingHours({0: ((9 * 60, 10 * 60),)}))
    assert short_day.goal_s(monday) <= 20 * 60


def test_time_away_is_a_natural_break() -> None:
    desk = Clocked()
    desk.answer = lambda _: None
    desk.run_until(at(0, 9, 10))
    desk.step(Away())
    desk.run_until(at(0, 9, 25))
    assert not desk.of(Prompt)  # nobody to ask
    desk.step(Activity())
    assert desk.state.due == desk.now + STARTER.sit_s  # the cycle starts afresh
    desk.step(Away())
    desk.now += 60
    desk.step(Activity())  # a minute away is no break: the bout carries on
    assert desk.state.due == at(0, 9, 25) + STARTER.sit_s + 60


def test_the_picker_matches_posture_focus_and_avoids_repeats() -> None:
    exercises = library()
    assert len(exercises.exercises) >= 12
    seated = exercises.pick(Posture.SIT)
    assert seated is not None
    assert seated.suits(Posture.SIT)
    neck = exercises.pick(Posture.STAND, focus=["neck"])
    assert neck is not None
    assert "neck" in neck.areas
    recent: list[str] = []
    for _ in range(5):
        chosen = exercises.pick(Posture.STAND, recent=recent, longest_s=60)
        assert chosen is not None
        assert chosen.id not in recent
        assert chosen.duration_s <= 60
        recent.append(chosen.id)
    skipped = exercises.pick(
        Posture.SIT, skip=[e.id for e in exercises.exercises if e.id != "chin-tuck"]
    )
    assert skipped is not None
    assert skipped.id == "chin-tuck"


def test_working_hours_with_several_ranges() -> None:
    hours = WorkingHours({0: ((8 * 60, 10 * 60), (14 * 60, 16 * 60))})
    monday_noon = MONDAY.replace(hour=12)
    assert hours.range_at(monday_noon) is None
    assert hours.next_start(monday_noon) == MONDAY.replace(hour=14)
    assert hours.next_start(MONDAY.replace(hour=17)) == MONDAY + dt.timedelta(days=7, hours=8)


def test_the_plan_for_the_rest_of_the_day_follows_the_rhythm_and_the_hours() -> None:
    desk = Clocked()
    desk.run_until(at(0, 9))
    plan = desk.engine.plan(desk.state, desk.now, at(0, 18))
    assert plan[0] == (Posture.SIT, at(0, 9), at(0, 9, 20))
    assert plan[1] == (Posture.STAND, at(0, 9, 20), at(0, 9, 30))  # 8 standing + 2 moving
    assert plan[2][0] is Posture.SIT
    assert all(not (at(0, 12, 30) <= start < at(0, 13, 30)) for _, start, _ in plan)  # lunch
    assert plan[-1][2] == at(0, 17, 30)
    standing = sum(end - start for posture, start, end in plan if posture is Posture.STAND)
    assert standing >= Settings(rhythm=STARTER).goal_s(MONDAY.date())


def test_a_compliant_person_meets_the_goal_every_working_day_for_30_days() -> None:
    from deskctl.policy.simulate import Person, Simulation

    compliant = Person(confirm=1.0, snooze=0.0, skip=0.0, hand_moves_per_day=0, breaks_per_day=0)
    engine = Engine(Settings(rhythm=Rhythm(started=MONDAY.date())))
    simulation = Simulation(engine, MONDAY.timestamp(), 30, compliant)
    simulation.run()
    days = simulation.stats()
    working = [day for day in days if day.day.weekday() < 5]
    assert len(working) == 22
    assert all(day.goal_met for day in working), [
        (day.day, day.standing_s / 60, day.goal_s / 60) for day in working if not day.goal_met
    ]
    assert working[-1].goal_s >= 2 * 3600 + 20 * 60  # the ramp reached the cap
    assert all(day.goal_s == 0 for day in days if day.day.weekday() >= 5)


def test_the_library_follows_the_seed_articles() -> None:
    exercises = library()
    lat = exercises.get("seated-lat-stretch")
    assert lat is not None
    assert lat.suits(Posture.SIT)
    assert "below the armpit" in " ".join(lat.steps)
    strength = exercises.get("standing-w-raise")
    assert strength is not None
    assert strength.intensity == "moderate"
    assert "upper-back" in strength.areas
    arch = exercises.get("seated-back-arch")
    assert arch is not None
    assert "over the top" not in " ".join(arch.steps)  # a high backrest has no top to go over
    assert "against the backrest" in arch.steps[1]
    prayer = exercises.get("standing-prayer-stretch")
    assert prayer is not None
    assert "keeping your knees and back straight" in " ".join(prayer.steps)
