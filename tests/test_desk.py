"""The Desk interface's shared safety logic, exercised through the simulated desk."""

from __future__ import annotations

import asyncio

import pytest

from deskctl.clock import LoopClock
from deskctl.drivers.sim import SimDesk
from deskctl.errors import Collision, Interrupted, OutOfRange, Overheated, Unsupported
from deskctl.model import DeskState, Direction, Fault, Link
from deskctl.physics import MotorParams
from deskctl.vtime import elapse, run_virtual


class RecordingSimDesk(SimDesk):
    """The simulated desk, keeping a list of the commands it was sent."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__("recording", clock=LoopClock(), **kwargs)  # type: ignore[arg-type]
        self.sent: list[str] = []

    async def send_target(self, height_mm: float) -> None:
        self.sent.append(f"target {height_mm}")
        await super().send_target(height_mm)

    async def press(self, direction: Direction) -> None:
        self.sent.append(f"press {direction.name}")
        await super().press(direction)

    async def release(self) -> None:
        self.sent.append("release")
        await super().release()

    async def _halt(self) -> None:
        self.sent.append("stop")
        await super()._halt()


@pytest.mark.parametrize("height", [619.9, 1270.1, 200.0, 3000.0])
def test_out_of_range_target_is_refused_before_anything_is_sent(height: float) -> None:
    async def scenario() -> None:
        async with RecordingSimDesk() as desk:
            with pytest.raises(OutOfRange, match="outside this desk's range"):
                await desk.move_to(height)
            assert desk.sent == []
            assert not desk.state.moving

    run_virtual(scenario())


def test_every_subscriber_sees_the_same_states() -> None:
    async def scenario() -> None:
        async with RecordingSimDesk() as desk:
            with desk.subscribe() as first, desk.subscribe() as second:
                await desk.move_to(800.0)
                seen: list[list[DeskState]] = [[], []]
                for states, into in ((first, seen[0]), (second, seen[1])):
                    while (state := await states.next(timeout=0)) is not None:
                        into.append(state)
            assert seen[0] == seen[1]
            assert len(seen[0]) > 10
            assert seen[0][-1].height_mm == 800.0
            assert not seen[0][-1].moving

    run_virtual(scenario())


def test_a_new_move_interrupts_the_one_in_progress() -> None:
    async def scenario() -> None:
        async with RecordingSimDesk() as desk:
            first = asyncio.create_task(desk.move_to(1200.0))
            await elapse(2.0)
            final = await desk.move_to(900.0)
            with pytest.raises(Interrupted):
                await first
            assert final.height_mm == 900.0

    run_virtual(scenario())


def test_stop_ends_a_move_at_once() -> None:
    async def scenario() -> None:
        async with RecordingSimDesk() as desk:
            move = asyncio.create_task(desk.move_to(1200.0))
            await elapse(3.0)
            await desk.stop()
            assert desk.sent[-1] == "stop" or desk.sent[-2] == "stop"
            with pytest.raises(Interrupted):
                await move
            await elapse(1.0)
            assert not desk.state.moving
            assert 720.0 < desk.state.height_mm < 1200.0

    run_virtual(scenario())


def test_hold_moves_only_while_held_and_stops_at_the_limit() -> None:
    async def scenario() -> None:
        async with RecordingSimDesk(height_mm=1000.0) as desk:
            async with desk.hold(Direction.UP):
                await elapse(2.0)
                assert desk.state.moving
            await elapse(1.0)
            assert not desk.state.moving
            released_at = desk.state.height_mm
            assert 1030.0 < released_at < 1080.0
            async with desk.hold(Direction.UP):
                await elapse(60.0)  # far longer than the travel takes
            assert desk.state.height_mm == 1270.0

    run_virtual(scenario())


def test_hold_keeps_pressing_so_the_deadman_never_trips() -> None:
    async def scenario() -> None:
        async with RecordingSimDesk(height_mm=700.0) as desk:
            async with desk.hold(Direction.UP):
                await elapse(5.0)
                assert desk.state.moving
            assert desk.sent.count("press UP") >= 5

    run_virtual(scenario())


def test_collision_is_reported_and_latched_until_stop() -> None:
    async def scenario() -> None:
        async with RecordingSimDesk(height_mm=1000.0, obstacle_mm=850.0) as desk:
            with pytest.raises(Collision, match="deskctl stop"):
                await desk.move_to(700.0)
            await elapse(1.0)  # the desk backs off
            assert desk.state.fault is Fault.COLLISION
            assert desk.state.height_mm == pytest.approx(860.0)
            sent = len(desk.sent)
            with pytest.raises(Collision):
                await desk.move_to(1000.0)
            with pytest.raises(Collision):
                async with desk.hold(Direction.UP):
                    pass
            assert len(desk.sent) == sent  # refused without sending anything
            await desk.stop()
            assert desk.state.fault is None
            await desk.move_to(1000.0)

    run_virtual(scenario())


def test_duty_cycle_guard_refuses_a_move_the_motor_cannot_finish() -> None:
    async def scenario() -> None:
        params = MotorParams(duty_on_s=30.0, duty_window_s=300.0)
        async with RecordingSimDesk(params=params) as desk:
            await desk.move_to(1250.0)  # about 18 s of running
            sent = len(desk.sent)
            with pytest.raises(Overheated, match="let it rest"):
                await desk.move_to(650.0)
            assert len(desk.sent) == sent
            await elapse(300.0)
            await desk.move_to(650.0)

    run_virtual(scenario())


def test_thermal_cutout_mid_move_is_reported() -> None:
    async def scenario() -> None:
        params = MotorParams(duty_on_s=30.0, duty_window_s=300.0)
        async with RecordingSimDesk(params=params) as desk:
            desk.duty.on_s = 1000.0  # let the controller's own cut-out act, as on a real desk
            await desk.move_to(1250.0)
            with pytest.raises(Overheated, match="rested"):
                await desk.move_to(650.0)
            assert desk.state.fault is Fault.OVERHEATED

    run_virtual(scenario())


def test_presets_read_save_and_recall() -> None:
    async def scenario() -> None:
        async with RecordingSimDesk() as desk:
            assert await desk.presets() == {1: None, 2: None, 3: None, 4: None}
            await desk.move_to(1105.0)
            await desk.save_preset(2)
            await desk.move_to(700.0)
            state = await desk.recall_preset(2)
            assert state.height_mm == 1105.0
            with pytest.raises(Unsupported, match="empty"):
                await desk.recall_preset(1)
            with pytest.raises(Unsupported, match="1 to 4"):
                await desk.recall_preset(5)

    run_virtual(scenario())


def test_close_stops_a_moving_desk_and_is_idempotent() -> None:
    async def scenario() -> None:
        desk = RecordingSimDesk()
        await desk.connect()
        move = asyncio.create_task(desk.move_to(1200.0))
        await elapse(1.0)
        await desk.close()
        await desk.close()
        assert "stop" in desk.sent
        assert desk.state.link is Link.DISCONNECTED
        with pytest.raises(Interrupted):
            await move

    run_virtual(scenario())


def test_simulated_desk_remembers_its_height_between_runs(isolated_home: object) -> None:
    from pathlib import Path

    state_file = Path(str(isolated_home)) / "sim.json"
    state_file.parent.mkdir(parents=True, exist_ok=True)

    async def move_then_read() -> float:
        async with SimDesk("a", state_file=state_file) as desk:
            await desk.move_to(1111.0)
        async with SimDesk("a", state_file=state_file) as again:
            return again.state.height_mm

    assert run_virtual(move_then_read()) == 1111.0
