"""Serial desks on their emulators.

* Jiecang move-to accuracy in both units.
* Loctek, which has no move-to: deskctl's hold-and-watch (coast learned by
  ``deskctl calibrate``) against the naive mover other tools use, "hold the key
  until the display passes the target", on the same emulated desk.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Awaitable, Callable

from deskctl.calibrate import calibrate
from deskctl.desk import Desk
from deskctl.drivers.jiecang import JiecangDesk
from deskctl.drivers.jiecang_emulator import JiecangEmulator, JiecangOptions
from deskctl.drivers.loctek import LoctekDesk
from deskctl.drivers.loctek_emulator import LoctekEmulator, LoctekOptions
from deskctl.drivers.serial_box import SerialBox
from deskctl.duty import DutyCycle
from deskctl.model import Direction
from deskctl.vtime import run_virtual

Row = tuple[str, str, str, str]
LOW_TARGETS = [900.0, 760.0, 950.0, 700.0, 820.0]  # below 100 cm: the display shows mm
HIGH_TARGETS = [1100.0, 1030.0, 1200.0, 1060.0]
# The duty cycle is not what is measured here: let the motors run as long as the runs need.
TIRELESS = {"duty_on_s": 3600.0, "duty_window_s": 36000.0}

Mover = Callable[[Desk, float], Awaitable[object]]


def _summary(name: str, values: list[float], unit: str, target: str, met: bool | None) -> Row:
    median, worst = statistics.median(values), max(values, key=abs)
    digits = 1 if unit else 2  # millimetres to a tenth, ratios to a hundredth
    return (
        name,
        f"{median:.{digits}f} / {worst:.{digits}f}{unit}",
        target,
        "" if met is None else ("yes" if met else "no"),
    )


async def _measure(
    desk: Desk, box: SerialBox, move: Mover, targets: list[float]
) -> tuple[list[float], list[float]]:
    """Signed final errors (past the target is positive) and time / physical minimum."""
    errors, ratios = [], []
    for target in targets:
        start, began = box.height_mm, box.clock.now()
        await move(desk, target)
        await box.settled()
        errors.append((box.height_mm - target) * (1 if target > start else -1))
        runs = [run for run in box.model.duty.runs if run[1] > began]
        ratios.append(
            (runs[-1][1] - runs[0][0]) / box.model.params.minimum_move_time(target - start)
        )
    return errors, ratios


async def jiecang(inches: bool) -> list[Row]:
    emulator = JiecangEmulator(JiecangOptions(inches=inches))
    async with JiecangDesk(await emulator.start()) as desk:
        errors, ratios = await _measure(desk, emulator, Desk.move_to, LOW_TARGETS + HIGH_TARGETS)
    await emulator.stop()
    errors = [abs(error) for error in errors]
    limit = 1.27 if inches else 0.5  # half of what the box can represent: 0.1 in, or 1 mm
    name = f"Jiecang ({'inch' if inches else 'metric'}) move-to"
    return [
        _summary(
            f"{name}: final error (median / worst)",
            errors,
            " mm",
            f"<= {limit} mm",
            max(errors) <= limit,
        ),
        _summary(f"{name}: time / physical minimum", ratios, "", "(info)", None),
    ]


async def hold_until_passed(desk: Desk, target: float) -> None:
    """The naive mover: hold the key until the display shows the target passed, let go."""
    direction = Direction.UP if target > desk.state.height_mm else Direction.DOWN
    with desk.subscribe() as states:
        async with desk.hold(direction):
            while (state := await states.next(timeout=5.0)) is not None:
                if (state.height_mm - target) * direction >= 0:
                    break


async def loctek(name: str, move: Mover, learn: bool, reference: bool = False) -> list[Row]:
    options = LoctekOptions()
    options.params = dataclasses.replace(options.params, **TIRELESS)
    emulator = LoctekEmulator(options)
    async with LoctekDesk(await emulator.start()) as desk:
        desk.duty = DutyCycle(on_s=3600.0, window_s=36000.0)
        if learn:
            await calibrate(desk)
        low, low_ratios = await _measure(desk, emulator, move, LOW_TARGETS)
        high, high_ratios = await _measure(desk, emulator, move, HIGH_TARGETS)
    await emulator.stop()
    rows = []
    for band, errors, limit in (("below 100 cm", low, 1.0), ("100 cm and up", high, 5.0)):
        worst = max(abs(error) for error in errors)
        rows.append(
            _summary(
                f"Loctek {name}, {band}: overshoot (median / worst)",
                errors,
                " mm",
                "(reference)" if reference else f"within {limit} mm either way",
                None if reference else worst <= limit,
            )
        )
    rows.append(
        _summary(
            f"Loctek {name}: time / physical minimum", low_ratios + high_ratios, "", "(info)", None
        )
    )
    return rows


def run() -> list[Row]:
    return (
        run_virtual(jiecang(False))
        + run_virtual(jiecang(True))
        + run_virtual(loctek("hold-and-watch (deskctl)", Desk.move_to, learn=True))
        + run_virtual(
            loctek(
                "hold until the display passes (naive)",
                hold_until_passed,
                learn=False,
                reference=True,
            )
        )
    )


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
