"""The desk side of a serial line for emulators: a pseudo-terminal at a true 9600 baud.

The emulator owns the controlling end; drivers open the other end by its path,
exactly as they open ``/dev/ttyUSB0``.  A pty delivers bytes instantly, so bytes
are released on the line's own schedule: ten bits per byte at 8N1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable

from deskctl.clock import Clock

SECONDS_PER_BYTE = 10 / 9600


class PtyPort:
    def __init__(self, on_data: Callable[[bytes], None], clock: Clock) -> None:
        self._on_data = on_data
        self._clock = clock
        self._master, self._slave = os.openpty()
        # Raw mode, or the line discipline rewrites bytes such as 0x0D.
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        asyncio.get_running_loop().add_reader(self._master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 1024)
        except OSError:  # nobody holds the other end open right now
            return
        if data:
            self._on_data(data)

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
                os.write(self._master, data)

    async def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self._master)
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
