"""The desk side of a serial line for emulators: a pseudo-terminal at a true 9600 baud.

The emulator owns the controlling end; drivers open the other end by its path,
exactly as they open ``/dev/ttyUSB0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable
from functools import partial

from deskctl.clock import Clock
from deskctl.drivers.pacing import PacedWriter


class PtyPort:
    def __init__(self, on_data: Callable[[bytes], None], clock: Clock) -> None:
        self._on_data = on_data
        self._master, self._slave = os.openpty()
        # Raw mode, or the line discipline rewrites bytes such as 0x0D.
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._writer = PacedWriter(partial(os.write, self._master), clock)
        self.send = self._writer.send
        asyncio.get_running_loop().add_reader(self._master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 1024)
        except OSError:  # nobody holds the other end open right now
            return
        if data:
            self._on_data(data)

    async def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self._master)
        await self._writer.close()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
