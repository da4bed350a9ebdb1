"""The Jiecang serial driver against the emulated box, over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import random
import re
import select
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from deskctl.calibrate import calibrate
from deskctl.clock import LoopClock
from deskctl.drivers import jiecang_codec as codec
from deskctl.drivers.jiecang import MM_PER_INCH, JiecangDesk
from deskctl.drivers.jiecang_emulator import MOTION_OPS, JiecangEmulator, JiecangOptions
from deskctl.drivers.jiecang_variants import lone_step_mm, seeded_options
from deskctl.drivers.registry import open_desk
from deskctl.drivers.serial_box import ByteNoise, LineFaults
from deskctl.drivers.tcp_bridge import TcpBridge
from deskctl.errors import (
    Collision,
    ConnectionLost,
    DeskFault,
    DeskNotFound,
    DeskUnavailable,
    Interrupted,
    OutOfRange,
    Overheated,
    Unsupported,
)
from deskctl.model import Direction, Fault, Link
from deskctl.motion import HoldAndWatch
from deskctl.paths import Paths
from deskctl.physics import MotorParams
from deskctl.vtime import elapse, run_virtual


@asynccontextmanager
async def emulated(
    options: JiecangOptions | None = None,
) -> AsyncIterator[tuple[JiecangEmulator, JiecangDesk]]:
    emulator = JiecangEmulator(options)
    port = await emulator.start()
    try:
        async with JiecangDesk(port, clock=LoopClock()) as desk:
            yield emulator, desk
    finally:
        await emulator.stop()


@pytest.mark.parametrize("inches", [False, True])
def test_connect_reads_units_limits_and_presets_then_moves(inches: bool) -> None:
    async def scenario() -> None:
        options = JiecangOptions(inches=inches, presets_mm={2: 1100.0})
        async with emulated(options) as (emulator, desk):
            assert desk.inches is inches
            assert (desk.limits.min_mm, desk.limits.max_mm) == (650.0, 1300.0)
            presets = await desk.presets()
            assert presets[2] == pytest.approx(1100.0, abs=2.6)
            for target in (1290.0, 660.0, 1000.0, 1030.0):  # 1030 mm is 40.55 in
                final = await desk.move_to(target)
                # What the desk can represent: 1 mm, or 0.1 in in inch mode.
                resolution = 1.27 if inches else 1.0
                assert final.height_mm == pytest.approx(target, abs=resolution)
                assert emulator.height_mm == pytest.approx(target, abs=resolution)

    run_virtual(scenario())


def test_nothing_that_moves_the_limits_or_calibration_is_ever_sent() -> None:
    async def scenario() -> None:
        async with emulated(JiecangOptions(presets_mm={1: 900.0})) as (emulator, desk):
            await desk.move_to(1200.0)
            await desk.save_preset(2)
            await desk.recall_preset(1)
            async with desk.hold(Direction.UP):
                await elapse(0.5)
            await desk.stop()
        assert emulator.received
        assert not {frame.op for frame in emulator.received} & codec.DANGEROUS_OPS

    run_virtual(scenario())


def test_out_of_range_is_refused_before_a_byte_is_sent() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            before = len(emulator.received)
            with pytest.raises(OutOfRange):
                await desk.move_to(1400.0)
            assert len(emulator.received) == before

    run_virtual(scenario())


def test_presets_save_and_recall() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            await desk.move_to(1050.0)
            await desk.save_preset(3)
            assert emulator.presets[3] == pytest.approx(1050.0)
            await desk.move_to(700.0)
            final = await desk.recall_preset(3)
            assert final.height_mm == pytest.approx(1050.0, abs=1.0)

    run_virtual(scenario())


def test_a_noisy_line_still_gets_the_desk_there() -> None:
    async def scenario() -> None:
        options = JiecangOptions(line=LineFaults(noise=0.2, corrupt=0.1, drop=0.05, seed=7))
        async with emulated(options) as (emulator, desk):
            final = await desk.move_to(1200.0)
            assert final.height_mm == pytest.approx(1200.0, abs=1.0)
            stats = desk._parser.stats
            assert stats.bad_checksums + stats.dropped_bytes > 0
            target = codec.Frame(codec.Op.MOVE_TO, codec.encode_height(1200))
            assert emulator.received.count(target) == 1  # the box closed the loop itself

    run_virtual(scenario())


def test_a_port_that_does_not_exist_is_one_clear_error() -> None:
    async def scenario() -> None:
        with pytest.raises(DeskNotFound, match="no serial port /dev/ttyNOPE"):
            await JiecangDesk("/dev/ttyNOPE").connect()

    run_virtual(scenario())


def test_h01_overheating_becomes_a_typed_error() -> None:
    async def scenario() -> None:
        params = MotorParams(min_mm=650.0, max_mm=1300.0, duty_on_s=8.0, duty_window_s=80.0)
        async with emulated(JiecangOptions(params=params)) as (_, desk):
            with pytest.raises(Overheated):
                await desk.move_to(1250.0)  # about 14 s of running
            assert desk.state.fault is Fault.OVERHEATED
            assert "H01" in desk.state.detail

    run_virtual(scenario())


@pytest.mark.parametrize("move_to", [True, False])
def test_cable_pulled_mid_move_is_one_clear_error(move_to: bool) -> None:
    async def scenario() -> None:
        async with emulated(JiecangOptions(move_to=move_to)) as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(2.0)
            await emulator.unplug()
            with pytest.raises(ConnectionLost, match="serial line"):
                await move
            assert desk.state.link is Link.LOST
            if not move_to:
                # Driven by steps, the box stops by itself once they stop coming.
                await elapse(2.0)
                assert not emulator.model.busy

    run_virtual(scenario())


def ops(emulator: JiecangEmulator) -> list[int]:
    return [frame.op for frame in emulator.received]


def test_a_box_without_move_to_is_found_out_by_its_first_move_and_driven_by_its_steps() -> None:
    async def scenario() -> None:
        options = JiecangOptions(move_to=False)
        async with emulated(options) as (emulator, desk):
            assert desk.move_to_supported is None  # connecting asks nothing that moves it
            assert isinstance(desk.strategy, HoldAndWatch)
            await calibrate(desk)
            assert desk.move_to_supported is False
            assert not desk.capabilities.native_move_to
            probes = ops(emulator).count(codec.Op.MOVE_TO)
            assert 0 < probes <= 4
            for target in (1100.0, 760.0, 1250.0, 900.0):
                await desk.move_to(target)
                await emulator.settled()
                assert emulator.height_mm == pytest.approx(target, abs=lone_step_mm(options))
            assert ops(emulator).count(codec.Op.MOVE_TO) == probes  # steps only from here
            assert {codec.Op.UP, codec.Op.DOWN} <= set(ops(emulator))

    run_virtual(scenario())


def test_a_collision_ends_the_move_until_the_user_stops_the_desk() -> None:
    async def scenario() -> None:
        options = JiecangOptions(height_mm=1100.0, obstacle_mm=900.0)
        async with emulated(options) as (emulator, desk):
            with pytest.raises(Collision):
                await desk.move_to(700.0)
            assert desk.state.fault is Fault.COLLISION
            await emulator.settled()
            assert emulator.height_mm > 900.0  # it backed off
            sent = len(emulator.received)
            with pytest.raises(Collision):
                await desk.move_to(1000.0)
            assert len(emulator.received) == sent  # refused before a byte
            emulator.model.obstacle_mm = None  # the way is cleared
            await desk.stop()
            final = await desk.move_to(1000.0)
            assert final.height_mm == pytest.approx(1000.0, abs=1.0)

    run_virtual(scenario())


def test_an_error_code_on_the_display_becomes_a_fault_that_names_it() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            emulator.show_error(7)  # a hall sensor failed
            await elapse(0.1)
            assert desk.state.fault is Fault.CONTROLLER
            with pytest.raises(DeskFault, match="E07"):
                await desk.move_to(1000.0)

    run_virtual(scenario())


def test_cancelling_a_move_stops_the_box_at_once() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(3.0)
            heard = len(emulator.received)
            move.cancel()
            with pytest.raises(asyncio.CancelledError):
                await move
            await emulator.settled()  # the STOP stops it, or it would run on to 1250
            assert ops(emulator)[heard:][0] == codec.Op.STOP
            assert 740.0 < emulator.height_mm < 1000.0

    run_virtual(scenario())


def test_a_stop_from_elsewhere_interrupts_the_move() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(3.0)
            await desk.stop()
            with pytest.raises(Interrupted):
                await move
            await emulator.settled()
            assert emulator.height_mm < 1000.0

    run_virtual(scenario())


def test_presets_are_recalled_by_the_box_itself_and_empty_ones_refused() -> None:
    async def scenario() -> None:
        async with emulated(JiecangOptions(presets_mm={4: 1180.0})) as (emulator, desk):
            final = await desk.recall_preset(4)
            assert final.height_mm == pytest.approx(1180.0, abs=1.0)
            assert codec.Op.GOTO_4 in ops(emulator)
            with pytest.raises(Unsupported, match="empty"):
                await desk.recall_preset(1)

    run_virtual(scenario())


def test_a_network_serial_bridge_carries_the_same_frames() -> None:
    async def scenario() -> None:
        emulator = JiecangEmulator()
        bridge = TcpBridge(emulator)
        port = await bridge.start()
        try:
            async with JiecangDesk(f"socket://127.0.0.1:{port}", clock=LoopClock()) as desk:
                final = await desk.move_to(1000.0)
                assert final.height_mm == pytest.approx(1000.0, abs=1.0)
                move = asyncio.create_task(desk.move_to(700.0))
                await elapse(2.0)
                await bridge.drop_client()
                with pytest.raises(ConnectionLost, match="serial line"):
                    await move
        finally:
            await bridge.stop()
            await emulator.stop()

    run_virtual(scenario())


def test_a_port_where_nothing_answers_is_one_clear_error() -> None:
    async def scenario() -> None:
        controller, line = os.openpty()
        try:
            with pytest.raises(DeskNotFound, match="nothing answers"):
                await JiecangDesk(os.ttyname(line), clock=LoopClock()).connect()
        finally:
            os.close(controller)
            os.close(line)

    run_virtual(scenario())


def test_a_file_that_is_no_serial_port_is_one_clear_error(tmp_path: Path) -> None:
    not_a_port = tmp_path / "notes.txt"
    not_a_port.write_text("hello")

    async def scenario() -> None:
        with pytest.raises((DeskUnavailable, DeskNotFound), match="cannot open"):
            await JiecangDesk(str(not_a_port)).connect()

    run_virtual(scenario())


# -- what an outside conformance run found ----------------------------------------------------


def test_line_noise_never_stops_a_move_and_the_final_height_is_where_it_rests() -> None:
    async def scenario() -> None:
        params = MotorParams(min_mm=650.0, max_mm=1300.0, top_speed_mm_s=43.0, coast_s=1.0)
        options = JiecangOptions(params=params, height_mm=700.0, noise=ByteNoise(0.05, seed=3))
        async with emulated(options) as (emulator, desk):
            for target in (1250.0, 700.0, 1100.0, 820.0):
                final = await desk.move_to(target)
                await emulator.settled()
                assert emulator.height_mm == pytest.approx(target, abs=1.0)
                assert final.height_mm == pytest.approx(emulator.height_mm, abs=1.0)
            assert desk._parser.stats.bad_checksums > 0  # the line was noisy

    run_virtual(scenario())


@pytest.mark.parametrize("step_s", [0.2, 0.45])
def test_a_box_without_move_to_lands_within_its_step_and_says_where(step_s: float) -> None:
    async def scenario() -> None:
        params = MotorParams(min_mm=650.0, max_mm=1300.0, top_speed_mm_s=43.0, ramp_s=0.6)
        options = JiecangOptions(params=params, move_to=False, step_s=step_s, height_mm=700.0)
        step = lone_step_mm(options)
        async with emulated(options) as (emulator, desk):
            for target in (1100.0, 760.0, 1250.0, 900.0, 905.0, 1000.0, 993.0, 1010.0):
                final = await desk.move_to(target)
                await emulator.settled()
                assert emulator.height_mm == pytest.approx(target, abs=max(1.0, step))
                assert final.height_mm == pytest.approx(emulator.height_mm, abs=1.0)

    run_virtual(scenario())


def test_status_and_the_preset_list_never_move_the_desk() -> None:
    async def scenario() -> None:
        options = JiecangOptions(inches=True, height_mm=1001.3, presets_mm={1: 800.0})
        async with emulated(options) as (emulator, desk):
            await desk.presets()
            await elapse(2.0)
        assert not set(ops(emulator)) & MOTION_OPS
        assert emulator.height_mm == 1001.3

    run_virtual(scenario())


def test_a_collision_the_box_reports_is_a_collision_until_an_explicit_stop() -> None:
    async def scenario() -> None:
        options = JiecangOptions(height_mm=1100.0, obstacle_mm=900.0, collision_code=1)
        async with emulated(options) as (emulator, desk):
            with pytest.raises(Collision, match="deskctl stop"):
                await desk.move_to(700.0)
            assert desk.state.fault is Fault.COLLISION
        # Closing, right after the collision, let go of the desk without re-arming it.
        assert emulator.model.fault is Fault.COLLISION

    run_virtual(scenario())


def test_holding_into_an_obstacle_ends_in_a_collision() -> None:
    async def scenario() -> None:
        options = JiecangOptions(height_mm=1000.0, obstacle_mm=930.0, collision_code=2)
        async with emulated(options) as (emulator, desk):
            with pytest.raises(Collision, match="deskctl stop"):
                async with desk.hold(Direction.DOWN):
                    await elapse(4.0)
            assert emulator.model.fault is Fault.COLLISION  # the release did not re-arm it

    run_virtual(scenario())


def test_a_box_latched_at_connect_shows_it_and_refuses_moves_until_a_stop() -> None:
    async def scenario() -> None:
        options = JiecangOptions(latched=True, collision_code=1)
        async with emulated(options) as (emulator, desk):
            assert desk.state.fault is Fault.COLLISION
            sent = len(emulator.received)
            with pytest.raises(Collision):
                await desk.move_to(1000.0)
            await desk.release()
            assert len(emulator.received) == sent  # not a byte: a stop would re-arm it
            assert emulator.model.fault is Fault.COLLISION
            await desk.stop()  # the user's word that the way is clear
            final = await desk.move_to(1000.0)
            assert final.height_mm == pytest.approx(1000.0, abs=1.0)

    run_virtual(scenario())


@pytest.mark.parametrize("move_to", [True, False])
def test_a_box_that_stops_answering_mid_move_is_unreachable(move_to: bool) -> None:
    async def scenario() -> None:
        async with emulated(JiecangOptions(move_to=move_to)) as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(3.0)
            heard = len(emulator.received)
            emulator.muted = True
            with pytest.raises(ConnectionLost, match="stopped answering"):
                await move
            await elapse(0.1)  # what was sent is on its way
            # It may still hear: it was told to stop.
            assert codec.Op.STOP in ops(emulator)[heard:]

    run_virtual(scenario())


def test_after_a_cancel_the_desk_state_says_where_it_came_to_rest() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(4.0)
            move.cancel()
            with pytest.raises(asyncio.CancelledError):
                await move
            assert not desk.state.moving
            at_rest = desk.state.height_mm
            await emulator.settled()
            assert at_rest == pytest.approx(emulator.height_mm, abs=1.0)

    run_virtual(scenario())


def test_how_a_box_moves_is_found_out_once_and_remembered_under_the_state_folder() -> None:
    async def scenario() -> None:
        emulator = JiecangEmulator(JiecangOptions(move_to=False))
        port = await emulator.start()
        paths = Paths.from_env()
        try:
            for session, target in enumerate((1000.0, 850.0)):
                before = ops(emulator).count(codec.Op.MOVE_TO)
                async with open_desk(f"jiecang://{port}", paths) as desk:
                    await desk.move_to(target)
                asked = ops(emulator).count(codec.Op.MOVE_TO) - before
                assert (asked > 0) if session == 0 else (asked == 0)
        finally:
            await emulator.stop()
        remembered = json.loads(paths.state_file("jiecang", f"jiecang://{port}").read_text())
        assert remembered["move_to"] is False
        assert remembered["step_mm"] > 0

    run_virtual(scenario())


# -- the command line, against a box served by `deskctl emulate` --------------------------------

DESKCTL = str(Path(sys.executable).with_name("deskctl"))


def deskctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DESKCTL, *args], capture_output=True, text=True, timeout=60, check=False)


@contextlib.contextmanager
def served_box(options: str) -> Iterator[str]:
    """``deskctl emulate jiecang --options OPTIONS`` until the block ends; yields its URL."""
    process = subprocess.Popen(
        [DESKCTL, "--json", "emulate", "jiecang", "--options", options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())["url"]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_the_command_line_names_a_collision_and_only_stop_rearms_the_box() -> None:
    with served_box("seed=4&noise=0&speed=10&height=900&obstacle=940") as desk:
        held = deskctl("--desk", desk, "up", "--hold", "2")
        assert held.returncode == 5, held.stderr
        assert "hit something" in held.stderr
        assert "deskctl stop" in held.stderr
        status = json.loads(deskctl("--desk", desk, "--json", "status").stdout)
        assert status["fault"] == "collision"  # the box still shows it: moves are refused
        assert deskctl("--desk", desk, "move", "80cm").returncode == 5
        assert deskctl("--desk", desk, "stop").returncode == 0
        status = json.loads(deskctl("--desk", desk, "--json", "status").stdout)
        assert status["fault"] is None
        moved = deskctl("--desk", desk, "--json", "move", "85cm")
        assert moved.returncode == 0, moved.stderr


def test_after_ctrl_c_the_command_line_says_where_the_desk_came_to_rest() -> None:
    with served_box("speed=4") as desk:
        # A terminal for stderr, so that the progress bar shows how far the desk has got.
        controller, terminal = pty.openpty()
        process = subprocess.Popen(
            [DESKCTL, "--desk", desk, "move", "125cm"], stderr=terminal, text=True
        )
        os.close(terminal)
        seen = b""
        while not re.search(rb"to 125\.0 cm.*(8[5-9]|9\d)\.\d cm", seen, re.DOTALL):
            ready, _, _ = select.select([controller], [], [], 30)
            assert ready, f"the progress bar never showed the desk moving: {seen!r}"
            seen += os.read(controller, 4096)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        with contextlib.suppress(OSError):
            while chunk := os.read(controller, 4096):
                seen += chunk
        os.close(controller)
        said = re.search(rb"stopped at ([\d.]+) cm", seen)
        assert said, seen
        status = json.loads(deskctl("--desk", desk, "--json", "status").stdout)
        assert float(said.group(1)) * 10 == pytest.approx(status["height_mm"], abs=1.0)
        assert 850.0 < status["height_mm"] < 1250.0


# -- across seeded boxes ------------------------------------------------------------------------

SEEDS = range(20)


def promise_mm(options: JiecangOptions) -> float:
    """How close a move gets on this box: to the nearest number it shows (1 mm, or a tenth of
    an inch) when it drives itself, within half a step (read to that number) when it steps."""
    unit = MM_PER_INCH / 10 if options.inches else 1.0
    exact = max(1.0, unit / 2) + 0.01
    return exact if options.move_to else max(exact, lone_step_mm(options) / 2 + unit)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_seeded_box_is_read_without_moving_and_moved_within_its_promise(seed: int) -> None:
    async def scenario() -> None:
        options = seeded_options(seed)
        unit = MM_PER_INCH / 10 if options.inches else 1.0
        draw = random.Random(seed)
        async with emulated(options) as (emulator, desk):
            assert not set(ops(emulator)) & MOTION_OPS
            assert desk.state.height_mm == pytest.approx(emulator.height_mm, abs=unit)
            assert desk.inches is options.inches
            start = emulator.height_mm
            way = 1 if start < (desk.limits.min_mm + desk.limits.max_mm) / 2 else -1
            target = desk.limits.clamp(start + way * draw.uniform(80.0, 150.0))
            final = await desk.move_to(target)
            await emulator.settled()
            assert desk.move_to_supported is options.move_to
            assert emulator.height_mm == pytest.approx(target, abs=promise_mm(options))
            assert final.height_mm == pytest.approx(emulator.height_mm, abs=unit)

    run_virtual(scenario())


@pytest.mark.parametrize("seed", range(100, 108))
def test_a_seeded_box_collides_stops_and_rests_where_the_driver_says(seed: int) -> None:
    async def scenario() -> None:
        options = seeded_options(seed)
        start = options.height_mm
        way = 1 if start < (options.params.min_mm + options.params.max_mm) / 2 else -1
        options.obstacle_mm = start + way * 60.0
        unit = MM_PER_INCH / 10 if options.inches else 1.0
        async with emulated(options) as (emulator, desk):
            # Cancelled on its way: the state says where the desk came to rest.
            move = asyncio.create_task(desk.move_to(start + way * 150.0))
            await elapse(1.2)
            move.cancel()
            with pytest.raises(asyncio.CancelledError):
                await move
            await emulator.settled()
            assert desk.state.height_mm == pytest.approx(emulator.height_mm, abs=unit)
            # Then into the obstacle: a collision, which only an explicit stop re-arms.
            with pytest.raises(Collision):
                await desk.move_to(start + way * 150.0)
            await desk.release()
            await emulator.settled()
            assert emulator.model.fault is Fault.COLLISION
            emulator.model.obstacle_mm = None
            await desk.stop()
            assert emulator.model.fault is None
            final = await desk.move_to(start)
            assert final.height_mm == pytest.approx(start, abs=promise_mm(options) + unit)

    run_virtual(scenario())
