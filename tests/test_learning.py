"""Heights that learn from the hands: the rule, the recording of fine-tunes (on a desk on
virtual time, in direct mode and through the agent), ``deskctl profile suggest`` and the
simulated month."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskctl.clock import EpochClock
from deskctl.drivers.jiecang_emulator import JiecangEmulator
from deskctl.drivers.sim import SimDesk
from deskctl.history import History
from deskctl.paths import Paths
from deskctl.physics import MotorParams
from deskctl.policy.engine import Confirm, Engine, Prompt, Settings
from deskctl.policy.learning import Adjustment, suggest
from deskctl.policy.prefs import settings_for
from deskctl.policy.runner import Heights, Runner
from deskctl.policy.schedule import Rhythm
from deskctl.policy.simulate import Person, Simulation
from deskctl.policy.tuning import WINDOW_S, Tuner, watch
from deskctl.vtime import elapse, run_virtual

DESKCTL = str(Path(sys.executable).with_name("deskctl"))
MONDAY_0855 = dt.datetime(2026, 11, 23, 8, 55, tzinfo=dt.UTC).timestamp()
HEIGHTS = Heights(sit_mm=720.0, stand_mm=1100.0)
LIMITS = (620.0, 1270.0)


def adjustment(n: int, delta: float, target: float = 1100.0, posture: str = "stand") -> Adjustment:
    return Adjustment(n, 1000.0 + n, "sim://x", "ana", posture, "schedule", target, target + delta)


# -- the rule -------------------------------------------------------------------------------

deltas = st.lists(st.floats(-60, 60, allow_nan=False), min_size=0, max_size=12)


@given(deltas)
def test_a_suggestion_follows_three_of_the_last_five_going_one_way(values: list[float]) -> None:
    found = suggest(
        [adjustment(n, d) for n, d in enumerate(values)],
        posture="stand",
        current_mm=1100.0,
        limits=LIMITS,
    )
    last = values[-5:]
    up = [d for d in last if d >= 5]
    down = [d for d in last if d <= -5]
    if len(up) < 3 and len(down) < 3:
        assert found is None
        return
    consistent = up if len(up) >= 3 else down
    typical = statistics.median(consistent)
    assert found is not None
    assert found.typical_mm == pytest.approx(typical)
    assert found.suggested_mm == pytest.approx(min(1270, max(620, 1100 + typical)), abs=0.05)
    assert sorted(a.delta_mm for a in found.evidence) == pytest.approx(sorted(consistent))
    assert LIMITS[0] <= found.suggested_mm <= LIMITS[1]


@given(st.lists(st.floats(5, 40, allow_nan=False), min_size=3, max_size=5))
def test_answered_evidence_and_other_heights_say_nothing(values: list[float]) -> None:
    made = [adjustment(n, d) for n, d in enumerate(values)]
    found = suggest(made, posture="stand", current_mm=1100.0, limits=LIMITS)
    assert found is not None
    again = suggest(
        made, posture="stand", current_mm=1100.0, limits=LIMITS, answered=found.evidence_ids
    )
    assert again is None  # the same evidence never makes a suggestion twice
    # Made from another height (the one before a change): nothing about this one.
    assert suggest(made, posture="stand", current_mm=1120.0, limits=LIMITS) is None
    assert suggest(made, posture="sit", current_mm=1100.0, limits=LIMITS) is None


def test_the_median_is_not_pulled_by_one_odd_nudge_and_the_limit_clamps() -> None:
    made = [adjustment(1, 15), adjustment(2, 16), adjustment(3, 90), adjustment(4, 14)]
    found = suggest(made, posture="stand", current_mm=1100.0, limits=LIMITS)
    assert found is not None
    assert found.suggested_mm == 1115.5
    near_top = suggest(made, posture="stand", current_mm=1100.0, limits=(620.0, 1108.0))
    assert near_top is not None
    assert near_top.suggested_mm == 1108.0


# -- recording, on a desk on virtual time -----------------------------------------------------


def _confirming(runner_box: list[Runner]) -> Any:
    def show(action: object) -> None:
        if isinstance(action, Prompt):
            runner_box[0].tell(Confirm())

    return show


def test_a_fine_tune_soon_after_a_scheduled_stand_is_recorded_a_late_or_big_one_not() -> None:
    async def scenario() -> list[Adjustment]:
        history = History(":memory:")
        desk = SimDesk("office", MotorParams(), state_file=None)
        clock = EpochClock(offset=MONDAY_0855 - asyncio.get_running_loop().time())
        engine = Engine(Settings(rhythm=Rhythm(started=dt.date(2026, 11, 23))))
        box: list[Runner] = []
        async with desk:
            tuner = Tuner(lambda: history, "sim://office", clock.now)
            watching = asyncio.create_task(watch(desk, tuner))
            runner = Runner(
                desk, engine, history, heights=HEIGHTS, show=_confirming(box), clock=clock,
                tuner=tuner, profile="ana",
            )  # fmt: skip
            box.append(runner)
            running = asyncio.create_task(runner.run())
            await elapse(26 * 60)  # 09:20 the prompt, confirmed: the desk stands
            assert desk.state.height_mm == pytest.approx(1100.0, abs=1)
            await elapse(60)
            await desk.move_to(1115.0)  # the hand, a minute later: +15 mm
            assert len(history.adjustments()) == 1
            await elapse(WINDOW_S)
            await desk.move_to(1125.0)  # after the window: no longer a fine-tune
            assert len(history.adjustments()) == 1
            await elapse(28 * 60)  # sat down (09:30) and stood up again (09:50)
            await desk.move_to(720.0)  # straight back down: a change of posture
            await elapse(60)
            running.cancel()
            watching.cancel()
            await asyncio.gather(running, watching, return_exceptions=True)
        return history.adjustments()

    made = run_virtual(scenario())
    assert [(a.posture, a.kind, a.target_mm, a.profile) for a in made] == [
        ("stand", "schedule", 1100.0, "ana")
    ]
    assert made[0].delta_mm == pytest.approx(15.0, abs=0.5)


def test_a_handset_nudge_after_the_schedules_stand_is_recorded_by_the_agent() -> None:
    from test_agent_faces import ALL_DAY, agent_here

    from deskctl.agent.followed import FollowedSchedule
    from deskctl.agent.launch import open_remote_desk

    async def scenario() -> None:
        emulator = JiecangEmulator()
        port = await emulator.start()
        url = f"jiecang://{port}"
        paths = Paths.from_env()
        try:
            async with agent_here(), open_remote_desk(url, paths) as desk:
                box: list[FollowedSchedule] = []

                def person(action: object) -> None:
                    if isinstance(action, Prompt):
                        box[0].tell(Confirm())

                schedule = FollowedSchedule(
                    desk, Engine(Settings()), heights=HEIGHTS, show=person, profile=None,
                    schedule=ALL_DAY,
                )  # fmt: skip
                box.append(schedule)
                following = asyncio.create_task(schedule.run())
                await elapse(25 * 60)
                assert desk.state.height_mm == pytest.approx(1100.0, abs=1.5)
                emulator.model.move_to(1115.0, emulator.clock.now())  # the handset
                emulator.loop.kick()
                await elapse(60)
                following.cancel()
        finally:
            await emulator.stop()

    run_virtual(scenario())
    history = History(Paths.from_env().data_dir / "history.sqlite3")
    made = history.adjustments()
    history.close()
    assert len(made) == 1
    assert (made[0].kind, made[0].posture, made[0].target_mm) == ("schedule", "stand", 1100.0)
    assert made[0].delta_mm == pytest.approx(15.0, abs=1.5)


def test_an_older_history_gains_the_new_tables_and_keeps_what_it_held(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE events (t REAL NOT NULL, kind TEXT NOT NULL, what TEXT NOT NULL, "
        "detail TEXT NOT NULL DEFAULT ''); INSERT INTO events VALUES (1.0, 'posture', 'sit', '');"
    )
    old.close()
    history = History(path)
    assert history.events(0, 10) == [(1.0, "posture", "sit", "")]
    assert history.adjustments() == []
    (version,) = history._db.execute("PRAGMA user_version").fetchone()
    history.close()
    assert version == 1


# -- the command line, as a user runs it ------------------------------------------------------


def deskctl(*args: str, agent: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if not agent:
        env["DESKCTL_NO_AGENT"] = "1"
    return subprocess.run(
        [DESKCTL, "--desk", "sim://learn?speed=200", *args],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip


def ok(*args: str, agent: bool = False) -> str:
    done = deskctl(*args, agent=agent)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("agent", [False, True], ids=["direct", "agent"])
def test_profile_suggest_lists_applies_and_never_repeats(agent: bool) -> None:
    ok("profile", "new", "ana", "--sit", "72cm", "--stand", "110cm", "--use")
    for _ in range(3):
        ok("stand", agent=agent)
        ok("up", "1.5cm", agent=agent)
        ok("sit", agent=agent)
    ok("down", "1cm", agent=agent)  # after a sit, but one is no pattern
    listed = json.loads(ok("--json", "profile", "suggest", agent=agent))
    assert [(s["posture"], s["suggested_mm"]) for s in listed["suggestions"]] == [("stand", 1115.0)]
    assert [e["delta_mm"] for e in listed["suggestions"][0]["evidence"]] == pytest.approx(
        [15.0] * 3, abs=0.5
    )
    assert "stand at 111.5 cm" in ok("stats")
    wrong = deskctl("profile", "suggest", "--apply", "2", agent=agent)
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("deskctl: no suggestion 2")
    applied = ok("profile", "suggest", "--apply", "1", agent=agent)
    assert "stand = 111.5 cm (was 110.0 cm)" in applied
    shown = json.loads(ok("--json", "profile", "show", "ana"))
    assert json.dumps(shown).count("1115") >= 1
    again = json.loads(ok("--json", "profile", "suggest", agent=agent))
    assert again["suggestions"] == []


def test_a_dismissed_suggestion_does_not_come_back_for_the_same_evidence() -> None:
    ok("profile", "new", "bo", "--sit", "72cm", "--stand", "110cm", "--use")
    for _ in range(3):
        ok("sit")
        ok("down", "2cm")
    assert "sit at 70.0 cm" in ok("profile", "suggest")
    ok("profile", "suggest", "--dismiss", "1")
    assert "no suggestions" in ok("profile", "suggest")
    assert 'sit = "72cm"' in (Paths.from_env().profiles_dir / "bo.toml").read_text()


# -- the target: a simulated month ------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_a_person_who_nudges_each_stand_gets_a_suggestion_in_the_first_week(seed: int) -> None:
    start = dt.datetime(2026, 11, 23, tzinfo=dt.UTC).timestamp()
    engine = Engine(settings_for(None, dt.date(2026, 11, 23)))
    person = Person(seed=seed, nudges_mm={"stand": 15.0})
    simulation = Simulation(engine, start, 30, person, heights=(720.0, 1100.0))
    simulation.run()
    assert simulation.first_suggestion is not None
    when, suggestion = simulation.first_suggestion
    assert when - start <= 7 * 86400
    assert suggestion.posture == "stand"
    assert suggestion.change_mm == pytest.approx(15.0, abs=3.0)


def test_simulate_shows_the_first_suggestion() -> None:
    out = ok("simulate", "--days", "30", "--start", "2026-11-23", "--nudge", "stand=+15mm")
    assert "first suggestion, Mon 23 Nov" in out
    bad = deskctl("simulate", "--nudge", "lean=5mm")
    assert bad.returncode == 2
    assert bad.stderr.startswith("deskctl: --nudge 'lean=5mm'")
