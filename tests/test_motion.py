"""Both motion strategies driving the simulated desk, on virtual time."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deskctl.clock import LoopClock
from deskctl.drivers.sim import SimDesk
from deskctl.model import Direction
from deskctl.motion import CoastModel, HoldAndWatch, MotionStrategy, NativeMoveTo
from deskctl.physics import MotorModel, MotorParams
from deskctl.vtime import elapse, run_virtual

STRATEGIES = {"native": NativeMoveTo, "hold": HoldAndWatch}

physics = st.builds(
    MotorParams,
    top_speed_mm_s=st.floats(25, 65),
    ramp_s=st.floats(0.5, 3.0),
    coast_s=st.floats(0.1, 0.8),
    stop_latency_s=st.floats(0.0, 0.3),
    report_interval_s=st.sampled_from([0.05, 0.1, 0.25]),
)


def shortest_hold_travel(params: MotorParams) -> float:
    """How far the desk goes when the button is let go at the first height report."""
    model = MotorModel(params, 700.0)
    model.drive(Direction.UP, 0.0)
    model.advance(params.report_interval_s)
    model.release(params.report_interval_s)
    while model.busy:
        model.advance(model.now + params.report_interval_s)
    return model.height_mm - 700.0


async def calibrate(params: MotorParams, strategy: HoldAndWatch) -> None:
    """Teach hold-and-watch its desk: long moves and ever shorter ones, so that it sees
    releases at several speeds and can tell the desk's reaction time from its braking."""
    async with sim(params, 700.0, strategy) as desk:
        for target in (900.0, 1100.0, 1060.0, 1030.0, 1010.0, 995.0, 985.0):
            await strategy.run(desk, target)


def sim(params: MotorParams, start: float, strategy: MotionStrategy) -> SimDesk:
    return SimDesk("test", params, clock=LoopClock(), strategy=strategy, height_mm=start)


@pytest.mark.parametrize("kind", STRATEGIES)
@settings(max_examples=30, deadline=None)
@given(params=physics, start=st.floats(620, 1270), target=st.floats(620, 1270))
def test_every_reachable_target_ends_within_1mm(
    kind: str, params: MotorParams, start: float, target: float
) -> None:
    async def scenario() -> tuple[float, list[float]]:
        strategy = STRATEGIES[kind]()
        if isinstance(strategy, HoldAndWatch):
            await calibrate(params, strategy)
        async with sim(params, start, strategy) as desk:
            seen: list[float] = []
            with desk.subscribe() as states:
                final = await desk.move_to(target)
                while (state := await states.next(timeout=0)) is not None:
                    seen.append(state.height_mm)
            return final.height_mm, seen

    if kind == "hold":
        # Near the shortest press the release must be perfect; leave the learned model some slack.
        assume(
            abs(target - start) <= 1.0 or abs(target - start) >= 1.5 * shortest_hold_travel(params)
        )
    final, seen = run_virtual(scenario())
    assert final == pytest.approx(target, abs=1.0)
    assert all(620.0 <= height <= 1270.0 for height in seen)


@pytest.mark.parametrize("kind", STRATEGIES)
@settings(max_examples=25, deadline=None)
@given(params=physics, after=st.floats(0.0, 8.0))
def test_cancel_always_stops_the_desk(kind: str, params: MotorParams, after: float) -> None:
    async def scenario() -> None:
        async with sim(params, 650.0, STRATEGIES[kind]()) as desk:
            move = asyncio.create_task(desk.move_to(1250.0))
            await elapse(after)
            with desk.subscribe() as states:
                move.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await move
                cancelled_at = desk.clock.now()
                state = desk.state
                while state.moving:
                    state = await anext(states)
            # Whatever it was doing, the motor braked at once: it rested within one coast
            # (reported at the next report, with the model's integration step as slack).
            bound = params.stop_latency_s + params.coast_s + params.report_interval_s
            assert state.timestamp - cancelled_at <= bound + params.step_s
            assert not desk.model.busy

    run_virtual(scenario())


def test_hold_and_watch_learns_the_coast_of_a_sluggish_desk() -> None:
    params = MotorParams(stop_latency_s=0.4, coast_s=0.8)  # a serial desk that reacts late
    strategy = HoldAndWatch(coast=CoastModel(), max_corrections=0)

    async def scenario() -> list[float]:
        errors = []
        async with sim(params, 700.0, strategy) as desk:
            for target in [1100.0, 720.0, 1150.0, 700.0, 1050.0, 760.0]:
                state = await strategy.run(desk, target)  # no retries, no tolerance check
                errors.append(abs(state.height_mm - target))
        return errors

    errors = run_virtual(scenario())
    assert errors[0] > 5.0  # the default guess is far off for this desk
    assert max(errors[2:]) <= 1.0


def test_moves_take_no_longer_than_the_physical_minimum_allows() -> None:
    params = MotorParams()

    async def scenario(strategy: MotionStrategy) -> float:
        async with sim(params, 720.0, strategy) as desk:
            await desk.move_to(1100.0)  # teach hold-and-watch once
            clock = desk.clock
            started = clock.now()
            final = await desk.move_to(720.0)
            return final.timestamp - started

    minimum = params.minimum_move_time(380.0)
    for strategy in (NativeMoveTo(), HoldAndWatch()):
        assert run_virtual(scenario(strategy)) <= 1.05 * minimum
