"""Typed facts about a desk: what it is, what it can do, and where it is now."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum, IntEnum

from deskctl.errors import OutOfRange
from deskctl.units import Unit, format_height


class Direction(IntEnum):
    """Which way the desk top travels; the value is the sign of the motion."""

    UP = 1
    DOWN = -1


class Fault(Enum):
    """Why a desk refuses to move until someone acts."""

    COLLISION = "collision"
    OVERHEATED = "overheated"
    CONTROLLER = "controller"


class Link(Enum):
    """The state of the connection to the desk."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class Limits:
    """The lowest and highest height the desk may be driven to, in millimetres."""

    min_mm: float
    max_mm: float

    def __post_init__(self) -> None:
        if not 0 < self.min_mm < self.max_mm:
            raise ValueError(f"limits must satisfy 0 < min < max, got {self.min_mm}..{self.max_mm}")

    def __contains__(self, height_mm: float) -> bool:
        return self.min_mm <= height_mm <= self.max_mm

    def clamp(self, height_mm: float) -> float:
        return min(max(height_mm, self.min_mm), self.max_mm)

    def check(self, height_mm: float, unit: Unit = Unit.CM) -> float:
        """Return ``height_mm`` if the desk can reach it, else raise :class:`OutOfRange`."""
        if height_mm not in self:
            raise OutOfRange(
                f"{format_height(height_mm, unit)} is outside this desk's range "
                f"{format_height(self.min_mm, unit)} to {format_height(self.max_mm, unit)}"
            )
        return height_mm

    def narrowed(self, other: Limits) -> Limits:
        """The limits both ``self`` and ``other`` allow."""
        return Limits(max(self.min_mm, other.min_mm), min(self.max_mm, other.max_mm))


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a desk's controller offers, so surfaces can render any desk generically."""

    native_move_to: bool
    """The controller closes the loop on a target height itself."""
    memory_presets: int = 0
    """How many memory positions the controller stores (0 when it has none)."""
    can_save_presets: bool = False
    reports_speed: bool = False
    nominal_speed_mm_s: float = 38.0
    """Typical top speed, used to estimate move times for the duty-cycle guard."""


@dataclass(frozen=True, slots=True)
class DeskInfo:
    """Who the desk is."""

    family: str
    address: str
    name: str = ""
    model: str = ""
    firmware: str | None = None


@dataclass(frozen=True, slots=True)
class DeskState:
    """One observation of the desk.

    ``timestamp`` is in the seconds of the clock the driver runs on.
    """

    height_mm: float
    speed_mm_s: float = 0.0
    moving: bool = False
    fault: Fault | None = None
    link: Link = Link.CONNECTED
    timestamp: float = 0.0
    detail: str = field(default="", compare=False)
    """A human sentence about ``fault`` or ``link``, when there is one."""

    def but(self, **changes: object) -> DeskState:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
