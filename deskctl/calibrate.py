"""Teach hold-and-watch a desk's coast: long moves and ever shorter ones.

Releases at several speeds let the strategy tell the controller's reaction
time from its braking.  What it learns is remembered per desk (see
:mod:`deskctl.desk_log`), so calibrating once is enough.  A strategy that
knows its desk better (a display to read, travel to find) calibrates itself.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from deskctl.desk import Desk
from deskctl.errors import DeskFault, Unsupported
from deskctl.motion import CoastModel, HoldAndWatch

# Offsets from the middle of the desk's range, in millimetres.
MOVES_MM = (-150.0, 150.0, 90.0, 50.0, 25.0, 10.0, -150.0)
CALIBRATE_BELOW_MM = 1000.0


@runtime_checkable
class SelfCalibrating(Protocol):
    async def calibrate(self, desk: Desk) -> CoastModel: ...


async def calibrate(desk: Desk) -> CoastModel:
    strategy = desk.strategy
    if not isinstance(strategy, HoldAndWatch):
        raise Unsupported(f"{desk.info.family} desks stop on target by themselves: no calibration")
    if isinstance(strategy, SelfCalibrating):
        return await strategy.calibrate(desk)
    before = list(strategy.coast.samples)
    # Below 1 m displays show millimetres, so that is where the desk is watched best.
    middle = min((desk.limits.min_mm + desk.limits.max_mm) / 2, CALIBRATE_BELOW_MM - 160.0)
    for offset in MOVES_MM:
        await desk.move_to_roughly(desk.limits.clamp(middle + offset))
    coast = strategy.coast
    if not (0.0 <= coast.latency_s <= 1.5 and 5.0 < coast.decel_mm_s2 < 2000.0):
        strategy.coast.samples = before
        strategy.coast.refit()
        raise DeskFault(
            f"calibration found no motion a desk could make (reacting after "
            f"{coast.latency_s:.2f} s, braking at {coast.decel_mm_s2:.0f} mm/s²); nothing was "
            "learned: clear the desk's way and run it again"
        )
    return coast
