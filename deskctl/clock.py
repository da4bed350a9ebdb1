"""Clocks. Everything that waits or measures time takes one, so that tests and
simulations can run on virtual time (see :mod:`deskctl.vtime`)."""

from __future__ import annotations

import asyncio
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
