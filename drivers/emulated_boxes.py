"""Emulated serial control boxes made from ``deskctl emulate`` options."""

from __future__ import annotations

import dataclasses

from deskctl.clock import LoopClock
from deskctl.drivers.jiecang_emulator import JiecangEmulator, JiecangOptions
from deskctl.drivers.loctek_emulator import LoctekEmulator, LoctekOptions
from deskctl.drivers.serial_box import LineFaults, SerialBox
from deskctl.drivers.url_options import number, take_physics

LINE_OPTIONS = ("noise", "drop", "corrupt")


def emulated_box(family: str, options: dict[str, str]) -> SerialBox:
    """A box of ``family``: the physics options of ``sim://``, ``inches=1``, the line
    faults ``noise``/``drop``/``corrupt`` (chances per frame), for Jiecang ``move_to=0``
    (an older box with steps and presets only), and for Loctek ``seed=N`` (a box drawn
    from the range real ones show; the other options then override what was drawn) and
    ``whole=1`` (whole centimetres on the display)."""
    options = dict(options)
    own = ("move_to",) if family == "jiecang" else ("seed", "whole")

    def option(name: str, default: str) -> float:
        return number(family, name, options.get(name, default))

    seed = options.get("seed")
    base = LoctekOptions.seeded(int(option("seed", "0"))) if seed is not None else LoctekOptions()
    base_params = JiecangOptions().params if family == "jiecang" else base.params
    physics = take_physics(
        family, options, others=("inches", *LINE_OPTIONS, *own), base=base_params
    )
    line = LineFaults(
        noise=option("noise", "0"), drop=option("drop", "0"), corrupt=option("corrupt", "0")
    )
    if not any(name in options for name in LINE_OPTIONS):
        line = base.line
    inches = option("inches", "1" if base.inches else "0") > 0
    clock = LoopClock(physics.speed)
    if family == "jiecang":
        jiecang = JiecangOptions(
            params=physics.params,
            inches=inches,
            move_to=option("move_to", "1") > 0,
            obstacle_mm=physics.obstacle_mm,
            line=line,
        )
        jiecang.height_mm = physics.height_mm or jiecang.height_mm
        return JiecangEmulator(jiecang, clock)
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
