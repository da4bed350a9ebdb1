"""Options in desk URLs that shape a simulated or emulated desk's physics.

``sim://lab?speed=10&min=65cm&obstacle=800`` and the emulated families share
these; each driver takes what it knows from what is left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from deskctl.errors import UnknownDeskURL
from deskctl.physics import MotorParams
from deskctl.units import parse_height

_PARAM_NAMES = {f.name for f in fields(MotorParams)}
ALIASES = {
    "min": "min_mm",
    "max": "max_mm",
    "top_speed": "top_speed_mm_s",
    "ramp": "ramp_s",
    "coast": "coast_s",
    "latency": "stop_latency_s",
    "report": "report_interval_s",
}
_HEIGHTS = {"min_mm", "max_mm"}
COMMON = ("speed", "height", "obstacle", *ALIASES)


@dataclass(frozen=True)
class PhysicsOptions:
    params: MotorParams
    speed: float
    """How many times faster than real time the desk's clock runs."""
    height_mm: float | None
    obstacle_mm: float | None


def take_physics(
    scheme: str,
    options: dict[str, str],
    others: tuple[str, ...] = (),
    base: MotorParams | None = None,
) -> PhysicsOptions:
    """Read the physics options out of ``options`` (removing them); any key that is
    neither a physics option nor one of ``others`` is an error that lists what is known."""
    speed = number(scheme, "speed", options.pop("speed", "1"))
    if speed == 0:
        raise UnknownDeskURL(f"{scheme}:// option speed must be above 0")
    height = options.pop("height", None)
    obstacle = options.pop("obstacle", None)
    physics: dict[str, float] = {}
    for key in list(options):
        if key in others:
            continue
        field_name = ALIASES.get(key, key)
        if field_name not in _PARAM_NAMES:
            known = ", ".join([*COMMON, *others])
            raise UnknownDeskURL(f"{scheme}:// has no option {key!r} (it knows {known})")
        value = options.pop(key)
        physics[field_name] = (
            parse_height(value) if field_name in _HEIGHTS else number(scheme, key, value)
        )
    try:
        params = replace(base or MotorParams(), **physics)
    except ValueError as error:
        raise UnknownDeskURL(f"{scheme}://: {error}") from None
    return PhysicsOptions(
        params,
        speed,
        None if height is None else parse_height(height),
        None if obstacle is None else parse_height(obstacle),
    )


def number(scheme: str, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UnknownDeskURL(f"{scheme}:// option {name} must be a number, not {text!r}") from None
    if not (math.isfinite(value) and 0 <= value < 1e6):
        raise UnknownDeskURL(f"{scheme}:// option {name} must be a number from 0, not {text!r}")
    return value
