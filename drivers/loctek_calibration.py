"""``deskctl calibrate`` for a Loctek desk: its travel, its coast and its presses.

The box does not say how far its desk goes, so calibration holds the key down
and then up until the digits stop changing: those are the limits, kept as the
desk's range.  Then, where the digits are finest, long moves (the coast after a
release at top speed) and presses of 0 to 0.8 s each way (the ramp, the
reaction and the braking), and a fit of both.  A fit that no motor could make
is refused, and then nothing is learned.
"""

from __future__ import annotations

from deskctl.desk import Desk
from deskctl.drivers.loctek_mover import FINE_STEP_MM, REST_TIMEOUT_S, DisplayPort, LoctekMover
from deskctl.errors import Collision, ConnectionLost, DeskFault, Overheated
from deskctl.model import DeskState, Direction, Fault, Limits, Link
from deskctl.motion import CoastModel
from deskctl.stream import Subscription
from deskctl.units import format_height

TAPS_S = (0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8)
"""The presses calibration times, each once up and once down."""
CALIBRATION_MOTOR_S = 100.0
"""About the motor time calibration takes on a slow desk (both ends, moves, presses)."""
MARGIN_MM = 40.0


async def calibrate(mover: LoctekMover, desk: Desk) -> CoastModel:
    coast = mover.coast
    before = (list(coast.samples), list(coast.presses), coast.travel_mm)
    remaining = desk.duty.remaining(desk.clock.now())
    if remaining < CALIBRATION_MOTOR_S:
        raise Overheated(
            f"calibrating runs the motor for up to {CALIBRATION_MOTOR_S:.0f} s and it has "
            f"{max(0.0, remaining):.0f} s left; let it rest and try again"
        )
    try:
        low, high = await _find_travel(desk)
        desk.limits = Limits(low, high)
        coast.travel_mm = (low, high)
        bottom, top = _calibration_span(desk, low, high)
        # Long moves (the coast at top speed), then presses of every length (the ramp).
        first, second = (top, bottom) if desk.state.height_mm < top else (bottom, top)
        fine = mover.display_step_mm <= FINE_STEP_MM
        last = (bottom + top) / 2 if fine else bottom
        # On whole centimetres each release is seen to a digit only: more of them.
        moves = [first, (first + 2 * second) / 3] if fine else [first, second, first]
        for target in (*moves, last):
            await desk.move_to_roughly(target)
        if fine:  # each press and its mirror: the desk stays where the digits are finest
            taps = [(held, way) for held in TAPS_S for way in (Direction.UP, Direction.DOWN)]
        else:
            # On whole centimetres a press is seen to the nearest digit: presses in one
            # direction start all over the digit, and their errors average out.
            taps = [(held, way) for way in (Direction.UP, Direction.DOWN) for held in TAPS_S]
        for held, direction in taps:
            await mover.press_for(desk, direction, held)
        check_fit(mover)
    except BaseException:
        coast.samples, coast.presses, coast.travel_mm = before
        coast.refit()
        raise
    return coast


def check_fit(mover: LoctekMover) -> None:
    """Refuse what no desk does; else put it as reaction time, braking and top speed (the
    braking from the presses, the reaction from the coast after the releases)."""
    model, coast, top = mover.press_model(), mover.coast, mover.top_speed_mm_s
    after = mover.coast_after(top)
    decel = model.decel_mm_s2
    if mover.coarse_only and after > 0:
        # Whole centimetres tell the braking only roughly: no softer than the coast allows.
        decel = max(decel, top * top / (2 * after))
    coast.decel_mm_s2, coast.top_speed_mm_s = decel, top
    coast.latency_s = (after - top * top / (2 * decel)) / top
    step = max(mover.display_step_mm, 1.0)
    reasons = []
    if model.at_an_edge() and not mover.coarse_only:
        reasons.append("the presses fit no motor")
    if model.error(coast.presses) > max(2.0, step):
        reasons.append(f"presses scatter by {model.error(coast.presses):.1f} mm")
    if not 5.0 <= top <= 100.0:
        reasons.append(f"a top speed of {top:.0f} mm/s")
    if not 0.0 < after < 150.0:
        reasons.append(f"a coast of {after:.0f} mm")
    if not -0.1 <= coast.latency_s <= 1.5:
        reasons.append(f"a reaction time of {coast.latency_s:.2f} s")
    if not 5.0 < coast.decel_mm_s2 < 2000.0:
        reasons.append(f"braking at {coast.decel_mm_s2:.0f} mm/s²")
    coast.latency_s = max(0.0, coast.latency_s)
    if reasons:
        raise DeskFault(
            "calibration found no motion a desk could make ("
            + ", ".join(reasons)
            + "); nothing was learned: clear the desk's way and run it again"
        )


async def _find_travel(desk: Desk) -> tuple[float, float]:
    height, limits = desk.state.height_mm, desk.limits
    near = Direction.DOWN if height - limits.min_mm < limits.max_mm - height else Direction.UP
    found = {}
    # The far end first: the near one then leaves the desk by the stretch to calibrate on.
    for direction in (Direction(-near), near):
        found[direction] = await _drive_to_limit(desk, direction)
    return found[Direction.DOWN], found[Direction.UP]


def _calibration_span(desk: Desk, low: float, high: float) -> tuple[float, float]:
    """Where to calibrate: the stretch where the digits show tenths, if there is one."""
    fine_top = desk.fine_up_to_mm if isinstance(desk, DisplayPort) else 0.0
    if fine_top > low + 250.0:
        return low + MARGIN_MM, min(high, fine_top) - MARGIN_MM
    return low + MARGIN_MM, min(high - MARGIN_MM, low + 450.0)


async def _drive_to_limit(desk: Desk, direction: Direction) -> float:
    """Hold the key until the digits stop: the desk is at its limit."""
    with desk.subscribe() as states:
        started = desk.clock.now()
        async with desk.hold(direction):
            while True:
                state = await _next(states, desk)
                if not state.moving and state.timestamp > started:
                    break
        let_go = desk.clock.now()
        state = desk.state
        while state.moving or state.timestamp < let_go:
            state = await _next(states, desk)
    if isinstance(desk, DisplayPort):
        low, high = desk.band()
        if high - low <= FINE_STEP_MM:
            # The limit is somewhere in the band the digits show: its near edge, so that
            # every height inside the limits can be reached.
            return high if direction is Direction.DOWN else low
    return state.height_mm


async def _next(states: Subscription, desk: Desk) -> DeskState:
    """The next state; a lost desk or a fault ends the calibration."""
    state = await states.next(timeout=REST_TIMEOUT_S)
    if state is None or state.link is not Link.CONNECTED:
        raise ConnectionLost("the desk stopped reporting its height during calibration")
    at = format_height(state.height_mm, desk.unit)
    if state.fault is Fault.COLLISION:
        raise Collision(
            f"the desk hit something near {at} while calibrating; clear the way, then run "
            "'deskctl stop' to re-arm it"
        )
    if state.fault is Fault.OVERHEATED:
        raise Overheated("the motor is hot; let it rest about 18 minutes and calibrate again")
    if state.fault is not None:
        raise DeskFault(state.detail or "the desk controller reported an error while calibrating")
    return state
