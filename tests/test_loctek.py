"""The Loctek driver against the emulated box, over a real pseudo-terminal.

Boxes differ (how often they send their display, how late they react, how they
ramp and brake, their travel, their digits): the seed matrix at the end drives
boxes drawn from that range.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from deskctl import vtime
from deskctl.calibrate import calibrate
from deskctl.clock import LoopClock
from deskctl.drivers.emulated_boxes import emulated_box
from deskctl.drivers.loctek import LoctekDesk
from deskctl.drivers.loctek_calibration import check_fit
from deskctl.drivers.loctek_emulator import LoctekEmulator, LoctekOptions
from deskctl.drivers.loctek_mover import LoctekMover
from deskctl.drivers.serial_box import LineFaults
from deskctl.duty import DutyCycle
from deskctl.errors import (
    Collision,
    ConnectionLost,
    DeskFault,
    DeskNotFound,
    Overheated,
    ProtocolError,
)
from deskctl.model import DeskState, Direction, Fault, Link
from deskctl.motion import CoastModel
from deskctl.vtime import elapse, run_virtual


def repeating(options: LoctekOptions | None = None) -> LoctekOptions:
    """A box that repeats its display while the screen is on, as most do, with its heartbeat."""
    return dataclasses.replace(options or LoctekOptions(), repeat_s=(0.04, 0.1), heartbeat_s=0.04)


@pytest.fixture(autouse=True)
def no_real_time_between_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """Virtual time waits a moment of real time whenever it would jump, in case a
    pseudo-terminal is still handing bytes over; poll(2), which the loop calls first,
    already finishes that hand-over for a pty, so these long runs (minutes of desk time,
    frames every few milliseconds) skip the wait.  The same runs with and without it
    end in the same place to the micrometre."""
    monkeypatch.setattr(vtime, "IO_GRACE_S", 0.0)


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


def tireless(options: LoctekOptions) -> LoctekOptions:
    """The duty cycle is not what these tests are about: let the motor run."""
    params = dataclasses.replace(options.params, duty_on_s=3600.0, duty_window_s=36000.0)
    return dataclasses.replace(options, params=params)


def resolution(options: LoctekOptions, height_mm: float) -> float:
    """How close a move can be told to be: 1 mm where the digits show tenths of a
    centimetre, a tenth of an inch on inch panels, 5 mm where they show whole centimetres."""
    if options.inches:
        return 2.54
    if options.whole_cm or height_mm >= 995.0:
        return 5.0
    return 1.0


async def rest(desk: LoctekDesk, since: float) -> DeskState:
    """The first state at rest the driver reports after ``since``."""
    with desk.subscribe() as states:
        state = desk.state
        while state.moving or state.timestamp < since:
            state = await anext(states)
    return state


# -- the basics -------------------------------------------------------------------------------


def test_wakes_the_screen_and_reads_the_height() -> None:
    async def scenario() -> None:
        async with emulated(LoctekOptions(height_mm=739.0)) as (emulator, desk):
            assert desk.state.height_mm == 739.0
            await elapse(60.0)
            assert emulator.display() == "   "  # the screen went to sleep

    run_virtual(scenario())


def test_a_box_whose_screen_is_awake_and_unchanged_still_shows_its_height() -> None:
    # deskctl move, then deskctl status at once: the screen is still on and sends nothing
    # new (this box only sends changes); the status must not wait for the screen to sleep.
    async def scenario() -> None:
        emulator = LoctekEmulator()
        port = await emulator.start()
        try:
            async with LoctekDesk(port, clock=LoopClock()) as desk:
                await desk.move_to(900.0)
            await emulator.settled()
            async with LoctekDesk(port, clock=LoopClock()) as desk:
                assert desk.state.link is Link.CONNECTED
                assert desk.state.height_mm == pytest.approx(emulator.height_mm, abs=0.5)
        finally:
            await emulator.stop()

    run_virtual(scenario())


def test_nothing_on_the_line_is_no_box() -> None:
    async def scenario() -> None:
        emulator = LoctekEmulator()
        port = await emulator.start()
        emulator.mute()  # the box hears but never answers
        try:
            with pytest.raises(DeskNotFound, match="no Loctek box"):
                async with LoctekDesk(port, clock=LoopClock()):
                    pass
        finally:
            await emulator.stop()

    run_virtual(scenario())


def test_hold_and_watch_lands_within_the_display_resolution() -> None:
    async def scenario() -> None:
        async with emulated(tireless(LoctekOptions())) as (emulator, desk):
            await calibrate(desk)
            for target in (900.0, 760.0, 950.0, 800.0, 903.0, 897.5):  # 1 mm digits
                await desk.move_to(target)
                await emulator.settled()
                assert emulator.height_mm == pytest.approx(target, abs=1.0)
            for target in (1150.0, 1050.0):  # above 100 cm: whole centimetres
                await desk.move_to(target)
                await emulator.settled()
                assert emulator.height_mm == pytest.approx(target, abs=5.0)

    run_virtual(scenario())


# -- a box that repeats its display -----------------------------------------------------------


def test_a_box_that_repeats_unchanged_digits_still_comes_to_rest() -> None:
    # The digits stop changing; the frames do not stop coming.  Stopped is stopped.
    async def scenario() -> None:
        async with emulated(tireless(repeating())) as (emulator, desk):
            await desk.move_to(800.0)
            await emulator.settled()
            assert emulator.height_mm == pytest.approx(800.0, abs=5.0)
            assert desk.streams
            await calibrate(desk)
            await desk.move_to(880.0)
            await emulator.settled()
            assert emulator.height_mm == pytest.approx(880.0, abs=1.0)

    run_virtual(scenario())


@pytest.mark.parametrize("repeats", [False, True])
def test_holding_a_key_ends_when_the_digits_stop_not_when_the_screen_sleeps(
    repeats: bool,
) -> None:
    # `deskctl up --hold 2`: two seconds of key, the desk's coast, and the digits settling.
    async def scenario() -> None:
        options = repeating() if repeats else LoctekOptions()
        async with emulated(options) as (emulator, desk):
            clock = desk.clock
            start = clock.now()
            async with desk.hold(Direction.UP):
                await clock.sleep(2.0)
            state = await rest(desk, clock.now())
            assert clock.now() - start < 4.5  # was 13 s: the screen's sleep
            assert not emulator.model.busy
            assert state.height_mm == pytest.approx(emulator.height_mm, abs=0.5)

    run_virtual(scenario())


# -- presets ----------------------------------------------------------------------------------


def test_presets_are_recalled_by_their_key_and_saved_with_memory() -> None:
    async def scenario() -> None:
        options = repeating(LoctekOptions(presets_mm={2: 1050.0}))
        async with emulated(options) as (emulator, desk):
            began = desk.clock.now()
            state = await desk.recall_preset(2)
            # The box's own move (330 mm), then the digits settling: not the screen's sleep.
            assert desk.clock.now() - began < 330.0 / 38.0 + 3.0
            assert emulator.height_mm == pytest.approx(1050.0)
            assert state.height_mm == pytest.approx(1050.0, abs=5.0)
            await desk.save_preset(4)
            assert emulator.presets[4] == pytest.approx(1050.0)
            began = desk.clock.now()
            state = await desk.recall_preset(2)  # already there: nothing moves
            assert desk.clock.now() - began < 5.0
            assert not state.moving

    run_virtual(scenario())


def test_saving_a_preset_on_a_sleeping_screen_wakes_it_first() -> None:
    # A sleeping box takes the first key as a wake-up, and this one reads no key for a
    # moment after waking: M and the preset sent at once would be lost.
    async def scenario() -> None:
        options = LoctekOptions(height_mm=833.0, wake_s=0.25)
        async with emulated(options) as (emulator, desk):
            await elapse(30.0)
            assert emulator.display() == "   "
            await desk.save_preset(1)
            assert emulator.presets[1] == pytest.approx(833.0)
            assert desk.state.height_mm == pytest.approx(833.0, abs=0.5)

    run_virtual(scenario())


def test_a_save_the_box_does_not_confirm_is_an_error() -> None:
    async def scenario() -> None:
        async with emulated() as (emulator, desk):
            emulator.show_error("E02")  # the box shows a code and takes no keys
            await elapse(0.2)
            with pytest.raises(ProtocolError, match="S-3"):
                await desk.save_preset(3)
            assert emulator.presets[3] is None

    run_virtual(scenario())


# -- the line ---------------------------------------------------------------------------------


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


@pytest.mark.parametrize("repeats", [False, True])
def test_a_box_that_stops_answering_mid_move_is_unreachable_not_an_obstruction(
    repeats: bool,
) -> None:
    async def scenario() -> None:
        options = repeating() if repeats else LoctekOptions()
        async with emulated(options) as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1100.0))
            await elapse(2.0)
            emulator.mute()  # its transmitter dies; the line stays open
            with pytest.raises(ConnectionLost, match="stopped answering") as raised:
                await move
            assert raised.value.exit_code == 3
            await elapse(2.0)
            assert not emulator.model.busy  # the driver let go of the key
            emulator.unmute()
            await elapse(3.0)
            assert desk.state.link is Link.CONNECTED
            await desk.move_to(900.0)

    run_virtual(scenario())


def test_corrupt_frames_are_dropped_and_counted_never_a_reason_to_stop() -> None:
    async def scenario() -> None:
        line = LineFaults(noise=0.3, corrupt=0.3, drop=0.1, seed=5)
        options = tireless(repeating(LoctekOptions(line=line)))
        async with emulated(options) as (emulator, desk):
            await calibrate(desk)
            for target in (900.0, 780.0, 1100.0):
                await desk.move_to(target)
                await emulator.settled()
                assert emulator.height_mm == pytest.approx(target, abs=resolution(options, target))
            stats = desk._parser.stats
            assert stats.bad_checksums > 20
            assert stats.dropped_bytes > 20

    run_virtual(scenario())


def test_after_an_interrupted_move_the_driver_reports_where_the_desk_comes_to_rest() -> None:
    # Ctrl-C: the stop goes out at once, the desk runs on for its reaction time and
    # braking, and the driver keeps publishing until the digits settle.
    async def scenario() -> None:
        async with emulated(repeating()) as (emulator, desk):
            move = asyncio.create_task(desk.move_to(1000.0))
            await elapse(3.0)
            move.cancel()
            with pytest.raises(asyncio.CancelledError):
                await move
            stopped_at, cancelled_at = desk.state.height_mm, desk.clock.now()
            state = await rest(desk, cancelled_at)
            assert desk.clock.now() - cancelled_at < 3.0  # the digits settled, not the screen
            await emulator.settled()
            assert state.height_mm == pytest.approx(emulator.height_mm, abs=0.5)
            assert state.height_mm - stopped_at > 5.0  # it did run on after the stop

    run_virtual(scenario())


# -- faults -----------------------------------------------------------------------------------


def test_inch_boxes_land_within_the_display_resolution() -> None:
    async def scenario() -> None:
        options = tireless(LoctekOptions(inches=True))
        async with emulated(options) as (emulator, desk):
            assert desk.state.height_mm == pytest.approx(720.0, abs=1.3)
            await calibrate(desk)
            for target in (1000.0, 800.0, 810.0):
                await desk.move_to(target)
                await emulator.settled()
                # Tenths of an inch: 2.54 mm digits.
                assert emulator.height_mm == pytest.approx(target, abs=2.54)

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
            await desk.release()  # letting go of the keys does not re-arm deskctl
            assert desk.state.fault is Fault.COLLISION
            emulator.model.obstacle_mm = None
            await desk.stop()
            assert desk.state.fault is None
            await desk.move_to(950.0)

    run_virtual(scenario())


def test_the_duty_cycle_cut_out_shows_hot_and_is_an_overheated_error() -> None:
    async def scenario() -> None:
        params = dataclasses.replace(LoctekOptions().params, duty_on_s=6.0, duty_window_s=60.0)
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


# -- calibration ------------------------------------------------------------------------------


def test_calibration_finds_the_travel_of_a_desk_that_is_not_620_to_1270() -> None:
    async def scenario() -> None:
        params = dataclasses.replace(LoctekOptions().params, min_mm=690.0, max_mm=1220.0)
        options = tireless(LoctekOptions(params=params, height_mm=700.0))
        async with emulated(options) as (_, desk):
            coast = await calibrate(desk)
            assert desk.limits.min_mm == pytest.approx(690.0, abs=0.5)
            assert desk.limits.max_mm == pytest.approx(1220.0, abs=5.0)
            assert coast.travel_mm == (desk.limits.min_mm, desk.limits.max_mm)
            # What the box does: reacts 0.3 s late, brakes from 38 mm/s in 0.5 s.
            assert coast.latency_s == pytest.approx(0.3, abs=0.1)
            assert coast.decel_mm_s2 == pytest.approx(76.0, rel=0.25)
            assert coast.top_speed_mm_s == pytest.approx(38.0, rel=0.03)
            with pytest.raises(Exception, match="outside this desk's range"):
                await desk.move_to(650.0)

    run_virtual(scenario())


def test_calibration_refuses_a_fit_no_desk_could_make() -> None:
    mover = LoctekMover()
    # Presses that go less far the longer the key is held: no motor does that.
    mover.coast.presses = [(held, 60.0 - 40.0 * held) for held in (0.0, 0.2, 0.4, 0.8, 1.2)]
    mover.coast.samples = [(38.0, 20.0, 0.0)] * 3
    with pytest.raises(DeskFault, match="nothing was learned"):
        check_fit(mover)


def test_a_coast_fit_can_no_longer_brake_at_half_a_kilometre_per_second_squared() -> None:
    # Releases that all stop at once (a desk stalled at its limit) used to fit 500000 mm/s².
    coast = CoastModel()
    for speed in (38.0, 25.0, 12.0):
        coast.learn(speed, 0.0)
    assert coast.decel_mm_s2 <= 2000.0


# -- boxes drawn from a seed ------------------------------------------------------------------


def test_seeded_boxes_cover_the_range_the_sources_describe() -> None:
    boxes = [LoctekOptions.seeded(seed) for seed in range(60)]
    assert {box.repeat_s is None for box in boxes} == {True, False}
    assert {box.heartbeat_s is None for box in boxes} == {True, False}
    assert {(box.inches, box.whole_cm) for box in boxes} == {
        (False, False),
        (True, False),
        (False, True),
    }
    assert all(620.0 <= box.params.min_mm <= 720.0 for box in boxes)
    assert all(1180.0 <= box.params.max_mm <= 1290.0 for box in boxes)
    assert min(box.params.stop_latency_s for box in boxes) < 0.2
    assert max(box.params.stop_latency_s for box in boxes) > 0.5
    assert LoctekOptions.seeded(7) == LoctekOptions.seeded(7)


def test_deskctl_emulate_takes_a_seed_and_overrides() -> None:
    async def scenario() -> None:
        box = emulated_box("loctek", {"seed": "7", "min": "70cm"})
        assert isinstance(box, LoctekEmulator)
        drawn = LoctekOptions.seeded(7)
        assert box.options.params.min_mm == 700.0
        assert box.options.params.top_speed_mm_s == drawn.params.top_speed_mm_s
        assert box.options.repeat_s == drawn.repeat_s
        plain = emulated_box("loctek", {})
        assert isinstance(plain, LoctekEmulator)
        assert plain.options.repeat_s is None
        assert plain.options.params == LoctekOptions().params

    run_virtual(scenario())


SEEDS = [2, 3, 5, 7, 14, 15, 21, 25]
"""Tenths that only change, inches that repeat, a slow-reacting desk, tenths that repeat on
a noisy line, whole centimetres (repeated, and only on change), tenths with a heartbeat,
inches with a long coast."""


def seeded_targets(options: LoctekOptions) -> Iterator[float]:
    low, high = options.params.min_mm, options.params.max_mm
    yield from (low + 60.0, min(high - 60.0, 1150.0), 930.0, 937.0, low + 90.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_seeded_desks_land_within_the_display_resolution(seed: int) -> None:
    async def scenario() -> None:
        options = tireless(LoctekOptions.seeded(seed))
        async with emulated(options) as (emulator, desk):
            desk.duty = DutyCycle(on_s=3600.0, window_s=36000.0)
            await calibrate(desk)
            assert desk.limits.min_mm == pytest.approx(options.params.min_mm, abs=5.0)
            missed = []
            for target in seeded_targets(options):
                await desk.move_to(target)
                await emulator.settled()
                error = abs(emulator.height_mm - target)
                if error > resolution(options, target):
                    missed.append((target, round(error, 2)))
            assert not missed

    run_virtual(scenario())
