"""Emulated serial control boxes made from ``deskctl emulate`` options."""

from __future__ import annotations

import dataclasses

from deskctl.clock import LoopClock
from deskctl.drivers.jiecang_variants import emulated_jiecang
from deskctl.drivers.loctek_emulator import LoctekEmulator, LoctekOptions
from deskctl.drivers.serial_box import LineFaults, SerialBox
from deskctl.drivers.url_options import number, take_physics

LINE_OPTIONS = ("noise", "drop", "corrupt")


def emulated_box(family: str, options: dict[str, str]) -> SerialBox:
    """A box of ``family``: the physics options of ``sim://``, ``inches=1`` and the line
    faults ``noise``/``drop``/``corrupt`` (chances per frame); for Jiecang see
    :func:`deskctl.drivers.jiecang_variants.emulated_jiecang`; for Loctek ``seed=N`` (a box
    drawn from the range real ones show; the other options then override what was drawn)
    and ``whole=1`` (whole centimetres on the display)."""
    if family == "jiecang":
        return emulated_jiecang(options)
    options = dict(options)

    def option(name: str, default: str) -> float:
        return number(family, name, options.get(name, default))

    seed = options.get("seed")
    base = LoctekOptions.seeded(int(option("seed", "0"))) if seed is not None else LoctekOptions()
    physics = take_physics(
        family, options, others=("inches", *LINE_OPTIONS, "seed", "whole"), base=base.params
    )
    line = LineFaults(
        noise=option("noise", "0"), drop=option("drop", "0"), corrupt=option("corrupt", "0")
    )
    if not any(name in options for name in LINE_OPTIONS):
        line = base.line
    inches = option("inches", "1" if base.inches else "0") > 0
    clock = LoopClock(physics.speed)
    loctek = dataclasses.replace(
        base,
        params=physics.params,
        inches=inches,
        whole_cm=option("whole", "1" if base.whole_cm else "0") > 0,
        obstacle_mm=physics.obstacle_mm,
        line=line,
        height_mm=base.params.limits.clamp(physics.height_mm or base.height_mm),
    )
    return LoctekEmulator(loctek, clock)
