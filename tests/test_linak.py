"""The Linak driver against the emulated Linak desk, end to end over the virtual BLE stack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from bleak.exc import BleakError
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deskctl.clock import LoopClock
from deskctl.drivers import linak_codec as codec
from deskctl.drivers.ble_bumble import BumbleClient, BumbleScanner, LinkDelays
from deskctl.drivers.ble_connect import link_error
from deskctl.drivers.linak import PAIRING_ADVICE, LinakDesk
from deskctl.drivers.linak_emulator import LinakEmulator, LinakOptions
from deskctl.drivers.scan import scan
from deskctl.errors import (
    Collision,
    ConnectionLost,
    DeskNotFound,
    DeskUnavailable,
    OutOfRange,
    PairingRequired,
)
from deskctl.model import Direction, Fault, Link
from deskctl.physics import MotorParams
from deskctl.vtime import elapse, run_virtual

ADDRESS = "C2:00:00:00:00:01"


@asynccontextmanager
async def emulated(
    options: LinakOptions | None = None,
) -> AsyncIterator[tuple[LinakEmulator, LinakDesk]]:
    emulator = LinakEmulator(options or LinakOptions())
    await emulator.start(ADDRESS)
    desk = LinakDesk(
        ADDRESS, clock=LoopClock(), client_backend=BumbleClient, scanner_backend=BumbleScanner
    )
    try:
        async with desk:
            yield emulator, desk
    finally:
        await emulator.power_cut()


def commands(emulator: LinakEmulator) -> list[str]:
    return [value.hex(" ") for uuid, value in emulator.received if uuid == codec.CHAR_COMMAND]


def test_connect_reads_the_desk_and_wakes_it() -> None:
    async def scenario() -> None:
        options = LinakOptions(
            params=MotorParams(min_mm=640.0, max_mm=1290.0),
            height_mm=800.0,
            memory_slots=3,
            memories_mm={1: 730.0, 2: 1120.0},
        )
        async with emulated(options) as (emulator, desk):
            assert desk.state.link is Link.CONNECTED
            assert desk.state.height_mm == 800.0
            assert (desk.limits.min_mm, desk.limits.max_mm) == (640.0, 1290.0)
            assert await desk.presets() == {1: 730.0, 2: 1120.0, 3: None}
            assert commands(emulator)[-1] == "fe 00"  # woken last

    run_virtual(scenario())


def test_moves_up_and_down_across_the_whole_range() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            for target in (1270.0, 620.0, 1000.5, 999.0):
                final = await desk.move_to(target)
                assert final.height_mm == pytest.approx(target, abs=1.0)
                assert emulator.height_mm == pytest.approx(target, abs=1.0)
            # Each move ended the way the official app ends one.
            assert emulator.received[-2:] == [
                (codec.CHAR_REFERENCE_INPUT, bytes.fromhex("0180")),
                (codec.CHAR_COMMAND, bytes.fromhex("ff00")),
            ]

    run_virtual(scenario())


def test_target_is_rewritten_often_enough_that_the_desk_never_stalls() -> None:
    async def scenario() -> None:
        # A strict controller: the target must be refreshed within 0.15 s.
        async with emulated(LinakOptions(reference_timeout_s=0.15)) as (emulator, desk):
            loop = asyncio.get_running_loop()
            started = loop.time()
            await desk.move_to(1200.0)
            elapsed = loop.time() - started
            assert elapsed <= 1.01 * emulator.model.params.minimum_move_time(480.0) + 0.2
            writes = [v for u, v in emulator.received if u == codec.CHAR_REFERENCE_INPUT]
            assert len(writes) >= elapsed / 0.1 - 1

    run_virtual(scenario())


def test_cancel_mid_move_stops_the_desk_within_one_report() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(3.0)
            sent = len(emulator.received)
            move.cancel()
            with pytest.raises(asyncio.CancelledError):
                await move
            await elapse(emulator.model.params.report_interval_s)
            assert "ff 00" in [v.hex(" ") for _, v in emulator.received[sent:]]
            await elapse(emulator.model.params.coast_s)
            assert not emulator.model.busy

    run_virtual(scenario())


def test_stop_ends_a_move() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(2.0)
            await desk.stop()
            with pytest.raises(Exception, match="stopped before"):
                await move
            await elapse(1.0)
            assert not emulator.model.busy
            assert 720.0 < emulator.height_mm < 900.0

    run_virtual(scenario())


def test_disconnect_mid_move_stops_by_watchdog_reports_and_reconnects() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            with desk.subscribe() as states:
                move = asyncio.create_task(desk.move_to(1250.0))
                await elapse(3.0)
                await emulator.out_of_range()
                with pytest.raises(ConnectionLost, match="not resumed"):
                    await move
                assert desk.state.link is Link.RECONNECTING
                # No one refreshes the target any more: the desk stops by itself.
                await elapse(emulator.options.reference_timeout_s + 1.0)
                assert not emulator.model.busy
                stopped_at = emulator.height_mm
                await emulator.back_in_range()
                links: list[Link] = []
                async for state in states:
                    if not links or state.link is not links[-1]:
                        links.append(state.link)
                    if links[-2:] == [Link.RECONNECTING, Link.CONNECTED]:
                        break
            assert desk.state.height_mm == pytest.approx(stopped_at, abs=0.1)
            await elapse(5.0)
            assert emulator.height_mm == stopped_at  # the move was not resumed
            await desk.move_to(900.0)

    run_virtual(scenario())


def test_hold_to_move_runs_while_held_and_stops_on_release() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            async with desk.hold(Direction.UP):
                await elapse(3.0)  # held longer than one command runs the motor
                assert emulator.model.busy
            await emulator.settled()
            assert 790.0 < emulator.height_mm < 830.0
            assert commands(emulator).count("47 00") >= 5
            assert commands(emulator)[-1] == "ff 00"

    run_virtual(scenario())


def test_close_is_idempotent_and_leaves_the_desk_advertising_for_others() -> None:
    async def scenario() -> None:
        async with emulated() as (_, desk):
            await desk.close()
            await desk.close()
            assert desk.state.link is Link.DISCONNECTED
            other = LinakDesk(ADDRESS, client_backend=BumbleClient, scanner_backend=BumbleScanner)
            async with other:
                assert other.state.link is Link.CONNECTED

    run_virtual(scenario())


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (BleakError("org.bluez.Error.AuthenticationFailed"), PairingRequired, "bluetoothctl pair"),
        (BleakError("Device with address X was not found"), DeskNotFound, "powered"),
        (FileNotFoundError(2, "No such file or directory"), DeskUnavailable, "not available"),
    ],
)
def test_link_errors_say_what_to_do(error: Exception, kind: type[Exception], words: str) -> None:
    mapped = link_error("C2:00:00:00:00:09", error, PAIRING_ADVICE)  # type: ignore[arg-type]
    assert type(mapped) is kind
    assert words in str(mapped)


def test_collision_ends_the_move_until_the_user_stops_the_desk() -> None:
    async def scenario() -> None:
        async with emulated(LinakOptions(height_mm=1100.0, obstacle_mm=900.0)) as (emulator, desk):
            with pytest.raises(Collision):
                await desk.move_to(700.0)
            assert desk.state.fault is Fault.COLLISION
            sent = len(emulator.received)
            with pytest.raises(Collision):
                await desk.move_to(1000.0)
            assert len(emulator.received) == sent
            await desk.stop()
            emulator.place_obstacle(None)
            await desk.move_to(700.0)

    run_virtual(scenario())


def test_dpg1c_controller_moves_only_after_the_user_id_handshake() -> None:
    async def scenario() -> None:
        emulator = LinakEmulator(LinakOptions(needs_user_id=True))
        await emulator.start(ADDRESS)
        assert not emulator.unlocked
        desk = LinakDesk(ADDRESS, client_backend=BumbleClient, scanner_backend=BumbleScanner)
        async with desk:
            assert emulator.unlocked
            assert emulator.user_id == codec.DESKCTL_USER_ID
            await desk.move_to(1000.0)
        await emulator.power_cut()

    run_virtual(scenario())


def test_a_user_id_already_set_is_left_alone() -> None:
    async def scenario() -> None:
        emulator = LinakEmulator(LinakOptions(needs_user_id=True))
        app_id = bytes([0x01]) + bytes(range(100, 116))
        emulator.user_id, emulator.unlocked = app_id, True
        await emulator.start(ADDRESS)
        async with LinakDesk(ADDRESS, client_backend=BumbleClient, scanner_backend=BumbleScanner):
            pass
        assert emulator.user_id == app_id
        await emulator.power_cut()

    run_virtual(scenario())


def test_presets_recall() -> None:
    async def scenario() -> None:
        options = LinakOptions(memory_slots=2, memories_mm={2: 1105.0})
        async with emulated(options) as (_, desk):
            final = await desk.recall_preset(2)
            assert final.height_mm == pytest.approx(1105.0, abs=1.0)

    run_virtual(scenario())


@pytest.mark.parametrize("target", [619.0, 1271.0, 3000.0])
def test_out_of_range_target_refused_before_a_byte_is_sent(target: float) -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            sent = len(emulator.received)
            with pytest.raises(OutOfRange):
                await desk.move_to(target)
            assert len(emulator.received) == sent

    run_virtual(scenario())


def test_a_desk_that_is_not_there_fails_in_bounded_time() -> None:
    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        desk = LinakDesk(
            "C2:DE:AD:00:00:00",
            connect_timeout_s=3.0,
            client_backend=BumbleClient,
            scanner_backend=BumbleScanner,
        )
        with pytest.raises(DeskNotFound, match="C2:DE:AD:00:00:00"):
            await desk.connect()
        return loop.time() - started

    assert run_virtual(scenario()) <= 3.5


def test_scan_finds_emulated_desks() -> None:
    async def scenario() -> None:
        emulator = LinakEmulator(LinakOptions(name="Desk 1234"))
        await emulator.start(ADDRESS)
        found = await scan(1.0, scanner_backend=BumbleScanner)
        assert [(d.name, d.address, d.family, d.url) for d in found] == [
            ("Desk 1234", ADDRESS, "linak", f"linak://{ADDRESS}")
        ]
        await emulator.power_cut()

    run_virtual(scenario())


@settings(max_examples=12, deadline=None)
@given(
    ramp=st.floats(0.5, 3.0),
    top_speed=st.floats(25.0, 65.0),
    coast_mm=st.floats(2.0, 20.0),
    report=st.floats(0.05, 0.25),
    jitter=st.floats(0.0, 0.05),
    target=st.floats(640.0, 1250.0),
)
def test_reaches_targets_on_any_plausible_desk(
    *, ramp: float, top_speed: float, coast_mm: float, report: float, jitter: float, target: float
) -> None:
    assume(abs(target - 720.0) >= 10.0)
    params = MotorParams(
        top_speed_mm_s=top_speed,
        ramp_s=ramp,
        coast_s=2 * coast_mm / top_speed,  # braking from top speed covers coast_mm
        report_interval_s=report,
    )

    async def scenario() -> float:
        async with emulated(
            LinakOptions(
                params=params, link=LinkDelays(latency_s=jitter, seed=7) if jitter else None
            )
        ) as (_, desk):
            started = desk.clock.now()
            start = desk.state.height_mm
            final = await desk.move_to(target)
            assert final.height_mm == pytest.approx(target, abs=1.0)
            return (final.timestamp - started) / params.minimum_move_time(target - start)

    assert run_virtual(scenario()) <= 1.05 + 0.3  # generous: short moves and slow reports
