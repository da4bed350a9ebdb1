"""Seeded Jiecang boxes: one random but repeatable box per seed, across the range the
sources describe (see firmware-notes/jiecang.md, "What the emulators model").

``seeded_options(7)`` is always the same box; drivers are tested and benchmarked
against many of them rather than against one emulator's habits.  ``deskctl emulate
jiecang --options seed=7`` serves that box.
"""

from __future__ import annotations

import dataclasses
import random

from deskctl.clock import LoopClock
from deskctl.drivers.jiecang_emulator import Cadence, JiecangEmulator, JiecangOptions
from deskctl.drivers.serial_box import ByteNoise, LineFaults
from deskctl.drivers.url_options import number, take_physics
from deskctl.model import Direction
from deskctl.physics import MotorModel, MotorParams

# E01 and E02 (overcurrent on motor 1 or 2) are how boxes report running into something.
COLLISION_CODES = (1, 2)
NOISY_SHARE = 0.6
MAX_NOISE = 0.05
# One step frame moves a desk by 0.3 mm to 14 mm, as users report; it runs the motor at
# least this long, or a handset repeating its key could not keep the motor running.
STEP_MM = (1.0, 14.0)
MIN_STEP_S = 0.15
LINE_FAULTS = ("noise", "drop", "corrupt")


def seeded_options(seed: int, *, noise: bool | None = None) -> JiecangOptions:
    """The box drawn from ``seed``; ``noise`` forces a clean (False) or noisy (True) line."""
    draw = random.Random(seed)  # noqa: S311 (a repeatable variety of desks, not secrets)
    min_mm = float(round(draw.uniform(580.0, 720.0)))
    max_mm = float(round(draw.uniform(1150.0, 1320.0)))
    cadence = draw.choice(list(Cadence))
    interval = draw.uniform(0.025, 0.1) if cadence is Cadence.REPEAT else draw.uniform(0.05, 0.15)
    params = MotorParams(
        min_mm=min_mm,
        max_mm=max_mm,
        top_speed_mm_s=draw.uniform(25.0, 50.0),
        ramp_s=draw.uniform(0.3, 1.5),
        coast_s=draw.uniform(0.4, 1.7),
        report_interval_s=interval,
        backoff_mm=draw.uniform(5.0, 20.0),
    )
    noisy = draw.random() < NOISY_SHARE if noise is None else noise
    level = draw.uniform(0.005, MAX_NOISE)
    dropped = draw.uniform(0.0, 0.4)  # of the faults, this share loses the byte
    presets = {slot: draw.uniform(min_mm, max_mm) for slot in range(1, 5) if draw.random() < 0.6}
    return JiecangOptions(
        params=params,
        height_mm=draw.uniform(min_mm + 20.0, max_mm - 20.0),
        inches=draw.random() < 0.3,
        move_to=draw.random() < 0.65,
        presets_mm=presets,
        step_s=_step_s_for(params, draw.uniform(*STEP_MM)),
        noise=ByteNoise(
            corrupt=level * (1 - dropped) if noisy else 0.0,
            drop=level * dropped if noisy else 0.0,
            seed=seed,
        ),
        cadence=cadence,
        awake_s=draw.uniform(0.5, 3.0) if cadence is Cadence.REPEAT else 0.0,
        reaction_s=draw.uniform(0.0, 0.25),
        collision_code=draw.choice(COLLISION_CODES),
        answers_units=draw.random() < 0.8,
        rejects_out_of_range=draw.random() < 0.5,
    )


def lone_step_mm(options: JiecangOptions) -> float:
    """How far one UP frame on its own moves the box's desk from rest: its step."""
    return _step_mm(options.params, options.step_s)


def _step_mm(params: MotorParams, step_s: float) -> float:
    model = MotorModel(params, params.min_mm)
    model.drive(Direction.UP, 0.0, hold_s=step_s)
    now = 0.0
    while model.busy:
        now += 0.05
        model.advance(now)
    return model.height_mm - params.min_mm


def _step_s_for(params: MotorParams, step_mm: float) -> float:
    """How long a step frame runs the motor for steps of ``step_mm``."""
    low, high = MIN_STEP_S, 1.0
    for _ in range(20):
        middle = (low + high) / 2
        low, high = (middle, high) if _step_mm(params, middle) < step_mm else (low, middle)
    return low


def emulated_jiecang(options: dict[str, str]) -> JiecangEmulator:
    """A box from ``deskctl emulate jiecang`` options: ``seed=N`` (a seeded box, else the
    default one), then what the other options change: the physics options of ``sim://``,
    ``inches=0/1``, ``move_to=0/1``, and ``noise``/``drop``/``corrupt`` (chances per frame;
    any of them replaces the seeded line's faults)."""
    options = dict(options)

    def option(name: str, default: str) -> float:
        return number("jiecang", name, options.get(name, default))

    seed = options.pop("seed", None)
    box = JiecangOptions() if seed is None else seeded_options(int(number("jiecang", "seed", seed)))
    physics = take_physics(
        "jiecang", options, others=("inches", "move_to", *LINE_FAULTS), base=box.params
    )
    if any(name in options for name in LINE_FAULTS):
        box.noise = ByteNoise()
        box.line = LineFaults(
            noise=option("noise", "0"), drop=option("drop", "0"), corrupt=option("corrupt", "0")
        )
    box = dataclasses.replace(
        box,
        params=physics.params,
        inches=option("inches", "1" if box.inches else "0") > 0,
        move_to=option("move_to", "1" if box.move_to else "0") > 0,
        obstacle_mm=physics.obstacle_mm,
        height_mm=physics.params.limits.clamp(physics.height_mm or box.height_mm),
    )
    return JiecangEmulator(box, LoopClock(physics.speed))
