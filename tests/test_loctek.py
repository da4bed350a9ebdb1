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
from deskctl.errors import ConnectionLost
from deskctl.vtime import elapse, run_virtual


@asynccontextmanager
async def emulated(
    options: LoctekOptions | None = None,
) -> AsyncIterator[tuple[LoctekEmulator, LoctekDesk]]:
    emulator = LoctekEmulator(options)
    port = await emulator.start()
    try:
        async with LoctekDesk(port, clock=LoopClock()) as desk:
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
