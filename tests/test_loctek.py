"""The Loctek driver against the emulated box, over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from deskctl.calibrate import calibrate
from deskctl.clock import LoopClock
from deskctl.drivers.loctek import LoctekDesk
from deskctl.drivers.loctek_emulator import LoctekEmulator, LoctekOptions
from deskctl.drivers.serial_box import LineFaults
from deskctl.errors import Collision, ConnectionLost, DeskFault, Overheated
from deskctl.model import Fault
from deskctl.physics import MotorParams
from deskctl.vtime import elapse, run_virtual


@asynccontextmanager
async def emulated(
    options: LoctekOptions | None = None,
) -> AsyncIterator[tuple[LoctekEmulator, LoctekDesk]]:
    emulator = LoctekEmulator(options)
    port = await emulator.start()
    try:
        async with LoctekDesk(port, inches=emulator.options.inches, clock=LoopClock()) as desk:
            yield emulator, desk
    finally:
        await emulator.stop()


def test_wakes_the_screen_and_reads_the_height() -> None:
    async def scenario() -> None:
        async with emulated(LoctekOptions(height_mm=739.0)) as (emulator, desk):
            assert desk.state.height_mm == 739.0
            await elapse(60.0)
            assert emulator.display() == "   "  # the screen went to sleep

    run_virtual(scenario())


def test_hold_and_watch_lands_within_the_display_resolution() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            await calibrate(desk)
            for target in (900.0, 760.0, 950.0, 800.0):  # below 100 cm: 1 mm digits
                await desk.move_to(target)
                await emulator.settled()
                assert emulator.height_mm == pytest.approx(target, abs=1.0)
            for target in (1150.0, 1050.0):  # above: whole centimetres
                await desk.move_to(target)
                await emulator.settled()
                assert emulator.height_mm == pytest.approx(target, abs=5.5)

    run_virtual(scenario())


def test_cable_pulled_mid_move_is_reported_and_the_box_stops() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1100.0))
            await elapse(2.0)
            assert emulator.model.busy
            await emulator.unplug()
            with pytest.raises(ConnectionLost, match="serial line"):
                await move
            # No key frames arrive any more: the box lets go by itself.
            await elapse(1.0)
            assert not emulator.model.busy

    run_virtual(scenario())


def test_presets_are_recalled_by_their_key_and_saved_with_memory() -> None:
    async def scenario() -> None:
        async with emulated(LoctekOptions(presets_mm={2: 1050.0})) as (emulator, desk):
            state = await desk.recall_preset(2)
            assert emulator.height_mm == pytest.approx(1050.0)
            assert state.height_mm == pytest.approx(1050.0, abs=5.0)
            await desk.save_preset(4)
            await elapse(0.2)  # four frames at 9600 baud
            assert emulator.presets[4] == pytest.approx(1050.0)

    run_virtual(scenario())


def test_inch_boxes_land_within_the_display_resolution() -> None:
    async def scenario() -> None:
        async with emulated(LoctekOptions(inches=True)) as (emulator, desk):
            assert desk.state.height_mm == pytest.approx(720.0, abs=1.3)
            await calibrate(desk)
            for target in (1000.0, 800.0):
                await desk.move_to(target)
                await emulator.settled()
                # Tenths of an inch below 100 in: 2.54 mm digits, half of one either way.
                assert emulator.height_mm == pytest.approx(target, abs=1.3 + 1.0)

    run_virtual(scenario())


def test_a_collision_ends_the_move_until_the_user_stops_the_desk() -> None:
    async def scenario() -> None:
        options = LoctekOptions(height_mm=1000.0, obstacle_mm=850.0)
        async with emulated(options) as (emulator, desk):
            with pytest.raises(Collision):
                await desk.move_to(700.0)
            await emulator.settled()
            assert emulator.height_mm > 850.0  # it backed off
            sent = len(emulator.received)
            with pytest.raises(Collision):
                await desk.move_to(950.0)
            assert len(emulator.received) == sent  # refused before a byte
            emulator.model.obstacle_mm = None
            await desk.stop()
            assert desk.state.fault is None
            await desk.move_to(950.0)

    run_virtual(scenario())


def test_the_duty_cycle_cut_out_shows_hot_and_is_an_overheated_error() -> None:
    async def scenario() -> None:
        params = LoctekOptions().params
        params = MotorParams(
            min_mm=params.min_mm,
            max_mm=params.max_mm,
            stop_latency_s=params.stop_latency_s,
            coast_s=params.coast_s,
            report_interval_s=params.report_interval_s,
            duty_on_s=6.0,
            duty_window_s=60.0,
        )
        async with emulated(LoctekOptions(params=params)) as (emulator, desk):
            with pytest.raises(Overheated):
                await desk.move_to(1200.0)
            assert emulator.display() == "H0t"
            assert desk.state.fault is Fault.OVERHEATED

    run_virtual(scenario())


def test_an_error_code_on_the_display_is_a_fault_that_names_it() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            emulator.show_error("E03")
            await elapse(0.2)
            with pytest.raises(DeskFault, match="E03"):
                await desk.move_to(900.0)

    run_virtual(scenario())


def test_a_noisy_line_still_gets_the_desk_there() -> None:
    async def scenario() -> None:
        line = LineFaults(noise=0.2, corrupt=0.1, drop=0.05, seed=3)
        async with emulated(LoctekOptions(line=line)) as (emulator, desk):
            await calibrate(desk)
            for target in (900.0, 780.0):
                await desk.move_to(target)
                await emulator.settled()
                # A lost display frame hides a rollover: a few millimetres, not a failure.
                assert emulator.height_mm == pytest.approx(target, abs=5.0)
            stats = desk._parser.stats
            assert stats.bad_checksums > 0
            assert stats.dropped_bytes > 0

    run_virtual(scenario())
