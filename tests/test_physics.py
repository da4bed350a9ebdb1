"""The motor model on its own: pure functions of time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskctl.model import Direction, Fault
from deskctl.physics import MotorModel, MotorParams

TICK = 0.05


def run_until_idle(model: MotorModel, limit_s: float = 120.0) -> list[float]:
    """Advance in report-sized ticks until the motor rests; returns the heights seen."""
    heights = []
    end = model.now + limit_s
    while model.busy and model.now < end:
        model.advance(model.now + TICK)
        heights.append(model.height_mm)
    assert not model.busy, "the motor never came to rest"
    return heights


physics = st.builds(
    MotorParams,
    top_speed_mm_s=st.floats(25, 65),
    ramp_s=st.floats(0.5, 3.0),
    coast_s=st.floats(0.2, 1.5),
)
heights = st.floats(620, 1270)


@settings(max_examples=60, deadline=None)
@given(physics, heights, heights)
def test_move_to_lands_on_target_inside_limits(
    params: MotorParams, start: float, target: float
) -> None:
    model = MotorModel(params, start)
    assert model.move_to(target, 0.0)
    seen = run_until_idle(model)
    assert model.height_mm == pytest.approx(target, abs=0.01)
    assert all(params.min_mm <= h <= params.max_mm for h in seen)
    assert max(abs(h - start) for h in [start, *seen]) <= abs(target - start) + 1e-6  # no overshoot


@settings(max_examples=60, deadline=None)
@given(physics, heights, heights, heights, st.floats(0.0, 3.0))
def test_a_new_target_mid_move_is_reached_even_the_other_way(
    params: MotorParams, start: float, first: float, second: float, after_s: float
) -> None:
    model = MotorModel(params, start)
    model.move_to(first, 0.0)
    model.advance(after_s)
    model.move_to(second, after_s)
    run_until_idle(model)
    assert model.height_mm == pytest.approx(second, abs=0.01)


@settings(max_examples=40, deadline=None)
@given(physics, st.floats(20, 600))
def test_long_move_takes_the_physical_minimum(params: MotorParams, distance: float) -> None:
    model = MotorModel(params, 620.0)
    model.move_to(620.0 + distance, 0.0)
    while model.busy:
        model.advance(model.now + params.step_s)
    assert model.now == pytest.approx(params.minimum_move_time(distance), rel=0.02, abs=0.02)


def test_speed_ramps_up_and_never_exceeds_top_speed() -> None:
    params = MotorParams(top_speed_mm_s=40.0, ramp_s=1.0)
    model = MotorModel(params, 700.0)
    model.move_to(1200.0, 0.0)
    model.advance(0.5)
    assert model.speed_mm_s == pytest.approx(20.0, abs=0.5)
    model.advance(3.0)
    assert model.speed_mm_s == pytest.approx(40.0)


def test_held_button_stops_at_the_limit() -> None:
    model = MotorModel(MotorParams(), 1200.0)
    model.drive(Direction.UP, 0.0)
    run_until_idle(model)
    assert model.height_mm == pytest.approx(1270.0)


def test_released_button_coasts_to_a_stop() -> None:
    params = MotorParams(top_speed_mm_s=40.0, coast_s=0.5, stop_latency_s=0.3)
    model = MotorModel(params, 700.0)
    model.drive(Direction.UP, 0.0)
    model.advance(3.0)
    at_release = model.height_mm
    model.release(3.0)
    run_until_idle(model)
    assert model.height_mm - at_release == pytest.approx(params.coast_distance(40.0), abs=0.2)


def test_press_without_repeat_stops_by_itself() -> None:
    model = MotorModel(MotorParams(), 700.0)
    model.drive(Direction.UP, 0.0, hold_s=1.0)
    run_until_idle(model, limit_s=5.0)
    assert 700.0 < model.height_mm < 760.0


def test_collision_stops_backs_off_and_ignores_moves_until_a_stop() -> None:
    params = MotorParams(backoff_mm=10.0)
    model = MotorModel(params, 1000.0, obstacle_mm=800.0)
    model.move_to(700.0, 0.0)
    run_until_idle(model)
    assert model.fault is Fault.COLLISION
    assert model.height_mm == pytest.approx(810.0)
    assert not model.move_to(700.0, model.now)
    assert not model.drive(Direction.UP, model.now)
    model.stop(model.now)
    assert model.fault is None
    assert model.move_to(900.0, model.now)


def test_duty_cycle_cuts_the_motor_out_and_rests() -> None:
    params = MotorParams(duty_on_s=120.0, duty_window_s=1200.0)
    model = MotorModel(params, 620.0)
    up = True
    while model.fault is None:
        model.move_to(1270.0 if up else 620.0, model.now)
        run_until_idle(model)
        up = not up
    assert model.fault is Fault.OVERHEATED
    # Cut out at 120 s, then the soft stop still runs the motor for the coast.
    assert 120.0 <= model.duty.on_time(model.now) <= 120.0 + params.coast_s + 0.01
    assert not model.move_to(900.0, model.now)
    model.advance(model.now + params.rest_s - 1)
    assert not model.accepts_moves(model.now)
    model.advance(model.now + 2)
    assert model.move_to(900.0, model.now)


def test_minimum_move_time_is_triangular_for_short_moves() -> None:
    params = MotorParams(top_speed_mm_s=40.0, ramp_s=1.0, coast_s=1.0)
    # Accelerate and brake at 40 mm/s² over 10 mm: 5 mm each, sqrt(2*5/40) s each.
    assert params.minimum_move_time(10.0) == pytest.approx(2 * (10 / 40) ** 0.5)


@pytest.mark.parametrize(("landing_s", "runs_past"), [(None, False), (0.35, True)])
def test_a_stop_while_braking_onto_the_target_runs_past_only_if_landing_brakes_harder(
    landing_s: float | None, runs_past: bool
) -> None:
    params = MotorParams(coast_s=0.5, landing_s=landing_s)
    model = MotorModel(params, 700.0)
    model.move_to(900.0, 0.0)
    while 900.0 - model.height_mm > 3.0:  # braking onto the target by now
        model.advance(model.now + 0.005)
    model.release(model.now)
    furthest = max(run_until_idle(model))
    assert (furthest > 900.0 + 0.05) is runs_past
    assert furthest <= 900.0 + 2.0
