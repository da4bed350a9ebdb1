"""Jiecang desks through their BLE adapters: ``jiecang-ble://ADDRESS``.

The adapter is a transparent pipe for the same frames the serial line
carries: frames are written to one characteristic and arrive as
notifications of another, several to a notification or split across two.
Adapters come in a few GATT layouts (``jiecang_codec.BLE_VARIANTS``); the
driver finds the one it is talking to from the services the adapter offers.
They ask for no pairing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.backends.service import BleakGATTServiceCollection
from bleak.exc import BleakError

from deskctl.clock import Clock
from deskctl.drivers import ble_connect
from deskctl.drivers import jiecang_codec as codec
from deskctl.drivers.jiecang import ByteLink, JiecangDesk
from deskctl.errors import ConnectionLost, DeskNotFound
from deskctl.motion import MotionStrategy

log = logging.getLogger(__name__)

PAIRING_ADVICE = "Jiecang adapters do not pair; unpair it in your Bluetooth settings and try again"
DRAIN_TIMEOUT_S = 1.0


def find_pipe(
    services: BleakGATTServiceCollection,
) -> tuple[codec.BleVariant, BleakGATTCharacteristic, BleakGATTCharacteristic] | None:
    """The adapter's layout and its write and notify characteristics, if it has one we know."""
    for variant in codec.BLE_VARIANTS:
        service = services.get_service(variant.service)
        if service is None:
            continue
        write = next(filter(None, map(service.get_characteristic, variant.write)), None)
        notify = next(filter(None, map(service.get_characteristic, variant.notify)), None)
        if write is not None and notify is not None:
            return variant, write, notify
    return None


class BleLine:
    """Frames out by GATT writes (in order, from one writer task), frames in by notification."""

    def __init__(
        self,
        address: str,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[str], None],
        *,
        connect_timeout_s: float,
        client_backend: type[BaseBleakClient] | None,
        scanner_backend: type[BaseBleakScanner] | None,
    ) -> None:
        self.address = address
        self.variant: codec.BleVariant | None = None
        self._on_data = on_data
        self._on_lost = on_lost
        self._timeout_s = connect_timeout_s
        self._client_backend = client_backend
        self._scanner_backend = scanner_backend
        self._client: BleakClient | None = None
        self._write_char: BleakGATTCharacteristic | None = None
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False

    async def open(self) -> None:
        self._closing = False
        client = await ble_connect.connect(
            self.address,
            timeout_s=self._timeout_s,
            on_disconnected=self._on_disconnected,
            pairing_advice=PAIRING_ADVICE,
            client_backend=self._client_backend,
            scanner_backend=self._scanner_backend,
        )
        pipe = find_pipe(client.services)
        if pipe is None:
            await client.disconnect()
            known = ", ".join(variant.name.upper() for variant in codec.BLE_VARIANTS)
            raise DeskNotFound(
                f"the device at {self.address} has none of the Jiecang adapter services ({known})"
            )
        self.variant, self._write_char, notify = pipe
        self._client = client
        try:
            await client.start_notify(notify, lambda _, data: self._on_data(bytes(data)))
        except BleakError as error:
            raise ble_connect.link_error(self.address, error, PAIRING_ADVICE) from None
        self._writer = asyncio.get_running_loop().create_task(self._write_all())

    def write(self, data: bytes) -> None:
        if self._client is None or not self._client.is_connected:
            raise ConnectionLost(f"not connected to the desk at {self.address}")
        self._outbox.put_nowait(data)

    async def _write_all(self) -> None:
        while True:
            data = await self._outbox.get()
            try:
                if self._client is not None and self._write_char is not None:
                    with_response = "write-without-response" not in self._write_char.properties
                    await self._client.write_gatt_char(
                        self._write_char, data, response=with_response
                    )
            except BleakError as error:
                log.warning("a write to %s failed: %s", self.address, error)
            finally:
                self._outbox.task_done()

    def _on_disconnected(self, _: BleakClient) -> None:
        if not self._closing and self._client is not None:
            self._client = None
            self._on_lost("the adapter disconnected")

    async def close(self) -> None:
        if self._writer is not None:
            # The last frames are usually a STOP: they go out before the link closes.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_TIMEOUT_S):
                    await self._outbox.join()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        self._closing = True
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(BleakError, OSError, asyncio.TimeoutError):
                await client.disconnect()


class JiecangBleDesk(JiecangDesk):
    report_interval_s = 0.1
    medium = "Bluetooth link to"

    def __init__(
        self,
        address: str,
        *,
        move_to: bool | None = None,
        connect_timeout_s: float = 10.0,
        clock: Clock | None = None,
        strategy: MotionStrategy | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        state_file: Path | None = None,
    ) -> None:
        self._backends = (client_backend, scanner_backend)
        self.connect_timeout_s = connect_timeout_s
        super().__init__(
            address, move_to=move_to, clock=clock, strategy=strategy, state_file=state_file
        )
        self.info = dataclasses.replace(self.info, name=f"Jiecang desk {address}")

    def _make_link(self) -> ByteLink:
        client_backend, scanner_backend = self._backends
        return BleLine(
            self.address,
            self._on_data,
            self._on_lost,
            connect_timeout_s=self.connect_timeout_s,
            client_backend=client_backend,
            scanner_backend=scanner_backend,
        )

    def _silent(self) -> DeskNotFound:
        return DeskNotFound(
            f"the Bluetooth adapter at {self.address} passes nothing from the desk: check that "
            "it is plugged into the control box and that the desk has power"
        )
