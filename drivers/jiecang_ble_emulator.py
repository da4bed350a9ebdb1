"""An emulated Jiecang BLE adapter, plugged into an emulated box, on the virtual radio.

The adapter is a transparent pipe, as the real ones are: writes to its write
characteristic go to the box's serial input, and what the box sends comes
back as notifications of at most 20 bytes (the default ATT payload), with
everything the box said in one go packed together.  Drivers therefore see
several frames in one notification and frames split across two.  It
advertises as ``BLE Device XXXXXX`` with one of the known layouts.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from deskctl.drivers import jiecang_codec as codec
from deskctl.drivers.ble_bumble import VirtualRadio
from deskctl.drivers.jiecang_emulator import JiecangEmulator

NOTIFICATION_BYTES = 20
_WRITE = Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE
_NOTIFY = Characteristic.Properties.NOTIFY


class JiecangBleAdapter:
    def __init__(self, box: JiecangEmulator, variant: str = "fe60") -> None:
        self.box = box
        self.variant = codec.BLE_VARIANTS_BY_NAME[variant]
        self.address = ""
        self._radio: VirtualRadio | None = None
        self._device: Device | None = None
        self._notify_char: Characteristic[Any] | None = None
        self._pending = bytearray()
        self._flusher: asyncio.Task[None] | None = None

    async def start(self, address: str, radio: VirtualRadio | None = None) -> None:
        """Plug the adapter into the box and advertise it at ``address``."""
        self.address = address
        self._radio = radio or VirtualRadio.shared()
        self._device = await self._radio.add_peripheral(
            address,
            "BLE Device " + address.replace(":", "")[-6:],
            build=self._add_service,
            advertised_service_uuids=[self.variant.service],
        )
        self.box.plug(self._queue)

    async def out_of_range(self) -> None:
        """The link drops; the box keeps power and carries on with what it was doing."""
        self.box.plug(None)
        if self._radio is not None and self._device is not None:
            self._device = None
            await self._radio.remove_peripheral(self.address)

    async def stop(self) -> None:
        await self.out_of_range()
        await self.box.stop()

    def _add_service(self, device: Device) -> None:
        # Where sources disagree on a layout, the adapter uses the last candidate, so
        # drivers are tested against the form they would find least often.
        write: Characteristic[Any] = Characteristic(
            self.variant.write[-1],
            _WRITE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_write),
        )
        self._notify_char = Characteristic(
            self.variant.notify[-1], _NOTIFY, Characteristic.READABLE, b""
        )
        device.add_services([Service(self.variant.service, [write, self._notify_char])])

    def _on_write(self, _: Connection, value: bytes) -> None:
        self.box.receive(bytes(value))

    def _queue(self, data: bytes) -> None:
        self._pending += data
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the box finish what it is saying
        while self._pending and self._device is not None and self._notify_char is not None:
            chunk = bytes(self._pending[:NOTIFICATION_BYTES])
            del self._pending[:NOTIFICATION_BYTES]
            await self._device.notify_subscribers(self._notify_char, chunk)
        self._pending.clear()
