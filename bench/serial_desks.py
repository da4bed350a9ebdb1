"""Serial desks on their emulators.

* Jiecang move-to accuracy in both units, and the driver across seeded Jiecang boxes
  (move-to and steps, clean and noisy lines).
* Loctek, which has no move-to: deskctl's hold-and-watch (coast learned by
  ``deskctl calibrate``) against the naive mover other tools use, "hold the key
  until the display passes the target", on the same emulated desk.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
from collections.abc import Awaitable, Callable

from deskctl.calibrate import calibrate
from deskctl.desk import Desk
from deskctl.drivers.jiecang import JiecangDesk
from deskctl.drivers.jiecang_emulator import JiecangEmulator, JiecangOptions
from deskctl.drivers.jiecang_variants import lone_step_mm, seeded_options
from deskctl.drivers.loctek import LoctekDesk
from deskctl.drivers.loctek_emulator import LoctekEmulator, LoctekOptions
from deskctl.drivers.serial_box import SerialBox
from deskctl.duty import DutyCycle
from deskctl.errors import DeskctlError
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


JIECANG_SEEDS = range(32)
JIECANG_MOVES = 3


@dataclasses.dataclass
class SeededRuns:
    """Across seeded Jiecang boxes of one kind: final errors (mm, and in the box's steps),
    time over the physical minimum, and the moves that failed."""

    errors: list[float] = dataclasses.field(default_factory=list)
    in_steps: list[float] = dataclasses.field(default_factory=list)
    ratios: list[float] = dataclasses.field(default_factory=list)
    promised: list[bool] = dataclasses.field(default_factory=list)
    failed: int = 0


async def jiecang_seeded_box(seed: int, noisy: bool, runs: dict[bool, SeededRuns]) -> None:
    """Three moves of the box drawn from ``seed`` (the line clean or noisy), after a
    calibration if it has no move-to."""
    options = seeded_options(seed, noise=noisy)
    options.params = dataclasses.replace(options.params, **TIRELESS)
    unit = 2.54 if options.inches else 1.0
    step = lone_step_mm(options)
    exact = max(1.0, unit / 2) + 0.01
    promise = exact if options.move_to else max(exact, step / 2 + unit)
    kind = runs[options.move_to]
    emulator = JiecangEmulator(options)
    draw = random.Random(seed)
    async with JiecangDesk(await emulator.start()) as desk:
        desk.duty = DutyCycle(on_s=3600.0, window_s=36000.0)
        if not options.move_to:
            await calibrate(desk)
        low, high = desk.limits.min_mm + 10.0, desk.limits.max_mm - 10.0
        for _ in range(JIECANG_MOVES):
            target = draw.uniform(low, high)
            start, began = emulator.height_mm, emulator.clock.now()
            try:
                await desk.move_to(target)
            except DeskctlError:
                kind.failed += 1
                continue
            await emulator.settled()
            error = abs(emulator.height_mm - target)
            kind.errors.append(error)
            kind.in_steps.append(error / step)
            kind.promised.append(error <= promise)
            motor = [run for run in emulator.model.duty.runs if run[1] > began]
            if motor:
                # From the command to rest, against the box's reaction and the motor's
                # ramp, run and braking over the same distance.
                least = options.reaction_s + options.params.minimum_move_time(target - start)
                kind.ratios.append((motor[-1][1] - began) / least)
    await emulator.stop()


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else max(values)


def jiecang_seeded() -> list[Row]:
    """Seeded Jiecang boxes (and lines): the driver's worst and 95th-percentile final error
    and time over the physical minimum, boxes with move-to and boxes moved by steps apart."""
    rows: list[Row] = []
    for noisy in (False, True):
        runs = {True: SeededRuns(), False: SeededRuns()}
        for seed in JIECANG_SEEDS:
            run_virtual(jiecang_seeded_box(seed, noisy, runs))
        line = "noisy line (0.5-5 % of bytes)" if noisy else "clean line"
        for move_to, kind in runs.items():
            boxes = "move-to boxes" if move_to else "step boxes (calibrated)"
            name = f"Jiecang, {len(JIECANG_SEEDS)} seeded boxes, {boxes}, {line}"
            moves = len(kind.errors) + kind.failed
            kept = sum(kind.promised)
            error = f"{_p95(kind.errors):.1f} / {max(kind.errors):.1f} mm"
            if not move_to:
                error += f" ({_p95(kind.in_steps):.2f} / {max(kind.in_steps):.2f} of a step)"
            rows.append(
                (
                    f"{name}: final error p95 / worst",
                    error,
                    "within the box's promise in every move"
                    if move_to
                    else "within half a step (+1 unit) in every move",
                    "yes" if kept == moves else f"no ({moves - kept} of {moves})",
                )
            )
            rows.append(
                (
                    f"{name}: time / physical minimum, p95 / worst",
                    f"{_p95(kind.ratios):.2f} / {max(kind.ratios):.2f}",
                    "(info)",
                    "",
                )
            )
    return rows


def run() -> list[Row]:
    return (
        run_virtual(jiecang(False))
        + run_virtual(jiecang(True))
        + jiecang_seeded()
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
