"""An emulated Jiecang BLE adapter, plugged into an emulated box, on the virtual radio.

The adapter is a transparent pipe, as the real ones are: writes to its write
characteristic go to the box's serial input, and what the box sends comes
back as notifications of at most 20 bytes (the default ATT payload; a seeded
adapter uses a smaller size of its own), with everything the box said in one
go packed together.  Drivers therefore see
several frames in one notification and frames split across two.  It
advertises as ``BLE Device XXXXXX`` with one of the known layouts.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from deskctl.drivers import jiecang_codec as codec
from deskctl.drivers.ble_bumble import VirtualRadio
from deskctl.drivers.jiecang_emulator import JiecangEmulator
from deskctl.drivers.jiecang_variants import seeded_options

NOTIFICATION_BYTES = 20
MIN_NOTIFY_BYTES = 5
_WRITE = Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE
_NOTIFY = Characteristic.Properties.NOTIFY


class JiecangBleAdapter:
    def __init__(
        self, box: JiecangEmulator, variant: str = "fe60", notify_bytes: int = NOTIFICATION_BYTES
    ) -> None:
        self.box = box
        self.variant = codec.BLE_VARIANTS_BY_NAME[variant]
        self.notify_bytes = notify_bytes
        """At most this much of what the box says goes into one notification."""
        self.address = ""
        self._radio: VirtualRadio | None = None
        self._device: Device | None = None
        self._notify_char: Characteristic[Any] | None = None
        self._pending = bytearray()
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    def seeded(cls, seed: int, *, noise: bool | None = None) -> JiecangBleAdapter:
        """The box of ``seed`` (see :func:`seeded_options`) behind one of the known layouts,
        passing its bytes on in notifications of a seeded size (a bridge forwards what its
        serial side has received so far, so frames split anywhere)."""
        draw = random.Random(f"ble-{seed}")  # noqa: S311 (a repeatable variety, not secrets)
        layout = draw.choice([variant.name for variant in codec.BLE_VARIANTS])
        box = JiecangEmulator(seeded_options(seed, noise=noise))
        return cls(box, layout, notify_bytes=draw.randint(MIN_NOTIFY_BYTES, NOTIFICATION_BYTES))

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
            chunk = bytes(self._pending[: self.notify_bytes])
            del self._pending[: self.notify_bytes]
            await self._device.notify_subscribers(self._notify_char, chunk)
        self._pending.clear()
