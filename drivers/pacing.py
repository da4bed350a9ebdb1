"""Bytes released at a serial line's pace: ten bits per byte at 9600 baud 8N1.

A pseudo-terminal or a socket delivers bytes instantly; an emulated box sends
through this so that its frames take as long to arrive as on a real line.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from deskctl.clock import Clock

SECONDS_PER_BYTE = 10 / 9600


class PacedWriter:
    def __init__(self, write: Callable[[bytes], object], clock: Clock) -> None:
        self._write = write
        self._clock = clock
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None

    def send(self, data: bytes) -> None:
        """Queue bytes; they reach the other end as fast as 9600 baud carries them."""
        self._outbox.put_nowait(data)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_all())

    async def _send_all(self) -> None:
        while not self._outbox.empty():
            data = self._outbox.get_nowait()
            await self._clock.sleep(len(data) * SECONDS_PER_BYTE)
            with contextlib.suppress(OSError):
                self._write(data)

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
