"""The engine bound to a real (simulated) desk and a history, on virtual time."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from deskctl.clock import EpochClock
from deskctl.drivers.sim import SimDesk
from deskctl.errors import Collision
from deskctl.history import History
from deskctl.physics import MotorParams
from deskctl.policy.engine import (
    Action,
    Confirm,
    Engine,
    Move,
    Phase,
    Prompt,
    Settings,
    ShowExercise,
)
from deskctl.policy.exercises import Posture
from deskctl.policy.runner import Heights, Runner
from deskctl.policy.schedule import Rhythm
from deskctl.vtime import elapse, run_virtual

MONDAY_0855 = dt.datetime(2026, 11, 23, 8, 55, tzinfo=dt.UTC).timestamp()
HEIGHTS = Heights(sit_mm=720.0, stand_mm=1100.0)


@dataclasses.dataclass
class Person:
    """Answers every prompt with ``answer`` and keeps what was shown."""

    runner: Runner | None = None
    answer: bool = True
    seen: list[Action] = dataclasses.field(default_factory=list)

    def __call__(self, action: Action) -> None:
        self.seen.append(action)
        if isinstance(action, Prompt) and self.answer and self.runner is not None:
            self.runner.tell(Confirm())


@asynccontextmanager
async def running(
    desk: SimDesk, settings: Settings | None = None
) -> AsyncIterator[tuple[Runner, Person, History]]:
    person = Person()
    history = History(":memory:")
    engine = Engine(settings or Settings(rhythm=Rhythm(started=dt.date(2026, 11, 23))))
    clock = EpochClock(offset=MONDAY_0855 - asyncio.get_running_loop().time())
    async with desk:
        runner = Runner(desk, engine, history, heights=HEIGHTS, show=person, clock=clock)
        person.runner = runner
        task = asyncio.create_task(runner.run())
        try:
            yield runner, person, history
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


def sim_desk(**physics: float) -> SimDesk:
    return SimDesk("office", MotorParams(**physics), state_file=None)


def test_a_confirmed_prompt_moves_the_desk_and_shows_an_exercise() -> None:
    async def scenario() -> None:
        async with running(sim_desk()) as (runner, person, history):
            await elapse(26 * 60)  # work starts at 09:00, the first bout is 20 min
            assert [a.target for a in person.seen if isinstance(a, Move)] == [Posture.STAND]
            assert runner.desk.state.height_mm == pytest.approx(HEIGHTS.stand_mm, abs=1)
            assert any(isinstance(a, ShowExercise) for a in person.seen)
            postures = history.events(0, 2e9, "posture")
            assert [what for _, _, what, _ in postures] == ["sit", "stand"]

    run_virtual(scenario())


def test_a_hand_move_is_followed_and_nothing_moves_while_nobody_answers() -> None:
    async def scenario() -> None:
        async with running(sim_desk()) as (runner, person, history):
            person.answer = False
            await elapse(10 * 60)
            await runner.desk.move_to(HEIGHTS.stand_mm)  # the handset
            await elapse(1.0)
            assert runner.state.posture is Posture.STAND
            assert history.events(0, 2e9, "posture")[-1][3] == "manual"
            await elapse(60 * 60)
            assert not [a for a in person.seen if isinstance(a, Move)]
            assert runner.desk.state.height_mm == pytest.approx(HEIGHTS.stand_mm, abs=1)

    run_virtual(scenario())


def test_a_collision_blocks_the_schedule_until_the_desk_is_stopped() -> None:
    async def scenario() -> None:
        async with running(sim_desk(), Settings(rhythm=Rhythm(started=dt.date(2026, 11, 23)))) as (
            runner,
            person,
            _,
        ):
            desk = runner.desk
            assert isinstance(desk, SimDesk)
            desk.model.obstacle_mm = 900.0
            await elapse(26 * 60)
            assert runner.state.phase is Phase.BLOCKED
            with pytest.raises(Collision):
                await desk.move_to(1000.0)
            moves = len([a for a in person.seen if isinstance(a, Move)])
            await elapse(60 * 60)
            assert len([a for a in person.seen if isinstance(a, Move)]) == moves
            desk.model.obstacle_mm = None
            await desk.stop()  # the person clears it
            await elapse(1.0)
            assert runner.state.phase is not Phase.BLOCKED

    run_virtual(scenario())
