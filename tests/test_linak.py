"""The Linak driver against the emulated Linak desk, end to end over the virtual BLE stack."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

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


def settings_written(emulator: LinakEmulator) -> list[str]:
    return [
        value.hex(" ")
        for uuid, value in emulator.received
        if uuid == codec.CHAR_DPG and codec.decode_dpg_request(value).write
    ]


def test_connect_reads_the_desk_and_changes_nothing() -> None:
    async def scenario() -> None:
        options = LinakOptions(
            params=MotorParams(min_mm=640.0, max_mm=1290.0),
            height_mm=800.0,
            memory_slots=3,
            memories_mm={1: 730.0, 2: 1120.0},
            needs_user_id=True,
        )
        async with emulated(options) as (emulator, desk):
            assert desk.state.link is Link.CONNECTED
            assert desk.state.height_mm == 800.0
            # The base comes from the desk; its top is not known until the desk has been there.
            assert desk.limits.min_mm == 640.0
            assert desk.limits.max_mm >= 1290.0
            assert await desk.presets() == {1: 730.0, 2: 1120.0, 3: None}
            assert commands(emulator)[-1] == "fe 00"  # woken last
            assert settings_written(emulator) == []

    run_virtual(scenario())


def test_moves_up_and_down_across_the_whole_range() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            for target in (1270.0, 620.0, 1000.5, 999.0):
                final = await desk.move_to(target)
                assert final.height_mm == pytest.approx(target, abs=1.0)
                assert emulator.height_mm == pytest.approx(target, abs=1.0)
            # Each move ended with the reference stop value, and never with a STOP, which
            # would re-arm a desk that hit something.
            await elapse(0.05)  # a command has no reply: give the link its moment
            assert emulator.received[-1] == (codec.CHAR_REFERENCE_INPUT, bytes.fromhex("0180"))
            assert "ff 00" not in commands(emulator)

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
            await elapse(0.05)
            assert 790.0 < emulator.height_mm < 830.0
            assert commands(emulator).count("47 00") >= 5
            assert "ff 00" not in commands(emulator)  # let go without re-arming anything
            assert emulator.received[-1] == (codec.CHAR_REFERENCE_INPUT, bytes.fromhex("0180"))

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


def test_dpg1c_user_id_is_written_only_when_a_move_needs_it() -> None:
    async def scenario() -> None:
        emulator = LinakEmulator(LinakOptions(needs_user_id=True))
        await emulator.start(ADDRESS)
        desk = LinakDesk(ADDRESS, client_backend=BumbleClient, scanner_backend=BumbleScanner)
        async with desk:
            assert settings_written(emulator) == []
            with pytest.raises(OutOfRange):
                await desk.move_to(3000.0)  # refused: nothing is asked of the desk
            assert settings_written(emulator) == []
            assert not emulator.unlocked
            await desk.move_to(1000.0)
            assert emulator.unlocked
            assert emulator.user_id == codec.DESKCTL_USER_ID
            assert emulator.height_mm == pytest.approx(1000.0, abs=0.5)
            await desk.move_to(900.0)
            assert len(settings_written(emulator)) == 1  # once is enough
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


@pytest.mark.parametrize("target", [619.0, 1301.0, 3000.0])
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


# -- moves end, whatever the link and the stack do ------------------------------------------


class StackThatSwallowsCancellation(BumbleClient):
    """A Bluetooth stack that, cancelled during a write, finishes the write and carries on as
    if nothing happened (as ``asyncio.wait_for`` can when the reply and the cancellation
    arrive together)."""

    async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
        write = asyncio.ensure_future(super().write_gatt_char(characteristic, data, response))
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            await write


def heavy_spikes(seed: int, *, ordered: bool = False) -> LinkDelays:
    return LinkDelays(0.02, 0.2, (0.3, 0.7), seed=seed, ordered=ordered)


@pytest.mark.parametrize("seed", range(6))
def test_a_move_ends_even_when_the_stack_swallows_a_cancellation(seed: int) -> None:
    async def scenario() -> None:
        options = LinakOptions.seeded(seed, link=heavy_spikes(seed))
        emulator = LinakEmulator(options)
        await emulator.start(ADDRESS)
        desk = LinakDesk(
            ADDRESS, client_backend=StackThatSwallowsCancellation, scanner_backend=BumbleScanner
        )
        try:
            async with desk:
                for target in (options.params.min_mm + 280.0, options.params.min_mm + 30.0):
                    async with asyncio.timeout(120):
                        final = await desk.move_to(target)
                    sent = len(emulator.received)
                    await elapse(1.5)  # a write the stack went on with may still arrive
                    settled = len(emulator.received)
                    assert settled - sent <= 3
                    await elapse(5.0)
                    assert len(emulator.received) == settled  # nothing goes on writing
                    assert not emulator.model.busy
                    assert emulator.height_mm == pytest.approx(final.height_mm, abs=0.5)
        finally:
            await emulator.power_cut()

    run_virtual(scenario())


@pytest.mark.parametrize("ordered", [False, True], ids=["side by side", "in order"])
@pytest.mark.parametrize("seed", range(10))
def test_lands_on_seeded_desks_over_a_poor_link(seed: int, ordered: bool) -> None:
    """Across the range of desks the sources describe, under 20 % spikes of 0.3-0.7 s."""

    async def scenario() -> None:
        options = LinakOptions.seeded(seed, link=heavy_spikes(seed, ordered=ordered))
        params = options.params
        emulator = LinakEmulator(options)
        await emulator.start(ADDRESS)
        desk = LinakDesk(ADDRESS, client_backend=BumbleClient, scanner_backend=BumbleScanner)
        try:
            async with desk:
                for target in (params.max_mm - 40.0, params.min_mm + 60.0):
                    start, began = emulator.height_mm, emulator.clock.now()
                    sign = 1 if target > start else -1
                    furthest = 0.0
                    move = asyncio.create_task(desk.move_to(target))
                    while not move.done():
                        furthest = max(furthest, (emulator.height_mm - target) * sign)
                        await elapse(0.01)
                    final = await move
                    await emulator.settled()
                    assert abs(emulator.height_mm - target) <= 0.5
                    assert final.height_mm == pytest.approx(emulator.height_mm, abs=0.1)
                    assert furthest <= 0.5  # no overshoot
                    runs = [run for run in emulator.model.duty.runs if run[1] > began]
                    ratio = (runs[-1][1] - runs[0][0]) / params.minimum_move_time(target - start)
                    assert ratio <= (3.0 if ordered else 1.5)
        finally:
            await emulator.power_cut()

    run_virtual(scenario())


class HeldReferenceWrites(BumbleClient):
    """A link that, while ``held`` is set, holds every target write up for a second."""

    held = False

    async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
        if HeldReferenceWrites.held and str(characteristic.uuid) == codec.CHAR_REFERENCE_INPUT:
            await asyncio.sleep(1.0)
        await super().write_gatt_char(characteristic, data, response)


def test_a_watchdog_stop_that_runs_past_the_target_is_no_collision() -> None:
    async def scenario() -> None:
        # The controller brakes onto its target harder than it stops when the target goes
        # stale: a stop during the landing runs past, and the desk comes back.
        params = MotorParams(coast_s=0.5, landing_s=0.35)
        options = LinakOptions(params=params, reference_timeout_s=0.15)
        emulator = LinakEmulator(options)
        await emulator.start(ADDRESS)
        desk = LinakDesk(ADDRESS, client_backend=HeldReferenceWrites, scanner_backend=BumbleScanner)
        try:
            async with desk:
                target = 900.0
                move = asyncio.create_task(desk.move_to(target))
                while emulator.height_mm < target - 8.0:
                    await elapse(0.005)
                HeldReferenceWrites.held = True
                furthest = 0.0
                for _ in range(150):
                    furthest = max(furthest, emulator.height_mm - target)
                    await elapse(0.01)
                HeldReferenceWrites.held = False
                assert furthest > 0.2  # it did run past, and came back
                final = await move
                assert final.fault is None
                assert final.height_mm == pytest.approx(target, abs=0.5)
        finally:
            HeldReferenceWrites.held = False
            await emulator.power_cut()

    run_virtual(scenario())


def test_after_a_cancel_the_desk_is_followed_until_it_rests() -> None:
    async def scenario() -> None:
        async with emulated(LinakOptions(params=MotorParams(coast_s=1.0))) as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(4.0)
            move.cancel()
            with pytest.raises(asyncio.CancelledError):
                await move
            # Where the desk comes to rest, not where it was when the stop went out.
            assert not desk.state.moving
            assert not emulator.model.busy
            assert desk.state.height_mm == pytest.approx(emulator.height_mm, abs=0.1)

    run_virtual(scenario())


# -- collisions come from the desk --------------------------------------------------------


def test_the_desk_reports_a_collision_on_its_error_characteristic() -> None:
    async def scenario() -> None:
        # It stops dead and does not back off: only its error report tells.
        params = MotorParams(backoff_mm=0.0)
        options = LinakOptions(params=params, height_mm=1100.0, obstacle_mm=900.0)
        async with emulated(options) as (_, desk):
            with pytest.raises(Collision):
                await desk.move_to(700.0)
            assert desk.state.fault is Fault.COLLISION

    run_virtual(scenario())


def test_release_leaves_a_collision_lock_to_the_desk() -> None:
    async def scenario() -> None:
        options = LinakOptions(height_mm=1100.0, obstacle_mm=900.0)
        async with emulated(options) as (emulator, desk):
            with pytest.raises(Collision):
                await desk.move_to(700.0)
            await desk.release()
            assert emulator.collision_locked
            assert "ff 00" not in commands(emulator)
            await desk.stop()  # the user's explicit stop re-arms it
            assert not emulator.collision_locked
            assert desk.state.fault is None

    run_virtual(scenario())


def test_a_desk_still_locked_by_a_collision_says_so_on_connect() -> None:
    async def scenario() -> None:
        emulator = LinakEmulator(LinakOptions(height_mm=900.0))
        emulator.model.latch(Fault.COLLISION)
        await emulator.start(ADDRESS)
        desk = LinakDesk(ADDRESS, client_backend=BumbleClient, scanner_backend=BumbleScanner)
        try:
            async with desk:
                assert desk.state.fault is Fault.COLLISION
                sent = len(emulator.received)
                with pytest.raises(Collision):
                    await desk.move_to(1000.0)
                assert len(emulator.received) == sent
                await desk.stop()
                await desk.move_to(1000.0)
        finally:
            await emulator.power_cut()

    run_virtual(scenario())


# -- the desk's travel ----------------------------------------------------------------------


def linak_desk(remember: Path | None = None) -> LinakDesk:
    return LinakDesk(
        ADDRESS, client_backend=BumbleClient, scanner_backend=BumbleScanner, remember=remember
    )


def test_the_top_is_learned_where_the_desk_stops_by_itself_and_remembered(tmp_path: Path) -> None:
    remember = tmp_path / "desk.json"

    async def scenario() -> None:
        options = LinakOptions(params=MotorParams(min_mm=630.0, max_mm=1200.0))
        emulator = LinakEmulator(options)
        await emulator.start(ADDRESS)
        try:
            async with linak_desk(remember) as desk:
                with pytest.raises(OutOfRange, match="top"):
                    await desk.move_to(1250.0)
                assert emulator.height_mm == pytest.approx(1200.0, abs=0.1)
                assert (desk.limits.min_mm, desk.limits.max_mm) == (630.0, 1200.0)
            later = linak_desk(remember)
            assert (later.limits.min_mm, later.limits.max_mm) == (630.0, 1200.0)
            async with later:
                sent = len(emulator.received)
                with pytest.raises(OutOfRange):
                    await later.move_to(1250.0)  # refused before a byte is sent
                assert len(emulator.received) == sent
                await later.move_to(1190.0)
        finally:
            await emulator.power_cut()

    run_virtual(scenario())


def test_a_target_just_below_a_tall_desks_top_is_reached(tmp_path: Path) -> None:
    async def scenario() -> None:
        options = LinakOptions(params=MotorParams(min_mm=620.0, max_mm=1277.6))
        emulator = LinakEmulator(options)
        await emulator.start(ADDRESS)
        try:
            async with linak_desk(tmp_path / "desk.json") as desk:
                final = await desk.move_to(1275.0)
                assert final.height_mm == pytest.approx(1275.0, abs=0.5)
        finally:
            await emulator.power_cut()

    run_virtual(scenario())


def test_a_collision_is_not_taken_for_the_top(tmp_path: Path) -> None:
    async def scenario() -> None:
        emulator = LinakEmulator(LinakOptions(obstacle_mm=1150.0))
        await emulator.start(ADDRESS)
        try:
            async with linak_desk(tmp_path / "desk.json") as desk:
                with pytest.raises(Collision):
                    await desk.move_to(1250.0)
                assert desk.limits.max_mm >= 1270.0
                assert desk.known.top_mm is None
        finally:
            await emulator.power_cut()

    run_virtual(scenario())


# -- from the command line ------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    deskctl = str(Path(sys.executable).with_name("deskctl"))
    return subprocess.run([deskctl, *args], capture_output=True, text=True, timeout=60, check=False)


def test_status_after_a_collision_names_it_until_a_stop() -> None:
    desk = "linak-emu://bump?speed=50&obstacle=900"
    moved = cli("--desk", desk, "move", "110cm")
    assert moved.returncode == 5, moved.stderr
    status = cli("--desk", desk, "--json", "status")
    assert json.loads(status.stdout)["fault"] == "collision"
    assert cli("--desk", desk, "move", "100cm").returncode == 5  # still locked
    assert cli("--desk", desk, "stop").returncode == 0
    status = cli("--desk", desk, "--json", "status")
    assert json.loads(status.stdout)["fault"] is None


def test_status_shows_the_range_the_desk_has_shown() -> None:
    desk = "linak-emu://short?speed=50&min=625mm&max=1150mm"
    before = json.loads(cli("--desk", desk, "--json", "status").stdout)
    assert before["limits_mm"][0] == 625.0
    beyond = cli("--desk", desk, "move", "125cm")
    assert beyond.returncode == 2, beyond.stderr
    assert "top" in beyond.stderr
    after = json.loads(cli("--desk", desk, "--json", "status").stdout)
    assert after["limits_mm"] == [625.0, 1150.0]
    refused = cli("--desk", desk, "move", "120cm")
    assert refused.returncode == 2
