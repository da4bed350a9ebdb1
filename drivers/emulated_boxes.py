"""Emulated serial control boxes made from ``deskctl emulate`` options."""

from __future__ import annotations

from deskctl.clock import LoopClock
from deskctl.drivers.jiecang_variants import emulated_jiecang
from deskctl.drivers.loctek_emulator import LoctekEmulator, LoctekOptions
from deskctl.drivers.serial_box import LineFaults, SerialBox
from deskctl.drivers.url_options import number, take_physics

LINE_OPTIONS = ("noise", "drop", "corrupt")


def emulated_box(family: str, options: dict[str, str]) -> SerialBox:
    """A box of ``family``: the physics options of ``sim://``, ``inches=1`` and the line
    faults ``noise``/``drop``/``corrupt`` (chances per frame); for Jiecang see
    :func:`deskctl.drivers.jiecang_variants.emulated_jiecang`."""
    if family == "jiecang":
        return emulated_jiecang(options)
    options = dict(options)

    def option(name: str, default: str) -> float:
        return number(family, name, options.get(name, default))

    physics = take_physics(
        family, options, others=("inches", *LINE_OPTIONS), base=LoctekOptions().params
    )
    line = LineFaults(
        noise=option("noise", "0"), drop=option("drop", "0"), corrupt=option("corrupt", "0")
    )
    inches = option("inches", "0") > 0
    clock = LoopClock(physics.speed)
    loctek = LoctekOptions(
        params=physics.params, inches=inches, obstacle_mm=physics.obstacle_mm, line=line
    )
    loctek.height_mm = physics.height_mm or loctek.height_mm
    return LoctekEmulator(loctek, clock)
