"""A network serial bridge in front of an emulated box, as ser2net or an ESP-Link is
in front of a real one: drivers reach it as ``socket://HOST:PORT``.

Like those bridges it serves one client at a time and passes bytes through
untouched, at the serial line's pace.
"""

from __future__ import annotations

import asyncio
import contextlib

from deskctl.drivers.pacing import PacedWriter
from deskctl.drivers.serial_box import SerialBox


class TcpBridge:
    def __init__(self, box: SerialBox) -> None:
        self.box = box
        self._server: asyncio.Server | None = None
        self._client: asyncio.StreamWriter | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host``:``port`` (0: any free port); returns the port."""
        self._server = await asyncio.start_server(self._serve, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._client is not None:
            writer.close()  # the line is taken
            return
        self._client = writer
        paced = PacedWriter(writer.write, self.box.clock)
        self.box.plug(paced.send)
        try:
            while data := await reader.read(256):
                self.box.receive(data)
        except ConnectionError:
            pass
        finally:
            self.box.plug(None)
            self._client = None
            await paced.close()
            writer.close()

    async def drop_client(self) -> None:
        """The network goes away under the client: its connection is reset."""
        if self._client is not None:
            self._client.transport.abort()

    async def stop(self) -> None:
        await self.drop_client()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.CancelledError):
                await self._server.wait_closed()
            self._server = None
