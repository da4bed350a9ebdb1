"""The Jiecang serial driver against the emulated box, over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from deskctl.clock import LoopClock
from deskctl.drivers import jiecang_codec as codec
from deskctl.drivers.jiecang import JiecangDesk
from deskctl.drivers.jiecang_emulator import JiecangEmulator, JiecangOptions
from deskctl.errors import ConnectionLost, DeskNotFound, OutOfRange, Overheated
from deskctl.model import Fault, Link
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
        options = JiecangOptions(noise=0.2, corrupt=0.1, drop=0.05, seed=7)
        async with emulated(options) as (emulator, desk):
            final = await desk.move_to(1200.0)
            assert final.height_mm == pytest.approx(1200.0, abs=1.0)
            stats = desk._parser.stats
            assert stats.bad_checksums + stats.dropped_bytes > 0
            assert [f.op for f in emulator.received].count(codec.Op.MOVE_TO) == 1

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


def test_cable_pulled_mid_move_is_one_clear_error() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(2.0)
            await emulator.unplug()
            with pytest.raises(ConnectionLost, match="serial line"):
                await move
            assert desk.state.link is Link.LOST

    run_virtual(scenario())
