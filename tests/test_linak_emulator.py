"""The emulated Linak desk is as strict and as varied as the sources say real ones are.

Driven here by a plain bleak client over the virtual radio, with the raw bytes,
so that what is checked is the emulator, not deskctl's driver.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from bleak import BleakClient
from bleak.exc import BleakError

from deskctl.drivers import linak_codec as codec
from deskctl.drivers.ble_bumble import BumbleClient, LinkDelays
from deskctl.drivers.linak_emulator import LinakEmulator, LinakOptions
from deskctl.physics import MotorParams
from deskctl.vtime import elapse, run_virtual

ADDRESS = "C2:00:00:00:00:11"


@asynccontextmanager
async def connected(
    options: LinakOptions | None = None,
) -> AsyncIterator[tuple[LinakEmulator, BleakClient, asyncio.Queue[tuple[str, bytes]]]]:
    """The emulator, a raw client, and every notification it sends: (UUID, bytes)."""
    emulator = LinakEmulator(options or LinakOptions())
    await emulator.start(ADDRESS)
    client = BleakClient(ADDRESS, backend=BumbleClient)
    heard: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    try:
        await client.connect()
        for uuid in (codec.CHAR_DPG, codec.CHAR_ERROR, codec.CHAR_HEIGHT_SPEED):

            def keep(_: object, data: bytearray, uuid: str = uuid) -> None:
                heard.put_nowait((uuid, bytes(data)))

            await client.start_notify(uuid, keep)
        yield emulator, client, heard
    finally:
        await client.disconnect()
        await emulator.power_cut()


async def next_from(heard: asyncio.Queue[tuple[str, bytes]], uuid: str) -> bytes | None:
    """The next notification on ``uuid`` within a second, or None."""
    try:
        async with asyncio.timeout(1.0):
            while True:
                source, data = await heard.get()
                if source == uuid:
                    return data
    except TimeoutError:
        return None


async def settings(client: BleakClient, heard: asyncio.Queue[tuple[str, bytes]], hex_: str) -> str:
    await client.write_gatt_char(codec.CHAR_DPG, bytes.fromhex(hex_), response=True)
    answer = await next_from(heard, codec.CHAR_DPG)
    assert answer is not None
    return answer.hex(" ")


def test_the_target_takes_commands_only() -> None:
    async def scenario() -> None:
        async with connected() as (emulator, client, _):
            target = codec.encode_reference(300.0)
            with pytest.raises(BleakError, match="refused"):
                await client.write_gatt_char(codec.CHAR_REFERENCE_INPUT, target, response=True)
            await elapse(1.0)
            assert emulator.received == []
            assert not emulator.model.busy
            await client.write_gatt_char(codec.CHAR_REFERENCE_INPUT, target, response=False)
            await elapse(0.3)
            assert emulator.model.busy

    run_virtual(scenario())


def test_settings_take_requests_only() -> None:
    async def scenario() -> None:
        async with connected() as (emulator, client, heard):
            await client.write_gatt_char(codec.CHAR_DPG, bytes.fromhex("7f8000"), response=False)
            assert await next_from(heard, codec.CHAR_DPG) is None
            assert emulator.received == []

    run_virtual(scenario())


def test_unknown_and_read_only_settings_are_refused() -> None:
    async def scenario() -> None:
        async with connected() as (_, client, heard):
            assert await settings(client, heard, "7f4200") == "0b 00"  # no such setting
            assert await settings(client, heard, "7f808001") == "0b 00"  # capabilities
            assert (await settings(client, heard, "7f8000")).startswith("01 02")
            assert await settings(client, heard, "7f8200") == "01 00"  # known, nothing kept

    run_virtual(scenario())


def test_an_empty_user_id_is_refused_and_unlocks_nothing() -> None:
    async def scenario() -> None:
        async with connected(LinakOptions(needs_user_id=True)) as (emulator, client, heard):
            assert await settings(client, heard, "7f8680") == "0b 00"
            assert not emulator.unlocked
            user = codec.encode_dpg_write(codec.DpgCommand.USER_ID, codec.DESKCTL_USER_ID)
            assert await settings(client, heard, user.hex()) == "01 00"
            assert emulator.unlocked

    run_virtual(scenario())


def test_a_collision_is_reported_and_holds_until_a_stop() -> None:
    async def scenario() -> None:
        options = LinakOptions(height_mm=1000.0, obstacle_mm=900.0, error_clear_s=0.8)
        async with connected(options) as (emulator, client, heard):
            down = codec.encode_reference(700.0 - 620.0)
            for _ in range(60):
                await client.write_gatt_char(codec.CHAR_REFERENCE_INPUT, down, response=False)
                await elapse(0.1)
                if emulator.collision_locked:
                    break
            assert await next_from(heard, codec.CHAR_ERROR) == bytes.fromhex("01003b")
            assert await next_from(heard, codec.CHAR_ERROR) == b""  # the frame that follows
            error = await client.read_gatt_char(codec.CHAR_ERROR)
            assert bytes(error) == bytes.fromhex("01003b")  # still locked
            await emulator.settled()
            resting = emulator.height_mm
            await client.write_gatt_char(codec.CHAR_REFERENCE_INPUT, down, response=False)
            await client.write_gatt_char(
                codec.CHAR_COMMAND, codec.encode_command(codec.Command.DOWN), response=True
            )
            await elapse(1.0)
            assert emulator.height_mm == resting  # ignored
            await client.write_gatt_char(
                codec.CHAR_COMMAND, codec.encode_command(codec.Command.STOP), response=True
            )
            assert bytes(await client.read_gatt_char(codec.CHAR_ERROR)) == b""
            assert not emulator.collision_locked

    run_virtual(scenario())


def test_a_new_height_too_soon_is_ignored_and_halts_a_travelling_desk() -> None:
    async def scenario() -> None:
        async with connected(LinakOptions(retarget_gap_s=0.9)) as (emulator, client, heard):

            async def write(above_base_mm: float) -> None:
                raw = codec.encode_reference(above_base_mm)
                await client.write_gatt_char(codec.CHAR_REFERENCE_INPUT, raw, response=False)

            for _ in range(10):
                await write(400.0)
                await elapse(0.1)
            assert emulator.model.busy
            await write(200.0)  # a different height while travelling: it halts
            assert await next_from(heard, codec.CHAR_ERROR) == bytes.fromhex("010010")
            await emulator.settled()
            halted = emulator.height_mm
            for _ in range(10):  # rewritten without a pause, it stays deaf
                await write(200.0)
                await elapse(0.1)
            assert emulator.height_mm == halted
            await elapse(1.0)
            await write(200.0)  # after a quiet second it goes
            await elapse(0.3)
            assert emulator.model.busy

    run_virtual(scenario())


async def run_towards(client: BleakClient, above_base_mm: float, seconds: float) -> None:
    raw = codec.encode_reference(above_base_mm)
    for _ in range(round(seconds / 0.1)):
        await client.write_gatt_char(codec.CHAR_REFERENCE_INPUT, raw, response=False)
        await elapse(0.1)


@pytest.mark.parametrize("ends", [True, False])
def test_stop_may_leave_a_move_to_running(ends: bool) -> None:
    async def scenario() -> None:
        # Full speed 38 mm/s, 0.5 s to brake (9.5 mm), the target goes stale after 0.5 s.
        async with connected(LinakOptions(stop_ends_move_to=ends)) as (emulator, client, _):
            await run_towards(client, 500.0, 2.0)
            stopped_at = emulator.height_mm
            await client.write_gatt_char(
                codec.CHAR_COMMAND, codec.encode_command(codec.Command.STOP), response=True
            )
            await emulator.settled()
            ran_on = emulator.height_mm - stopped_at
            assert ran_on < 11.0 if ends else ran_on > 20.0

    run_virtual(scenario())


def test_the_reference_stop_value_ends_a_move_to() -> None:
    async def scenario() -> None:
        async with connected(LinakOptions(stop_ends_move_to=False)) as (emulator, client, _):
            await run_towards(client, 500.0, 2.0)
            stopped_at = emulator.height_mm
            stop = codec.encode_reference_stop()
            await client.write_gatt_char(codec.CHAR_REFERENCE_INPUT, stop, response=False)
            await emulator.settled()
            assert emulator.height_mm - stopped_at < 11.0

    run_virtual(scenario())


def test_seeded_desks_span_the_described_range() -> None:
    desks = [LinakOptions.seeded(seed) for seed in range(300)]
    assert LinakOptions.seeded(7) == LinakOptions.seeded(7)
    tops = [d.params.max_mm for d in desks]
    bases = [d.params.min_mm for d in desks]
    assert 1115.0 <= min(tops) < 1130.0
    assert 1265.0 < max(tops) <= 1280.0
    assert 620.0 <= min(bases) < 622.0
    assert 638.0 < max(bases) <= 640.0
    for desk in desks:
        params = desk.params
        assert 32.0 <= params.top_speed_mm_s <= 62.0
        assert 0.05 <= params.report_interval_s <= 0.2
        assert 0.45 <= desk.reference_timeout_s <= 0.9
        assert params.landing_s is not None
        assert params.landing_s <= params.coast_s
        # A stop while braking onto the target runs at most half a millimetre past.
        past = params.top_speed_mm_s**2 / 2 * (1 / params.decel - 1 / params.landing_decel)
        assert past <= 0.5 + 1e-9
        assert params.min_mm < desk.height_mm < params.max_mm
    for varied in ("needs_user_id", "stop_ends_move_to", "missing_slot_answer"):
        assert len({getattr(d, varied) for d in desks}) > 1, varied
    assert any(d.retarget_gap_s for d in desks)
    assert not all(d.retarget_gap_s for d in desks)
    assert {d.error_clear_s for d in desks} == {0.8, None}


def test_a_poor_link_holds_things_up() -> None:
    async def scenario() -> None:
        link = LinkDelays(latency_s=0.02, spike_p=0.5, spike_s=(0.3, 0.7), seed=3)
        params = MotorParams(report_interval_s=0.1)
        async with connected(LinakOptions(params=params, link=link)) as (_, client, _heard):
            loop = asyncio.get_running_loop()
            took = []
            for _ in range(20):
                began = loop.time()
                await client.read_gatt_char(codec.CHAR_HEIGHT_SPEED)
                took.append(loop.time() - began)
            assert min(took) >= 0.039  # both ways
            assert any(t >= 0.3 for t in took)
            assert any(t < 0.1 for t in took)
            assert max(took) <= 2 * 0.72 + 0.01

    run_virtual(scenario())


def test_an_ordered_link_keeps_the_order_of_writes() -> None:
    async def scenario() -> None:
        for ordered in (False, True):
            link = LinkDelays(0.0, 0.5, (0.1, 0.5), seed=1, ordered=ordered)
            async with connected(LinakOptions(link=link)) as (emulator, client, _):
                writes = [
                    client.write_gatt_char(
                        codec.CHAR_REFERENCE_INPUT, codec.encode_reference(float(n)), response=False
                    )
                    for n in range(1, 30)
                ]
                await asyncio.gather(*writes)
                await elapse(0.1)
                arrived = [codec.decode_reference(v) for _, v in emulator.received]
                assert sorted(arrived) == [float(n) for n in range(1, 30)]  # type: ignore[type-var]
                assert (arrived == sorted(arrived)) is ordered  # type: ignore[type-var]

    run_virtual(scenario())
