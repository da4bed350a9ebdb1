"""The Jiecang driver through an emulated BLE adapter, end to end over the virtual BLE stack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from deskctl.clock import LoopClock
from deskctl.drivers import jiecang_codec as codec
from deskctl.drivers.ble_bumble import BumbleClient, BumbleScanner
from deskctl.drivers.jiecang_ble import JiecangBleDesk
from deskctl.drivers.jiecang_ble_emulator import JiecangBleAdapter
from deskctl.drivers.jiecang_emulator import MOTION_OPS, JiecangEmulator, JiecangOptions
from deskctl.drivers.jiecang_variants import lone_step_mm
from deskctl.drivers.linak_emulator import LinakEmulator
from deskctl.drivers.scan import scan
from deskctl.errors import Collision, ConnectionLost, DeskNotFound
from deskctl.model import Link
from deskctl.vtime import elapse, run_virtual

ADDRESS = "C4:00:00:12:34:56"


def ble_desk(address: str = ADDRESS) -> JiecangBleDesk:
    return JiecangBleDesk(
        address, clock=LoopClock(), client_backend=BumbleClient, scanner_backend=BumbleScanner
    )


@asynccontextmanager
async def emulated(
    options: JiecangOptions | None = None, variant: str = "fe60"
) -> AsyncIterator[tuple[JiecangBleAdapter, JiecangBleDesk]]:
    adapter = JiecangBleAdapter(JiecangEmulator(options), variant)
    await adapter.start(ADDRESS)
    try:
        async with ble_desk() as desk:
            yield adapter, desk
    finally:
        await adapter.stop()


@pytest.mark.parametrize("variant", [variant.name for variant in codec.BLE_VARIANTS])
def test_every_adapter_layout_is_found_and_moves_the_desk(variant: str) -> None:
    async def scenario() -> None:
        async with emulated(variant=variant) as (adapter, desk):
            assert desk.link.variant is codec.BLE_VARIANTS_BY_NAME[variant]  # type: ignore[attr-defined]
            for target in (1250.0, 680.0):
                final = await desk.move_to(target)
                assert final.height_mm == pytest.approx(target, abs=1.0)
                assert adapter.box.height_mm == pytest.approx(target, abs=1.0)
            assert desk.move_to_supported  # the first move found it out

    run_virtual(scenario())


def test_an_inch_box_over_ble_lands_within_a_tenth_of_an_inch() -> None:
    async def scenario() -> None:
        async with emulated(JiecangOptions(inches=True, presets_mm={1: 760.0})) as (_, desk):
            assert desk.inches
            final = await desk.move_to(1030.0)
            assert final.height_mm == pytest.approx(1030.0, abs=1.27)
            presets = await desk.presets()
            assert presets[1] == pytest.approx(760.0, abs=1.27)

    run_virtual(scenario())


def test_cancel_and_collision_over_ble() -> None:
    async def scenario() -> None:
        options = JiecangOptions(height_mm=1100.0, obstacle_mm=800.0)
        async with emulated(options) as (adapter, desk):
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(1.5)
            heard = len(adapter.box.received)
            move.cancel()
            with pytest.raises(asyncio.CancelledError):
                await move
            await adapter.box.settled()
            assert adapter.box.received[heard].op == codec.Op.STOP
            assert adapter.box.height_mm < 1200.0
            with pytest.raises(Collision):
                await desk.move_to(700.0)

    run_virtual(scenario())


def test_a_lost_link_mid_move_is_one_clear_error() -> None:
    async def scenario() -> None:
        async with emulated() as (adapter, desk):
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(2.0)
            await adapter.out_of_range()
            with pytest.raises(ConnectionLost, match="Bluetooth link"):
                await move
            assert desk.state.link is Link.LOST

    run_virtual(scenario())


def test_a_device_without_the_adapter_services_is_refused() -> None:
    async def scenario() -> None:
        linak = LinakEmulator()
        await linak.start(ADDRESS)
        try:
            with pytest.raises(DeskNotFound, match="none of the Jiecang adapter services"):
                await ble_desk().connect()
        finally:
            await linak.power_cut()

    run_virtual(scenario())


def test_scan_offers_adapters_as_jiecang_ble_urls() -> None:
    async def scenario() -> None:
        adapter = JiecangBleAdapter(JiecangEmulator(), "ff12")
        await adapter.start(ADDRESS)
        try:
            found = await scan(1.0, scanner_backend=BumbleScanner)
        finally:
            await adapter.stop()
        assert [desk.url for desk in found] == [f"jiecang-ble://{ADDRESS}"]
        assert found[0].name == "BLE Device 123456"

    run_virtual(scenario())


@pytest.mark.parametrize("seed", range(24))
def test_a_seeded_adapter_and_box_are_found_read_and_moved(seed: int) -> None:
    async def scenario() -> None:
        adapter = JiecangBleAdapter.seeded(seed)
        box = adapter.box
        await adapter.start(ADDRESS)
        try:
            async with ble_desk() as desk:
                assert desk.link.variant is adapter.variant  # type: ignore[attr-defined]
                assert not {frame.op for frame in box.received} & MOTION_OPS
                options = box.options
                unit = 2.54 if options.inches else 1.0
                start = box.height_mm
                way = 1 if start < (desk.limits.min_mm + desk.limits.max_mm) / 2 else -1
                target = start + way * 120.0
                final = await desk.move_to(target)
                await box.settled()
                exact = max(1.0, unit / 2) + 0.01
                promise = exact if options.move_to else lone_step_mm(options) / 2 + unit
                assert box.height_mm == pytest.approx(target, abs=max(exact, promise))
                assert final.height_mm == pytest.approx(box.height_mm, abs=unit)
        finally:
            await adapter.stop()

    run_virtual(scenario())
