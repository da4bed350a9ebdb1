"""Move accuracy and move time on the simulated desk, for both motion strategies.

Runs on virtual time, so the time a move takes is exactly what the desk's
physics allow plus what the strategy adds; the reference is the physical
minimum (ramp, travel at top speed, braking) of the same move.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics

from deskctl.clock import LoopClock
from deskctl.drivers.sim import SimDesk
from deskctl.motion import HoldAndWatch, MotionStrategy, NativeMoveTo
from deskctl.physics import MotorParams
from deskctl.vtime import run_virtual

# Sit/stand changes of several people and a few small adjustments, across the range.
TARGETS = [1100.0, 720.0, 1150.0, 680.0, 1250.0, 640.0, 1000.0, 950.0, 1020.0, 760.0, 1180.0]
CALIBRATION = [900.0, 1100.0, 1060.0, 1030.0, 1010.0, 995.0, 985.0, 720.0]


async def measure(strategy: MotionStrategy, params: MotorParams) -> tuple[list[float], list[float]]:
    errors, ratios = [], []
    async with SimDesk("bench", params, clock=LoopClock(), strategy=strategy) as desk:
        if isinstance(strategy, HoldAndWatch):
            for target in CALIBRATION:
                await strategy.run(desk, target)
        for target in TARGETS:
            start = desk.state.height_mm
            # Respect the motor's duty cycle as a person would: wait out its rest (virtual time).
            needed = abs(target - start) / params.top_speed_mm_s + 3.0
            await asyncio.sleep(desk.duty.wait_for(desk.clock.now(), needed))
            began = desk.clock.now()
            final = await desk.move_to(target)
            errors.append(abs(final.height_mm - target))
            ratios.append((final.timestamp - began) / params.minimum_move_time(target - start))
    return errors, ratios


DESKS = {
    "Linak-like desk": MotorParams(),
    # A serial desk that reacts late and coasts long, as hold-and-watch desks do.
    "sluggish desk": MotorParams(stop_latency_s=0.3, coast_s=0.8, report_interval_s=0.2),
}


def run() -> list[tuple[str, str, str, str]]:
    rows = []
    for (desk, params), (strategy, make) in itertools.product(
        DESKS.items(), (("native move-to", NativeMoveTo), ("hold-and-watch", HoldAndWatch))
    ):
        errors, ratios = run_virtual(measure(make(), params))
        name = f"{desk}, {strategy}"
        worst_error, worst_ratio = max(errors), max(ratios)
        rows.append(
            (
                f"{name}: final error (median / worst)",
                f"{statistics.median(errors):.2f} / {worst_error:.2f} mm",
                "<= 1 mm",
                "yes" if worst_error <= 1.0 else "no",
            )
        )
        rows.append(
            (
                f"{name}: time / physical minimum (median / worst)",
                f"{statistics.median(ratios):.3f} / {worst_ratio:.3f}",
                "<= 1.05",
                "yes" if worst_ratio <= 1.05 else "no",
            )
        )
    return rows
