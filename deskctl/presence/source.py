"""What every presence source is: something that answers "how long since the person last
touched the computer", and tells, when it can, that they left, came back or locked the
screen, as it happens."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

LOCKED_IDLE_S = math.inf
"""The idle time a locked screen reports: nobody is at it."""


class Sign(StrEnum):
    ACTIVE = "active"
    """The person touched the keyboard or mouse after being idle, or unlocked the screen."""
    IDLE = "idle"
    """Nobody touched anything for a while (the source's own measure of a while)."""
    LOCKED = "locked"
    """The screen locked: the person left."""


@dataclass(frozen=True)
class Sensed:
    sign: Sign
    idle_s: float = 0.0
    """For IDLE: how long the person had been idle when the source said so."""


Tell = Callable[[Sensed], None]


class Source(ABC):
    """One way of knowing presence.  ``open`` says whether it works here; afterwards
    ``idle_s`` answers queries and the signals (where the source has them) go to ``tell``."""

    name: str

    @abstractmethod
    async def open(self, tell: Tell, idle_after_s: float) -> bool:
        """Connect and subscribe; False (quietly) when the source is not here.

        ``idle_after_s``: how long without input counts as having left, for sources
        that can be asked to say so themselves."""

    @abstractmethod
    async def idle_s(self) -> float | None:
        """Seconds since the last input now; ``LOCKED_IDLE_S`` when the screen is locked;
        None when the source cannot say."""

    @abstractmethod
    async def close(self) -> None:
        """Let go of connections and watches."""
