"""A bleak backend over bumble's in-process virtual Bluetooth LE link.

Emulated desks are bumble GATT peripherals on a :class:`VirtualRadio`; any
unmodified ``bleak.BleakClient`` or ``BleakScanner`` reaches them through
:class:`BumbleClient` and :class:`BumbleScanner`, over real HCI, ATT and GATT.
:func:`use_virtual_radio` slips these backends under code that builds its own
bleak clients, such as published desk controllers.

Everything shares the running asyncio loop; no Bluetooth hardware is needed.
A peripheral may be reached over a poor link (:class:`LinkDelays`): every
operation a client makes and every notification it gets is then held up,
sometimes by a long spike, as over a busy radio or a Bluetooth proxy.  And
like a real stack, a peripheral refuses a write its characteristic does not
declare (a write request where only commands are allowed is answered with
"write not permitted"; a command where only requests are allowed is dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import bleak
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble import att, core, hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy, ServiceProxy
from bumble.gatt_server import Server
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

# Every advertisement arrives with this signal strength: a desk a metre away.
RSSI = -50
_central_numbers = itertools.count(1)


def _full_uuid(value: core.UUID) -> str:
    return str(uuidlib.UUID(bytes=bytes(reversed(value.to_bytes(force_128=True)))))


def _address(address: str) -> hci.Address:
    # Static random addresses, as most BLE desks use; bumble's link matches on them.
    return hci.Address(address.upper(), hci.Address.RANDOM_DEVICE_ADDRESS)


def _device_on(link: LocalLink, address: str, name: str) -> tuple[Controller, Device]:
    controller = Controller(name, link=link)
    host = Host(controller, AsyncPipeSink(controller))
    device = Device(name=name, address=_address(address), host=host)
    return controller, device


def _advertising_data(name: str, service_uuids: Iterable[str]) -> bytes:
    fields: list[tuple[int, bytes]] = [
        (AdvertisingData.FLAGS, bytes([0x06])),  # LE general discoverable, no BR/EDR
        (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
    ]
    short = [u for u in service_uuids if len(u) <= 8]
    long = [u for u in service_uuids if len(u) > 8]
    if short:
        data = b"".join(core.UUID(u).to_bytes() for u in short)
        fields.append((AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, data))
    if long:
        data = b"".join(core.UUID(u).to_bytes(force_128=True) for u in long)
        fields.append((AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, data))
    return bytes(AdvertisingData(fields))


@dataclass
class LinkDelays:
    """How late a poor link delivers things: ``latency_s`` always, plus, with
    probability ``spike_p``, a spike drawn from ``spike_s`` (seconds of loop time).

    Each operation a client starts is held up by its own delay before it goes on
    the air (the caller waits for it), so operations started together may
    overtake one another, as through a proxy that serves requests side by side;
    with ``ordered`` they go on the air in the order they were started, each
    waiting for the ones before it, as on one Bluetooth connection.  A reply (to
    a read or a write request) is held up by another delay; notifications keep
    their order, each no earlier than its delay.
    """

    latency_s: float = 0.0
    spike_p: float = 0.0
    spike_s: tuple[float, float] = (0.3, 0.7)
    seed: int = 0
    ordered: bool = False
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        low, high = self.spike_s
        if self.latency_s < 0 or not 0 <= self.spike_p <= 1 or not 0 <= low <= high:
            raise ValueError(f"not a link: {self}")
        self._random = random.Random(self.seed)  # noqa: S311 (radio noise, not secrets)

    def draw(self) -> float:
        """The delay of the next packet."""
        delay = self.latency_s
        if self.spike_p and self._random.random() < self.spike_p:
            delay += self._random.uniform(*self.spike_s)
        return delay


def _enforce_write_properties(server: Server) -> None:
    """Answer writes as a real stack does: by what each characteristic declares."""
    write_request = server.on_att_write_request
    write_command = server.on_att_write_command

    def declares(handle: int, flag: Characteristic.Properties) -> bool:
        attribute = server.get_attribute(handle)
        return not isinstance(attribute, Characteristic) or bool(attribute.properties & flag)

    def on_write_request(bearer: att.Bearer, request: att.ATT_Write_Request) -> None:
        if declares(request.attribute_handle, Characteristic.Properties.WRITE):
            write_request(bearer, request)
            return
        refusal = att.ATT_Error_Response(
            request_opcode_in_error=request.op_code,
            attribute_handle_in_error=request.attribute_handle,
            error_code=att.ATT_WRITE_NOT_PERMITTED_ERROR,
        )
        server.send_response(bearer, refusal)

    def on_write_command(bearer: att.Bearer, request: att.ATT_Write_Command) -> None:
        if declares(request.attribute_handle, Characteristic.Properties.WRITE_WITHOUT_RESPONSE):
            write_command(bearer, request)

    # The server looks its handlers up by name on itself for every request.
    server.on_att_write_request = on_write_request
    server.on_att_write_command = on_write_command


class VirtualRadio:
    """The air between emulated desks and deskctl: one bumble link per event loop."""

    _shared: ClassVar[tuple[asyncio.AbstractEventLoop, VirtualRadio] | None] = None

    def __init__(self) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.peripherals: dict[str, tuple[Controller, Device]] = {}
        self.delays: dict[str, LinkDelays] = {}
        """The poor links, by peripheral address; the others are clean."""
        self._advertising: dict[str, asyncio.Task[None]] = {}

    @classmethod
    def shared(cls) -> VirtualRadio:
        """The radio of the running event loop (a new loop gets a new, empty radio)."""
        loop = asyncio.get_running_loop()
        if cls._shared is None or cls._shared[0] is not loop:
            cls._shared = (loop, cls())
        return cls._shared[1]

    async def add_peripheral(
        self,
        address: str,
        name: str,
        build: Callable[[Device], None] | None = None,
        advertised_service_uuids: Iterable[str] = (),
        delays: LinkDelays | None = None,
    ) -> Device:
        """Power on a peripheral at ``address``; ``build`` adds its GATT services.

        It advertises its name and services, and again after every disconnection.
        ``delays`` makes the link to it a poor one.
        """
        address = address.upper()
        if address in self.peripherals:
            raise ValueError(f"a peripheral at {address} is already on the air")
        controller, device = _device_on(self.link, address, name)
        if build is not None:
            build(device)
        _enforce_write_properties(device.gatt_server)
        if delays is not None:
            self.delays[address] = delays
        else:
            self.delays.pop(address, None)
        advertising = _advertising_data(name, advertised_service_uuids)

        async def advertise() -> None:
            await device.start_advertising(
                advertising_data=advertising,
                advertising_interval_min=20.0,
                advertising_interval_max=20.0,
            )

        def on_connection(connection: Connection) -> None:
            def on_disconnection(*_: object) -> None:
                # Advertise again, as desks do; tracked so that removal can wait for it
                # (bumble's own auto-restart cannot be waited for).
                if address in self.peripherals:
                    self._advertising[address] = asyncio.get_running_loop().create_task(advertise())

            connection.on("disconnection", on_disconnection)

        device.on("connection", on_connection)
        await device.power_on()
        await advertise()
        self.peripherals[address] = (controller, device)
        return device

    async def remove_peripheral(self, address: str) -> None:
        """Take a peripheral off the air, dropping its connections."""
        address = address.upper()
        controller, device = self.peripherals.pop(address)
        for connection in list(device.connections.values()):
            with contextlib.suppress(hci.HCI_Error, core.BaseBumbleError, TimeoutError):
                await connection.disconnect()
        restart = self._advertising.pop(address, None)
        if restart is not None:
            await restart
        if device.is_advertising:
            await device.stop_advertising()
        self.link.remove_controller(controller)

    def central(self) -> tuple[Controller, Device]:
        """A new central device on the link, for one client or scanner."""
        number = next(_central_numbers)
        address = f"F0:00:00:00:{number >> 8 & 0xFF:02X}:{number & 0xFF:02X}"
        return _device_on(self.link, address, f"central-{number}")


class BumbleClient(BaseBleakClient):
    """A bleak client backend that connects over the :class:`VirtualRadio`."""

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", 10.0)
        kwargs.setdefault("disconnected_callback", None)
        super().__init__(address_or_ble_device, **kwargs)
        self._controller: Controller | None = None
        self._device: Device | None = None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._delays: LinkDelays | None = None
        self._notified_until = 0.0  # notifications are delivered in order, none before this
        self._sent_until = 0.0  # on an ordered link, nothing goes on the air before this

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return 23 if self._connection is None else int(self._connection.att_mtu)

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        radio = VirtualRadio.shared()
        if self.address.upper() not in radio.peripherals:
            raise BleakDeviceNotFoundError(
                self.address, f"Device with address {self.address} was not found."
            )
        self._controller, self._device = radio.central()
        self._closing = False
        self._delays = radio.delays.get(self.address.upper())
        timeout = float(kwargs.get("timeout", self._timeout))
        try:
            await self._device.power_on()
            # bumble's virtual controller ignores a cancelled connect, so bound it ourselves.
            async with asyncio.timeout(timeout):
                self._connection = await self._device.connect(_address(self.address))
            self._connection.on("disconnection", self._on_disconnection)
            self._peer = Peer(self._connection)
            await self._peer.discover_all()  # type: ignore[no-untyped-call]
            self.services = self._collect(self._peer.services)
        except BaseException:
            self._forget()
            raise

    def _collect(self, services: list[ServiceProxy]) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for proxy in services:
            service = BleakGATTService(proxy, proxy.handle, _full_uuid(proxy.uuid))
            collection.add_service(service)
            for char_proxy in proxy.characteristics:
                characteristic = BleakGATTCharacteristic(
                    char_proxy,
                    char_proxy.handle,
                    _full_uuid(char_proxy.uuid),
                    _properties(char_proxy),  # type: ignore[arg-type]
                    lambda: self.mtu_size - 3,
                    service,
                )
                collection.add_characteristic(characteristic)
                for descriptor_proxy in char_proxy.descriptors:
                    descriptor = BleakGATTDescriptor(
                        descriptor_proxy,
                        descriptor_proxy.handle,
                        _full_uuid(descriptor_proxy.type),
                        characteristic,
                    )
                    collection.add_descriptor(descriptor)
        return collection

    def _on_disconnection(self, *_: object) -> None:
        unsolicited = not self._closing
        self._forget()
        if unsolicited and self._disconnected_callback is not None:
            self._disconnected_callback()

    def _forget(self) -> None:
        if self._controller is not None:
            with contextlib.suppress(KeyError):
                VirtualRadio.shared().link.remove_controller(self._controller)
        self._controller = self._device = self._connection = self._peer = None
        self._subscribers.clear()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        with contextlib.suppress(Exception):
            await connection.disconnect()
        self._forget()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the virtual radio needs no pairing")

    async def unpair(self) -> None:
        raise NotImplementedError("the virtual radio needs no pairing")

    def _connected_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def _held_up(self) -> None:
        """One packet's time on a poor link."""
        if self._delays is None:
            return
        loop = asyncio.get_running_loop()
        at = loop.time() + self._delays.draw()
        if self._delays.ordered:
            at = max(at, self._sent_until + 1e-6)  # timers due together may run in any order
            self._sent_until = at
        await asyncio.sleep(at - loop.time())

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, **kwargs: Any
    ) -> bytearray:
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        await self._held_up()
        self._connected_peer()
        value = bytearray(await proxy.read_value())
        await self._held_up()
        return value

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._connected_peer().read_value(descriptor.handle))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        await self._held_up()
        self._connected_peer()
        try:
            await proxy.write_value(bytes(data), with_response=response)
        except att.ATT_Error as error:
            raise BleakError(f"the device refused the write: {error}") from None
        if response:
            await self._held_up()

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        await self._connected_peer().write_value(descriptor.handle, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        proxy: CharacteristicProxy[bytes] = characteristic.obj

        def deliver(value: bytes) -> None:
            if self._delays is None:
                callback(bytearray(value))
                return
            loop = asyncio.get_running_loop()
            at = max(loop.time() + self._delays.draw(), self._notified_until)
            self._notified_until = at
            loop.call_at(at, late, bytearray(value))

        def late(value: bytearray) -> None:
            if self._subscribers.get(characteristic.handle) is deliver:
                callback(value)

        self._subscribers[characteristic.handle] = deliver
        await self._connected_peer().subscribe(proxy, deliver)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._connected_peer().unsubscribe(proxy, subscriber)


_PROPERTY_NAMES = {
    0x01: "broadcast",
    0x02: "read",
    0x04: "write-without-response",
    0x08: "write",
    0x10: "notify",
    0x20: "indicate",
    0x40: "authenticated-signed-writes",
    0x80: "extended-properties",
}


def _properties(proxy: CharacteristicProxy[bytes]) -> list[str]:
    return [name for bit, name in _PROPERTY_NAMES.items() if int(proxy.properties) & bit]


class BumbleScanner(BaseBleakScanner):
    """A bleak scanner backend that listens on the :class:`VirtualRadio`."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None = None,
        service_uuids: list[str] | None = None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._controller: Controller | None = None
        self._device: Device | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        radio = VirtualRadio.shared()
        self._controller, self._device = radio.central()
        self._device.on("advertisement", self._on_advertisement)
        await self._device.power_on()
        await self._device.start_scanning(filter_duplicates=False)

    async def stop(self) -> None:
        if self._device is None:
            return
        with contextlib.suppress(Exception):
            await self._device.stop_scanning()
        if self._controller is not None:
            with contextlib.suppress(KeyError):
                VirtualRadio.shared().link.remove_controller(self._controller)
        self._controller = self._device = None

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        data = advertisement.data
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME)
        local_name = (
            name.decode() if isinstance(name, bytes) else name if isinstance(name, str) else None
        )
        service_uuids = [
            _full_uuid(u)
            for kind in (
                AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            )
            for u in (data.get(kind) or [])
        ]
        if not self.is_allowed_uuid(service_uuids):
            return
        address = str(advertisement.address).split("/")[0]
        adv = AdvertisementData(
            local_name=local_name,
            manufacturer_data={},
            service_data={},
            service_uuids=service_uuids,
            tx_power=None,
            rssi=RSSI,
            platform_data=(advertisement,),
        )
        device = self.create_or_update_device(address, address, local_name, advertisement, adv)
        self.call_detection_callbacks(device, adv)


@contextlib.contextmanager
def use_virtual_radio() -> Iterator[None]:
    """Make plain ``BleakClient(address)`` and ``BleakScanner()`` use the virtual radio."""
    names = ("get_platform_client_backend_type", "get_platform_scanner_backend_type")
    saved = [getattr(bleak, name) for name in names]

    def client_backend() -> tuple[type[BaseBleakClient], str]:
        return BumbleClient, "bumble"

    def scanner_backend() -> tuple[type[BaseBleakScanner], str]:
        return BumbleScanner, "bumble"

    # BleakClient and BleakScanner look these names up in the bleak module when built.
    for name, replacement in zip(names, (client_backend, scanner_backend), strict=True):
        setattr(bleak, name, replacement)
    try:
        yield
    finally:
        for name, original in zip(names, saved, strict=True):
            setattr(bleak, name, original)
