"""The schedule with presence from the desktop: a lock sends it away at once, a prompt
follows what D-Bus says of the person, and an automatic move needs them there.  The
schedule runs on virtual time; each exchange with the bus runs in real time."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from desktop_rig import fake_logind, fake_mutter, fake_screensaver
from test_agent_faces import ALL_DAY, agent_here

from deskctl.agent.followed import FollowedSchedule
from deskctl.agent.launch import open_remote_desk
from deskctl.agent.server import AgentSettings
from deskctl.clock import EpochClock
from deskctl.drivers.sim import SimDesk
from deskctl.history import History
from deskctl.paths import Paths
from deskctl.physics import MotorParams
from deskctl.policy.engine import Action, Engine, Move, Phase, Settings, State
from deskctl.policy.exercises import Posture
from deskctl.policy.runner import Heights, Runner
from deskctl.policy.schedule import Rhythm
from deskctl.vtime import elapse, real_time, run_virtual

MONDAY_0855 = dt.datetime(2026, 11, 23, 8, 55, tzinfo=dt.UTC).timestamp()
HEIGHTS = Heights(sit_mm=720.0, stand_mm=1100.0)
RHYTHM = Rhythm(started=dt.date(2026, 11, 23))
GUARD_S = 10.0
"""A guard only: every wait ends when the schedule takes the awaited step."""


class Steps:
    """The schedule's states as it takes them, to await one."""

    def __init__(self) -> None:
        self.state = State()
        self.changed = asyncio.Event()

    def __call__(self, state: State) -> None:
        self.state = state
        self.changed.set()

    async def until(self, wanted: Callable[[State], bool]) -> State:
        with real_time():
            async with asyncio.timeout(GUARD_S):
                while not wanted(self.state):
                    self.changed.clear()
                    await self.changed.wait()
        return self.state


