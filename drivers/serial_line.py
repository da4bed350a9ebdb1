"""Serial lines for desk controllers: a USB-serial cable (``/dev/ttyUSB0``), a
pseudo-terminal, or a network serial bridge (``socket://HOST:PORT``), at 9600 8N1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import serial
import serial_asyncio_fast

from deskctl.errors import ConnectionLost, DeskNotFound, DeskUnavailable

log = logging.getLogger(__name__)
BAUD = 9600


class SerialLine:
    """One open line: bytes out, and every chunk in handed to ``on_data``.

    When the line dies (cable pulled, bridge gone) ``on_lost`` is called once.
    """

    def __init__(
        self, port: str, on_data: Callable[[bytes], None], on_lost: Callable[[str], None]
    ) -> None:
        self.port = port
        self._on_data = on_data
        self._on_lost = on_lost
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None
        self._closing = False
        self._gone = False

    async def open(self) -> None:
        try:
            self._reader, self._writer = await serial_asyncio_fast.open_serial_connection(
                url=self.port, baudrate=BAUD
            )
        except serial.SerialException as error:
            text = str(error)
            if "No such file" in text or ("could not open port" in text and "Errno 2" in text):
                raise DeskNotFound(
                    f"no serial port {self.port}: check the cable and the port name"
                ) from None
            if "Permission denied" in text or "Errno 13" in text:
                raise DeskUnavailable(
                    f"no permission to open {self.port}: add yourself to the 'dialout' group"
                ) from None
            if "Errno 16" in text or "busy" in text.lower():
                raise DeskUnavailable(f"{self.port} is in use by another program") from None
            raise DeskUnavailable(f"cannot open {self.port}: {text}") from None
        except (OSError, ValueError) as error:
            raise DeskNotFound(f"cannot open {self.port}: {error}") from None
        self._pump = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while chunk := await self._reader.read(256):
                self._on_data(chunk)
            reason = "the line closed"
        except (OSError, serial.SerialException) as error:
            reason = str(error) or type(error).__name__
        self._lost(reason)

    def _lost(self, reason: str) -> None:
        if not self._closing and not self._gone:
            self._gone = True
            self._on_lost(reason)

    def write(self, data: bytes) -> None:
        """Send bytes now; a dead line (a pulled cable shows up first here) is ConnectionLost."""
        if self._writer is None or self._writer.is_closing():
            self._lost("the line closed")
            raise ConnectionLost(f"the serial line {self.port} is closed")
        try:
            self._writer.write(data)
        except (OSError, serial.SerialException) as error:
            self._lost(str(error))
            raise ConnectionLost(f"lost the serial line {self.port}: {error}") from None

    async def close(self) -> None:
        self._closing = True
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, serial.SerialException):
                await self._writer.wait_closed()
