"""Every face on one desk at once: the interface, ``deskctl run``, commands, the schedule
and the handset, all through one agent."""

from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from deskctl.agent.client import RemoteDesk
from deskctl.agent.followed import FollowedSchedule
from deskctl.agent.launch import open_remote_desk
from deskctl.agent.server import Agent, AgentSettings
from deskctl.drivers.jiecang_emulator import JiecangEmulator
from deskctl.history import History
from deskctl.model import DeskState
from deskctl.paths import Paths
from deskctl.policy.engine import Action, Confirm, Engine, Prompt, Settings
from deskctl.policy.exercises import Posture
from deskctl.policy.runner import Heights
from deskctl.profiles.model import WEEKDAYS
from deskctl.tui.app import DeskApp, Options
from deskctl.units import Unit
from deskctl.vtime import elapse, run_virtual

DESKCTL = str(Path(sys.executable).with_name("deskctl"))
HEIGHTS = Heights(sit_mm=720.0, stand_mm=1100.0)
ALL_DAY = {"hours": {day: ["00:00-23:59"] for day in WEEKDAYS}}


@asynccontextmanager
async def agent_here(settings: AgentSettings | None = None) -> AsyncIterator[Agent]:
    """An agent in this process and loop (on virtual time in these tests)."""
    agent = Agent(Paths.from_env(), settings or AgentSettings())
    listening = asyncio.Event()
    serving = asyncio.create_task(agent.serve(listening.set))
    await listening.wait()
    try:
        yield agent
    finally:
        agent.shutdown()
        await serving


class Recorder:
    """Every state a face saw, in order."""

    def __init__(self, desk: RemoteDesk) -> None:
        self.states: list[DeskState] = []
        self._task = asyncio.create_task(self._follow(desk))

    async def _follow(self, desk: RemoteDesk) -> None:
        with desk.subscribe() as states:
            async for state in states:
                self.states.append(state)

    def moves(self) -> list[tuple[float, float]]:
        """(from, to) of each run of moving states."""
        runs: list[tuple[float, float]] = []
        start: float | None = None
        last = 0.0
        for state in self.states:
            if state.moving and start is None:
                start = last
            if not state.moving and start is not None:
                runs.append((start, state.height_mm))
                start = None
            last = state.height_mm
        return runs

    def stop(self) -> None:
        self._task.cancel()


def test_a_watcher_sees_the_schedules_move_and_the_handsets() -> None:
    async def scenario() -> None:
        emulator = JiecangEmulator()
        port = await emulator.start()
        url = f"jiecang://{port}"
        paths = Paths.from_env()
        try:
            async with (
                agent_here(),
                open_remote_desk(url, paths) as watcher,
                open_remote_desk(url, paths) as follower,
            ):
                seen = Recorder(watcher)
                prompts: list[Action] = []

                def person(action: Action) -> None:
                    prompts.append(action)
                    if isinstance(action, Prompt):
                        schedule.tell(Confirm())  # this face answers; the agent moves

                engine = Engine(Settings())
                schedule = FollowedSchedule(
                    follower, engine, heights=HEIGHTS, show=person, profile=None, schedule=ALL_DAY
                )
                following = asyncio.create_task(schedule.run())
                await elapse(25 * 60)  # a sitting bout, the prompt, the move
                assert any(isinstance(action, Prompt) for action in prompts)
                assert schedule.state.posture is Posture.STAND
                assert seen.moves()[0][1] >= 1099.0
                # The handset: the box's own motor, with no deskctl command.
                emulator.model.move_to(720.0, emulator.clock.now())
                emulator.loop.kick()
                await elapse(60)
                assert abs(seen.moves()[-1][1] - 720.0) <= 2.6
                assert schedule.state.posture.value == "sit"  # followed, not fought
                # A second face joins with another rhythm: the schedule is reconfigured in
                # place, and the bout in progress goes on (no "off" in the history).
                other = FollowedSchedule(
                    watcher,
                    engine,
                    heights=HEIGHTS,
                    show=lambda _: None,
                    profile=None,
                    schedule={**ALL_DAY, "sit_minutes": 30},
                )
                joining = asyncio.create_task(other.run())
                await other.started.wait()
                await elapse(60)
                assert other.state.posture.value == "sit"
                joining.cancel()
                following.cancel()
                seen.stop()
        finally:
            await emulator.stop()
        history = History(paths.data_dir / "history.sqlite3")
        postures = [(what, detail) for _, _, what, detail in history.events(0, 4e9, "posture")]
        history.close()
        # The agent alone wrote the day: the confirmed change and the hand move.
        assert postures == [
            ("sit", "work starts"),
            ("stand", "prompt"),
            ("sit", "manual"),
            ("off", "deskctl stopped"),
        ]

    run_virtual(scenario())


def test_a_desk_let_go_and_asked_for_again_at_once_is_opened_again() -> None:
    async def scenario() -> None:
        paths = Paths.from_env()
        async with agent_here(AgentSettings(keep_open_s=0.0)) as agent, asyncio.timeout(60):
            for n in range(10):
                async with open_remote_desk("sim://again", paths, start=False) as desk:
                    assert desk.state.height_mm == 720.0
                if n % 2:
                    await elapse(0)  # sometimes the close has begun, sometimes not
            await elapse(1)
            assert not agent.desks

    run_virtual(scenario())


def test_the_interface_run_and_commands_share_one_desk() -> None:
    url = "sim://shared?speed=2"  # slow enough to be caught moving
    run = subprocess.Popen(
        [DESKCTL, "--desk", url, "--json", "run", "--no-notify"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert run.stdout is not None
        ready, _, _ = select.select([run.stdout], [], [], 60)
        assert ready
        following: dict[str, Any] = json.loads(os.read(run.stdout.fileno(), 65536))
        assert following["sit_mm"] == 720.0
        asyncio.run(_interface_with_others(url))
    finally:
        run.terminate()
        assert run.wait(timeout=30) == 0


async def _interface_with_others(url: str) -> None:
    options = Options(
        url=url,
        paths=Paths.from_env(),
        unit=Unit.CM,
        sit_mm=720.0,
        stand_mm=1100.0,
        profile=None,
        settings=lambda _: Settings(),
    )
    app = DeskApp(options, open_desk=open_remote_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        async with asyncio.timeout(30):
            await app.ready.wait()
            assert isinstance(app.runner, FollowedSchedule)  # the agent's, shared with run
            await app.runner.started.wait()
        desk = app.desk
        assert isinstance(desk, RemoteDesk)
        await pilot.press("t")
        await _until(desk, lambda s: not s.moving and abs(s.height_mm - 1100.0) <= 1)
        other = await asyncio.to_thread(_deskctl, "--desk", url, "move", "65cm")
        assert other.returncode == 0, other.stderr
        await _until(desk, lambda s: not s.moving and abs(s.height_mm - 650.0) <= 1)
        # The longest move the desk has, so that a new process's stop finds it moving
        # however slowly that process starts.
        await pilot.press("t")
        await _until(desk, lambda s: s.moving)
        stopped = await asyncio.to_thread(_deskctl, "--desk", url, "stop")
        assert stopped.returncode == 0, stopped.stderr
        rest = await _until(desk, lambda s: not s.moving)
        assert 650.0 <= rest.height_mm < 1090.0  # stopped short of the standing height


def _deskctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DESKCTL, *args], capture_output=True, text=True, timeout=60, check=False)


async def _until(desk: RemoteDesk, done: Any, within_s: float = 30.0) -> DeskState:
    async with asyncio.timeout(within_s):
        with desk.subscribe() as states:
            state = desk.state
            while not done(state):
                state = await anext(states)
    return state
