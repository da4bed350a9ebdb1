"""Teach hold-and-watch a desk's coast: long moves and ever shorter ones.

Releases at several speeds let the strategy tell the controller's reaction
time from its braking.  What it learns is remembered per desk (see
:mod:`deskctl.desk_log`), so calibrating once is enough.
"""

from __future__ import annotations

from deskctl.desk import Desk
from deskctl.errors import Unsupported
from deskctl.motion import CoastModel, HoldAndWatch

# Offsets from the middle of the desk's range, in millimetres.
MOVES_MM = (-150.0, 150.0, 90.0, 50.0, 25.0, 10.0, -150.0)
CALIBRATE_BELOW_MM = 1000.0


async def calibrate(desk: Desk) -> CoastModel:
    strategy = desk.strategy
    if not isinstance(strategy, HoldAndWatch):
        raise Unsupported(f"{desk.info.family} desks stop on target by themselves: no calibration")
    # Below 1 m displays show millimetres, so that is where the desk is watched best.
    middle = min((desk.limits.min_mm + desk.limits.max_mm) / 2, CALIBRATE_BELOW_MM - 160.0)
    for offset in MOVES_MM:
        await desk.move_to_roughly(desk.limits.clamp(middle + offset))
    return strategy.coast
