"""Serial desks on their emulators: Jiecang move-to accuracy in both units.

(The Loctek comparison against a naive "hold until the display passes" mover is
still to come.)"""

from __future__ import annotations

import statistics

from deskctl.drivers.jiecang import JiecangDesk
from deskctl.drivers.jiecang_emulator import JiecangEmulator, JiecangOptions
from deskctl.vtime import run_virtual

Row = tuple[str, str, str, str]
LOW_TARGETS = [900.0, 760.0, 950.0, 700.0, 820.0]  # below 100 cm: the display shows mm
HIGH_TARGETS = [1100.0, 1030.0, 1200.0, 1060.0]


def _summary(name: str, values: list[float], unit: str, target: str, met: bool | None) -> Row:
    median, worst = statistics.median(values), max(values, key=abs)
    return (
        name,
        f"{median:.1f} / {worst:.1f}{unit}",
        target,
        "" if met is None else ("yes" if met else "no"),
    )


async def jiecang(inches: bool) -> list[Row]:
    emulator = JiecangEmulator(JiecangOptions(inches=inches))
    errors, ratios = [], []
    async with JiecangDesk(await emulator.start()) as desk:
        for target in LOW_TARGETS + HIGH_TARGETS:
            start, began = emulator.height_mm, emulator.clock.now()
            await desk.move_to(target)
            await emulator.settled()
            errors.append(abs(emulator.height_mm - target))
            runs = [run for run in emulator.model.duty.runs if run[1] > began]
            ratios.append(
                (runs[-1][1] - runs[0][0]) / emulator.model.params.minimum_move_time(target - start)
            )
    await emulator.stop()
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


def run() -> list[Row]:
    return run_virtual(jiecang(False)) + run_virtual(jiecang(True))
