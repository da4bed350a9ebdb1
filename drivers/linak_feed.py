"""Keeping a Linak desk's target fresh over a link that may stall, and never waiting on it blindly.

A Linak controller stops a move-to when its target is not rewritten within
about half a second, so the target is rewritten every 0.1 s.  Over a poor link
one write can take far longer than that; each write therefore goes out on its
own, and one held up never holds up the next.  Every wait on the Bluetooth
stack is bounded, and stopping never depends on the stack giving up a
cancelled request: a stack that swallows a cancellation cannot keep a move
alive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from deskctl.clock import Clock
from deskctl.errors import ConnectionLost, DeskctlError

log = logging.getLogger(__name__)

T = TypeVar("T")

STOP_WAIT_S = 1.0
"""How long stopping the feed waits for writes still on their way."""


async def bounded(work: Awaitable[T], timeout_s: float, what: str) -> T:
    """The result of ``work``, or :class:`ConnectionLost` after ``timeout_s``.

    ``work`` runs as its own task: cancelling the caller returns at once even
    if the stack below ignores the cancellation.
    """
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        raise ConnectionLost(f"the desk did not answer {what} within {timeout_s:g} s")
    return task.result()


class TargetFeed:
    """Calls ``write`` every ``period_s`` until stopped, each call on its own.

    At most ``max_in_flight`` calls run at once: a link that holds every write
    up gets no growing queue.
    """

    def __init__(
        self,
        write: Callable[[], Awaitable[None]],
        period_s: float,
        clock: Clock,
        max_in_flight: int = 12,
    ) -> None:
        self._write = write
        self._period_s = period_s
        self._clock = clock
        self._max_in_flight = max_in_flight
        self._in_flight: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._stopped = False
        self.failures = 0
        self.last_error: DeskctlError | None = None

    def start(self) -> None:
        self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._stopped:
            if len(self._in_flight) < self._max_in_flight:
                task = asyncio.get_running_loop().create_task(self._write_once())
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            await self._clock.sleep(self._period_s)

    async def _write_once(self) -> None:
        try:
            await self._write()
        except DeskctlError as error:
            self.failures += 1
            self.last_error = error
            log.debug("a target write failed: %s", error)

    async def stop(self) -> set[asyncio.Task[None]]:
        """Stop writing, and return the writes that still have not ended.

        Those ignored their cancellation and may yet reach the desk.
        """
        self._stopped = True
        tasks = {task for task in (self._runner, *self._in_flight) if task is not None}
        for task in tasks:
            task.cancel()
        pending: set[asyncio.Task[None]] = set()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_WAIT_S)
        return pending
