"""Clocks. Everything that waits or measures time takes one, so that tests and
simulations can run on virtual time (see :mod:`deskctl.vtime`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds and a way to wait for them."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The running asyncio loop's time, optionally running ``speed`` times faster.

    On a :class:`deskctl.vtime.VirtualTimeLoop` this clock is virtual too.
    """

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed

    def now(self) -> float:
        return asyncio.get_running_loop().time() * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    async def sleep_until(self, deadline: float) -> None:
        await self.sleep(deadline - self.now())


class EpochClock(LoopClock):
    """The loop's clock, counting Unix seconds (virtual ones on a virtual loop).

    ``starting_at`` makes the first reading that moment instead of now; tests move
    the clock on by adding to ``offset``.
    """

    def __init__(self, offset: float | None = None, *, starting_at: float | None = None) -> None:
        super().__init__()
        self.offset = offset
        self.starting_at = starting_at

    def now(self) -> float:
        loop_now = super().now()
        if self.offset is None:
            start = time.time() if self.starting_at is None else self.starting_at
            self.offset = start - loop_now
        return loop_now + self.offset


def local_timezone() -> dt.tzinfo:
    """The machine's time zone, which schedules and statistics follow."""
    return dt.datetime.now().astimezone().tzinfo or dt.UTC
