"""Serial desks on their emulators.

* Jiecang move-to accuracy in both units, and the driver across seeded Jiecang boxes
  (move-to and steps, clean and noisy lines).
* Loctek, which has no move-to, over a few dozen boxes drawn from seeds (display
  cadence, reaction, ramp, coast, top speed, travel, digits, line noise): deskctl
  after ``deskctl calibrate``, deskctl on a desk it has not learned yet, and the
  naive mover other tools use ("hold the key until the display passes the
  target"), each making the same moves on the same desks.  Reported: how many
  moves end within what the display can show (1 mm where it shows tenths of a
  centimetre, 0.1 in on inch panels, 5 mm where it shows whole centimetres), the
  95th percentile and the worst final error, the desks on which deskctl did worse
  than the naive mover, and the time each move took against the physical minimum
  of the same move (ramp, top speed, braking; no reaction time).

    .venv/bin/python bench/serial_desks.py [DESKS]
"""

from __future__ import annotations

import dataclasses
import math
import random
import statistics
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from deskctl import vtime
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
LOCTEK_DESKS = 36
MOVES_PER_DESK = 10

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
        if runs:  # a move already within reach of the target runs no motor at all
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


# -- Loctek -----------------------------------------------------------------------------------


async def hold_until_passed(desk: Desk, target: float) -> None:
    """The naive mover: hold the key until the display shows the target passed, let go."""
    direction = Direction.UP if target > desk.state.height_mm else Direction.DOWN
    with desk.subscribe() as states:
        async with desk.hold(direction):
            while (state := await states.next(timeout=5.0)) is not None:
                if (state.height_mm - target) * direction >= 0:
                    break


async def move_to(desk: Desk, target: float) -> None:
    """deskctl's move; a move it gives up on still ends somewhere, and that is measured."""
    try:
        await desk.move_to(target)
    except DeskctlError as error:
        print(f"  ({error})", file=sys.stderr)


def resolution(options: LoctekOptions, height_mm: float) -> float:
    """What the display can show at ``height_mm``: the error a move is allowed."""
    if options.inches:
        return 2.54
    if options.whole_cm or height_mm >= 995.0:
        return 5.0
    return 1.0


def targets_for(seed: int, options: LoctekOptions) -> list[float]:
    """Long moves across the range and short ones from where the last ended, as people
    make them: to sitting and standing heights, and a few millimetres or centimetres."""
    draw = random.Random(seed * 7919)
    low, high = options.params.min_mm + 20.0, options.params.max_mm - 20.0
    targets, height = [], options.height_mm
    for index in range(MOVES_PER_DESK):
        if index % 3 == 2:
            step = draw.choice((-1.0, 1.0)) * draw.uniform(2.0, 40.0)
            target = min(max(height + step, low), high)
        else:
            target = draw.uniform(low, high)
        targets.append(round(target, 1))
        height = target
    return targets


@dataclass
class Desks:
    """One way of moving, over every seeded desk."""

    errors: list[tuple[float, float]]
    """Absolute final error and what the display could show there, millimetres."""
    ratios: list[float]
    worst_by_desk: list[float]
    """Each desk's worst final error, in digits of its display."""


async def loctek_desk(
    seed: int, move: Mover, learn: bool
) -> tuple[list[tuple[float, float]], list[float]]:
    options = LoctekOptions.seeded(seed)
    options = dataclasses.replace(options, params=dataclasses.replace(options.params, **TIRELESS))
    emulator = LoctekEmulator(options)
    targets = targets_for(seed, options)
    async with LoctekDesk(await emulator.start(), inches=options.inches) as desk:
        desk.duty = DutyCycle(on_s=3600.0, window_s=36000.0)
        if learn:
            await calibrate(desk)
        signed, ratios = await _measure(desk, emulator, move, targets)
    await emulator.stop()
    errors = [
        (abs(error), resolution(options, target))
        for error, target in zip(signed, targets, strict=True)
    ]
    return errors, ratios


def loctek_run(move: Mover, learn: bool, seeds: list[int]) -> Desks:
    result = Desks([], [], [])
    for seed in seeds:
        errors, ratios = run_virtual(loctek_desk(seed, move, learn))
        result.errors += errors
        result.ratios += ratios
        result.worst_by_desk.append(max(error / allowed for error, allowed in errors))
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


DIGITS = {1.0: "tenths of a cm (1 mm)", 2.54: "tenths of an inch", 5.0: "whole cm (5 mm)"}


def loctek(desks: int = LOCTEK_DESKS) -> list[Row]:
    seeds = list(range(1, desks + 1))
    naive = loctek_run(hold_until_passed, False, seeds)
    rows: list[Row] = []
    for name, result in (
        ("deskctl, calibrated", loctek_run(move_to, True, seeds)),
        ("deskctl, not calibrated", loctek_run(move_to, False, seeds)),
        ("naive: hold until the display passes", naive),
    ):
        reference = name.startswith("naive")
        within = [error <= allowed + 1e-9 for error, allowed in result.errors]
        share = sum(within) / len(within)
        worse = sum(
            1
            for ours, theirs in zip(result.worst_by_desk, naive.worst_by_desk, strict=True)
            if ours > theirs
        )
        rows.append(
            (
                f"Loctek, {desks} seeded desks, {name}: moves within the display's resolution",
                f"{100 * share:.1f} % of {len(within)}",
                "(reference)" if reference else ">= 95 %",
                "" if reference or "not" in name else _met(share >= 0.95),
            )
        )
        for allowed, digits in DIGITS.items():
            errors = [error for error, limit in result.errors if limit == allowed]
            if errors:
                rows.append(
                    (
                        f"Loctek, same, {name}: final error p95 / worst where the digits "
                        f"show {digits}",
                        f"{percentile(errors, 0.95):.1f} / {max(errors):.1f} mm",
                        "(reference)" if reference else f"<= {allowed} mm",
                        "",
                    )
                )
        if not reference:
            rows.append(
                (
                    f"Loctek, same, {name}: desks on which it did worse than the naive mover",
                    str(worse),
                    "0",
                    _met(worse == 0),
                )
            )
        rows.append(
            (
                f"Loctek, same, {name}: time / physical minimum, median / p95 / worst",
                f"{statistics.median(result.ratios):.2f} / {percentile(result.ratios, 0.95):.2f}"
                f" / {max(result.ratios):.2f}",
                "(info)",
                "",
            )
        )
    return rows


def _met(met: bool) -> str:
    return "yes" if met else "no"


def run(desks: int = LOCTEK_DESKS) -> list[Row]:
    # These desks are driven over pseudo-terminals on virtual time, which waits a moment of
    # real time at every jump in case a pty is still handing bytes over; poll(2), called
    # just before, already finishes that for a pty, and the same runs end in the same
    # place without the wait, ten times sooner.
    grace, vtime.IO_GRACE_S = vtime.IO_GRACE_S, 0.0
    try:
        return (
            run_virtual(jiecang(False))
            + run_virtual(jiecang(True))
            + jiecang_seeded()
            + loctek(desks)
        )
    finally:
        vtime.IO_GRACE_S = grace


if __name__ == "__main__":
    for row in run(int(sys.argv[1]) if len(sys.argv) > 1 else LOCTEK_DESKS):
        print(" | ".join(row))