@pytest.fixture
def system_bus(session_bus: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", session_bus)
    monkeypatch.setenv("XDG_SESSION_ID", "c2")
    monkeypatch.delenv("DISPLAY", raising=False)  # Wayland: no xprintidle to fall back on
    return session_bus


@asynccontextmanager
async def scheduled(
    presence: str, settings: Settings
) -> AsyncIterator[tuple[Runner, Steps, list[Action], History]]:
    steps, shown, history = Steps(), list[Action](), History(":memory:")
    clock = EpochClock(offset=MONDAY_0855 - asyncio.get_running_loop().time())
    desk = SimDesk("office", MotorParams(), state_file=None)
    async with desk:
        runner = Runner(
            desk,
            Engine(settings),
            history,
            heights=HEIGHTS,
            show=shown.append,
            clock=clock,
            presence=presence,
            stepped=steps,
        )
        task = asyncio.create_task(runner.run())
        with real_time():
            await runner.started.wait()
        try:
            yield runner, steps, shown, history
        finally:
            task.cancel()
            with real_time(), pytest.raises(asyncio.CancelledError):
                await task


async def through_next_wake(runner: Runner, steps: Steps, wanted: Callable[[State], bool]) -> State:
    """Skip to just before the schedule's next wake, then take the wake (and its question
    to the desktop) in real time."""
    wake = runner.state.next_wake
    assert wake is not None
    await elapse(max(0.0, wake - runner.clock.now() - 0.01))
    return await steps.until(wanted)


def test_a_locked_screen_sends_the_schedule_away_at_once_and_is_a_break(system_bus: str) -> None:
    async def scenario() -> None:
        with real_time():
            logind = fake_logind(system_bus)
            _, session = await logind.__aenter__()
        try:
            async with scheduled("logind", Settings(rhythm=RHYTHM)) as (runner, steps, _, history):
                assert runner.presence.names == ["logind"]
                await elapse(15 * 60)  # 09:10, ten minutes into the first bout
                locked_at = runner.clock.now()
                session.lock()
                state = await steps.until(lambda s: s.phase is Phase.AWAY)
                assert state.away_since == pytest.approx(locked_at, abs=1.0)
                await elapse(90)  # a short absence, but the person got up
                session.lock(False)
                state = await steps.until(lambda s: s.phase is Phase.AT_DESK)
                assert state.due == pytest.approx(runner.clock.now() + RHYTHM.sit_s, abs=1.0)
                postures = [(what, detail) for _, _, what, detail in history.events(0, 4e9)]
                assert ("away", "") in postures
                assert ("sit", "back") in postures
        finally:
            with real_time():
                await logind.__aexit__(None, None, None)

    run_virtual(scenario())


@pytest.mark.parametrize(("idle_ms", "moved"), [(3_000, True), (600_000, False)])
def test_an_automatic_move_needs_the_person_there_by_the_desktops_word(
    session_bus: str, monkeypatch: pytest.MonkeyPatch, idle_ms: int, moved: bool
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)  # Wayland: no xprintidle

    async def scenario() -> None:
        with real_time():
            mutter = fake_mutter(session_bus)
            monitor = await mutter.__aenter__()
        settings = Settings(rhythm=RHYTHM, auto_move=True)
        try:
            async with scheduled("auto", settings) as (runner, steps, shown, _):
                assert runner.presence.names == ["gnome"]
                monitor.idle_ms = idle_ms
                await through_next_wake(runner, steps, lambda s: s.phase is Phase.AT_DESK)
                await through_next_wake(runner, steps, lambda s: s.phase is Phase.PROMPT)
                asked = monitor.asked
                state = await through_next_wake(
                    runner, steps, lambda s: s.phase is not Phase.PROMPT
                )
                assert monitor.asked > asked  # asked when the countdown ran out, not before
                if moved:
                    assert state.phase is Phase.MOVING
                    assert [a.target for a in shown if isinstance(a, Move)] == [Posture.STAND]
                else:
                    assert state.phase is Phase.AWAY
                    assert state.outcome == "away"
                    assert not [a for a in shown if isinstance(a, Move)]
        finally:
            with real_time():
                await mutter.__aexit__(None, None, None)

    run_virtual(scenario())


def test_with_no_bus_at_all_the_schedule_runs_as_before() -> None:
    async def scenario() -> None:
        settings = Settings(rhythm=RHYTHM, auto_move=True)
        async with scheduled("auto", settings) as (runner, steps, shown, _):
            assert runner.presence.names == []
            await elapse(30 * 60)
            assert not [a for a in shown if isinstance(a, Move)]  # nobody known to be there
            assert steps.state.phase is Phase.AWAY

    run_virtual(scenario())


def test_the_agents_schedule_goes_away_when_the_screen_saver_locks(session_bus: str) -> None:
    async def scenario() -> None:
        paths = Paths.from_env()
        with real_time():
            saver_context = fake_screensaver(session_bus)
            saver = await saver_context.__aenter__()
        try:
            async with (
                agent_here(AgentSettings(presence="screensaver")),
                open_remote_desk("sim://presence", paths) as desk,
            ):
                steps = Steps()
                schedule = FollowedSchedule(
                    desk,
                    Engine(Settings()),
                    heights=HEIGHTS,
                    show=lambda _: None,
                    profile=None,
                    schedule=ALL_DAY,
                    stepped=steps,
                )
                following = asyncio.create_task(schedule.run())
                await steps.until(lambda s: s.phase is Phase.AT_DESK)
                await elapse(5 * 60)
                saver.lock()
                await steps.until(lambda s: s.phase is Phase.AWAY)
                saver.lock(False)
                await steps.until(lambda s: s.phase is Phase.AT_DESK)
                following.cancel()
                with real_time():
                    await asyncio.gather(following, return_exceptions=True)
        finally:
            with real_time():
                await saver_context.__aexit__(None, None, None)
        history = History(paths.data_dir / "history.sqlite3")
        postures = [(what, detail) for _, _, what, detail in history.events(0, 4e9, "posture")]
        history.close()
        assert ("away", "") in postures  # the agent recorded the break
        assert (postures[postures.index(("away", "")) + 1][1]) == "back"

    run_virtual(scenario())


async def test_the_interfaces_own_schedule_goes_away_when_the_screen_locks(
    session_bus: str,
) -> None:
    """Direct mode: the schedule runs in the interface, which asks the desktop too."""
    from test_tui import connected, make_app

    async with fake_screensaver(session_bus) as saver:
        app = make_app()
        app.options.presence = "screensaver"
        async with app.run_test(size=(80, 24)) as pilot:
            await connected(app)
            runner = app.runner
            assert isinstance(runner, Runner)

            async def until(phase: Phase) -> None:
                async with asyncio.timeout(GUARD_S):
                    while runner.state.phase is not phase:
                        await pilot.pause()

            await until(Phase.AT_DESK)
            saver.lock()
            await until(Phase.AWAY)
