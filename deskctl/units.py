"""Height units: parse what people type, format what they read.

Inside deskctl every height is a float of millimetres. Only the edges
(command line, config files, screens) speak centimetres or inches.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum

from deskctl.errors import InvalidHeight


class Unit(StrEnum):
    """A unit a person may choose to see heights in."""

    MM = "mm"
    CM = "cm"
    IN = "in"


MM_PER_UNIT: dict[str, float] = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4}
_ALIASES = {'"': "in", "inch": "in", "inches": "in", "millimetres": "mm", "centimetres": "cm"}

# A plain decimal number (no exponent, no sign) and an optional unit.
_HEIGHT_RE = re.compile(
    r"^\s*(?P<value>\d+(?:[.,]\d+)?|[.,]\d+)\s*(?P<unit>[a-z\"]+)?\s*$", re.IGNORECASE
)

# Nothing a desk or a person stands at comes close to this; it catches typos like 1e9 or 10000cm.
IMPLAUSIBLE_MM = 5000.0

# Where a desk top can be: wider than any desk's travel, so that only a misread number is out.
DESK_HEIGHTS_MM = (500.0, 1500.0)
# A barefoot person's height.
BODY_HEIGHTS_MM = (1000.0, 2500.0)


def parse_height(text: str | float | int) -> float:
    """Return the height in millimetres.

    Accepts ``1000`` (a bare number is millimetres), ``1000mm``, ``100cm``,
    ``100.5 cm``, ``39.4in`` and ``1.05m``.  Raises :class:`InvalidHeight`
    with a message that shows the accepted forms.
    """
    if isinstance(text, bool):
        raise InvalidHeight(f"{text!r} is not a height")
    if isinstance(text, int | float):
        return _checked(float(text), str(text))
    match = _HEIGHT_RE.match(text)
    if match is None:
        raise InvalidHeight(
            f"{text.strip()!r} is not a height: write it like 1100, 1100mm, 110cm, 43.3in or 1.1m"
        )
    unit = (match["unit"] or "mm").lower()
    unit = _ALIASES.get(unit, unit)
    if unit not in MM_PER_UNIT:
        raise InvalidHeight(
            f"{text.strip()!r}: unknown unit {match['unit']!r} (use mm, cm, in or m)"
        )
    value = float(match["value"].replace(",", "."))
    return _checked(value * MM_PER_UNIT[unit], text.strip())


def parse_user_height(
    text: str | float | int,
    unit: Unit,
    *,
    plausible_mm: tuple[float, float] | None = DESK_HEIGHTS_MM,
    what: str = "desk height",
) -> float:
    """A height as a person types it, in millimetres: with its unit (``110cm``, ``43.3in``),
    or a bare number in ``unit``, the person's unit (the one deskctl shows them).

    A bare number that makes no sense as ``what`` in that unit (outside ``plausible_mm``)
    is refused with the reading that would make sense: ``110 mm is no desk height; did
    you mean 110 cm?``.  The command line and the MQTT bridge read heights through this.
    """
    number = _bare_number(text)
    if number is None:
        assert not isinstance(text, int | float)
        return parse_height(text)
    shown = f"{number:g}"
    mm = number * MM_PER_UNIT[unit.value]
    if plausible_mm is None or not math.isfinite(mm) or mm <= 0:
        return _checked(mm, shown)
    if plausible_mm[0] <= mm <= plausible_mm[1]:
        return round(mm, 1)
    others = [
        other
        for other in Unit
        if other is not unit
        and plausible_mm[0] <= number * MM_PER_UNIT[other.value] <= plausible_mm[1]
    ]
    hint = f"; did you mean {shown} {others[0].value}?" if others else ""
    raise InvalidHeight(f"{shown} {unit.value} is no {what}{hint}")


def _bare_number(text: str | float | int) -> float | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text)
    match = _HEIGHT_RE.match(text)
    if match is None or match["unit"]:
        return None
    return float(match["value"].replace(",", "."))


def _checked(mm: float, shown: str) -> float:
    if not math.isfinite(mm) or mm <= 0:
        raise InvalidHeight(f"{shown!r} is not a height: it must be a positive number")
    if mm > IMPLAUSIBLE_MM:
        raise InvalidHeight(f"{shown!r} is not a plausible desk height (more than 5 m)")
    return round(mm, 1)


def to_unit(mm: float, unit: Unit) -> float:
    """Convert millimetres to ``unit``."""
    return mm / MM_PER_UNIT[unit.value]


def format_height(mm: float, unit: Unit = Unit.CM) -> str:
    """Format a height for people: ``1100 mm``, ``110.0 cm`` or ``43.3 in``."""
    if unit is Unit.MM:
        return f"{mm:.0f} mm"
    return f"{to_unit(mm, unit):.1f} {unit.value}"


def format_speed(mm_per_s: float, unit: Unit = Unit.CM) -> str:
    """Format a speed in the unit's natural scale (mm/s for metric, in/s for imperial)."""
    if unit is Unit.IN:
        return f"{mm_per_s / 25.4:.1f} in/s"
    return f"{mm_per_s:.0f} mm/s"
