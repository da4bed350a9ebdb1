"""A controller's loop around the motor model, shared by the simulated desk and the emulators.

It runs only while the motor runs: every report interval (and the moment the
motor comes to rest) it advances the model and calls ``on_tick``; an idle
desk has no timer at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable

from deskctl.clock import Clock
from deskctl.physics import MotorModel

Callback = Callable[[], Awaitable[None] | None]


class MotorLoop:
    def __init__(
        self, model: MotorModel, clock: Clock, on_tick: Callback, on_rest: Callback | None = None
    ) -> None:
        self.model = model
        self.clock = clock
        self._on_tick = on_tick
        self._on_rest = on_rest
        self._task: asyncio.Task[None] | None = None

    def kick(self) -> None:
        """Start the loop if the motor has something to do and the loop is not running."""
        if self.model.busy and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def settled(self) -> None:
        """Wait until the motor has come to rest."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        interval = self.model.params.report_interval_s
        while self.model.busy:
            settles = self.model.settles_in()
            await self.clock.sleep(interval if settles is None else min(interval, settles + 1e-3))
            self.model.advance(self.clock.now())
            await _call(self._on_tick)
        if self._on_rest is not None:
            await _call(self._on_rest)


async def _call(callback: Callback) -> None:
    result = callback()
    if inspect.isawaitable(result):
        await result
