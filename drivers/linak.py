"""Linak DPG desks over Bluetooth LE: ``linak://ADDRESS``.

IKEA IDÅSEN and the many desks with Linak DPG panels or BLE2LIN adapters.
The desk closes the loop itself: deskctl writes the target to the reference
input, rewrites it every 0.1 s (slower rewrites make desks stutter), and ends
with STOP and the reference stop value.  On connect the driver reads the
desk's capabilities, base height and memory positions, and writes a user id
if the controller has none, which DPG1C/DPG1M controllers need before they move.

The link is a small state machine (:class:`deskctl.model.Link`): connect with
a bounded timeout, and after an unsolicited disconnect reconnect with capped
backoff.  A move that a disconnect interrupts raises ConnectionLost and is
never resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from deskctl.clock import Clock
from deskctl.desk import Desk
from deskctl.drivers import ble_connect
from deskctl.drivers import linak_codec as codec
from deskctl.errors import (
    ConnectionLost,
    DeskctlError,
    ProtocolError,
)
from deskctl.model import Capabilities, DeskInfo, DeskState, Direction, Fault, Limits, Link
from deskctl.motion import MotionStrategy

log = logging.getLogger(__name__)

FAMILY = "linak"
# IKEA IDÅSEN: 620 mm at the bottom, 650 mm of travel; the desk reports its base, not its top.
DEFAULT_BASE_MM = 620.0
DEFAULT_TRAVEL_MM = 650.0
DPG_TIMEOUT_S = 2.0
MAX_BACKOFF_S = 30.0
# A desk moving against its command by more than this is backing off from a collision.
REVERSAL_MM_S = 2.0
PAIRING_ADVICE = (
    "hold its Bluetooth button for 3 s until the light flashes fast, then run 'bluetoothctl pair"
    " {address}' and 'bluetoothctl trust {address}' (keep bluetoothctl open while it pairs) and"
    " try again"
)


class LinakDesk(Desk):
    report_interval_s = 0.1
    target_repeat_s = 0.1
    press_repeat_s = 0.5

    def __init__(
        self,
        address: str,
        *,
        travel_mm: float = DEFAULT_TRAVEL_MM,
        connect_timeout_s: float = 10.0,
        clock: Clock | None = None,
        strategy: MotionStrategy | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
    ) -> None:
        super().__init__(
            info=DeskInfo(family=FAMILY, address=address, name=f"Linak desk {address}"),
            limits=Limits(DEFAULT_BASE_MM, DEFAULT_BASE_MM + travel_mm),
            capabilities=Capabilities(native_move_to=True, reports_speed=True),
            strategy=strategy,
            clock=clock,
        )
        self.address = address
        self.travel_mm = travel_mm
        self.connect_timeout_s = connect_timeout_s
        self.base_mm = DEFAULT_BASE_MM
        self.memories: dict[int, float | None] = {}
        self._client_backend = client_backend
        self._scanner_backend = scanner_backend
        self._client: BleakClient | None = None
        self._dpg_lock = asyncio.Lock()
        self._dpg_answer: asyncio.Future[bytes] | None = None
        self._heading = 0
        self._fault: Fault | None = None
        self._closing = False
        self._reconnector: asyncio.Task[None] | None = None

    # -- link ---------------------------------------------------------------------------------

    async def _open(self) -> None:
        self._closing = False
        await self._connect()

    async def _close(self) -> None:
        self._closing = True
        if self._reconnector is not None:
            self._reconnector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnector
            self._reconnector = None
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(BleakError, OSError, asyncio.TimeoutError):
                await client.disconnect()

    async def _connect(self) -> None:
        client = await ble_connect.connect(
            self.address,
            timeout_s=self.connect_timeout_s,
            on_disconnected=self._on_disconnected,
            pairing_advice=PAIRING_ADVICE.format(address=self.address),
            client_backend=self._client_backend,
            scanner_backend=self._scanner_backend,
        )
        self._client = client
        try:
            await self._handshake(client)
        except BleakError as error:
            raise ble_connect.link_error(
                self.address, error, PAIRING_ADVICE.format(address=self.address)
            ) from None

    async def _handshake(self, client: BleakClient) -> None:
        await client.start_notify(codec.CHAR_DPG, self._on_dpg)
        capabilities = codec.DpgCapabilities.decode(
            await self._dpg(codec.encode_dpg_read(codec.DpgCommand.GET_CAPABILITIES))
        )
        user = await self._dpg(codec.encode_dpg_read(codec.DpgCommand.USER_ID))
        if not codec.user_id_accepted(user):
            await self._dpg(codec.encode_dpg_write(codec.DpgCommand.USER_ID, codec.DESKCTL_USER_ID))
        offset = codec.decode_position(
            await self._dpg(codec.encode_dpg_read(codec.DpgCommand.DESK_OFFSET))
        )
        self.base_mm = DEFAULT_BASE_MM if offset is None else offset
        self.limits = Limits(self.base_mm, self.base_mm + self.travel_mm)
        self.memories = {}
        for slot in range(1, min(capabilities.memory_slots, 4) + 1):
            answer = await self._dpg(codec.encode_dpg_read(codec.memory_command(slot)))
            position = codec.decode_position(answer)
            self.memories[slot] = None if position is None else self.base_mm + position
        self.capabilities = Capabilities(
            native_move_to=True,
            memory_presets=len(self.memories),
            can_save_presets=False,  # the memory write format is not confirmed on hardware
            reports_speed=True,
        )
        await client.start_notify(codec.CHAR_HEIGHT_SPEED, self._on_height)
        await client.start_notify(codec.CHAR_ERROR, self._on_error)
        await self._command(codec.Command.WAKEUP)
        self._on_height(None, await client.read_gatt_char(codec.CHAR_HEIGHT_SPEED))

    def _on_disconnected(self, _: BleakClient) -> None:
        if self._closing or self._client is None:
            return
        self._client = None
        self._heading = 0
        log.warning("lost the link to %s", self.address)
        self._publish(
            self.state.but(
                link=Link.RECONNECTING, moving=False, speed_mm_s=0.0, timestamp=self.clock.now()
            )
        )
        self._fail_motion(
            ConnectionLost(
                f"lost the link to the desk at {self.address} during the move; the desk stops by "
                "itself, and the move was not resumed"
            )
        )
        if self._reconnector is None or self._reconnector.done():
            self._reconnector = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.5
        while not self._closing:
            try:
                await self._connect()
            except DeskctlError as error:
                log.info("reconnecting to %s: %s; next try in %.1f s", self.address, error, delay)
            else:
                log.info("reconnected to %s", self.address)
                return
            await self.clock.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)

    # -- notifications ------------------------------------------------------------------------

    def _on_height(self, _: BleakGATTCharacteristic | None, data: bytearray | bytes) -> None:
        try:
            above_base, speed = codec.decode_height_speed(bytes(data))
        except ProtocolError as error:
            log.warning("ignored a height report: %s", error)
            return
        if self._heading and speed * self._heading < -REVERSAL_MM_S:
            # Driving one way and moving the other: the controller is backing off a collision.
            self._fault = Fault.COLLISION
        self._publish(
            DeskState(
                height_mm=round(self.base_mm + above_base, 1),
                speed_mm_s=speed,
                moving=speed != 0,
                fault=self._fault,
                link=Link.CONNECTED,
                timestamp=self.clock.now(),
            )
        )

    def _on_error(self, _: BleakGATTCharacteristic, data: bytearray) -> None:
        # The meaning of these codes is not known yet; keep them for the notes.
        if any(data):
            log.warning("desk at %s reported error bytes %s", self.address, bytes(data).hex(" "))

    def _on_dpg(self, _: BleakGATTCharacteristic, data: bytearray) -> None:
        if self._dpg_answer is not None and not self._dpg_answer.done():
            self._dpg_answer.set_result(bytes(data))

    async def _dpg(self, request: bytes) -> bytes:
        """One settings request and its answer's payload; they never overlap."""
        client = self._connected()
        async with self._dpg_lock:
            self._dpg_answer = asyncio.get_running_loop().create_future()
            await client.write_gatt_char(codec.CHAR_DPG, request, response=True)
            try:
                async with asyncio.timeout(DPG_TIMEOUT_S):
                    answer = await self._dpg_answer
            except TimeoutError:
                raise ProtocolError(
                    f"the desk did not answer settings request {request.hex(' ')}"
                ) from None
        return codec.decode_dpg_response(answer)

    # -- motion primitives --------------------------------------------------------------------

    def _connected(self) -> BleakClient:
        if self._client is None or not self._client.is_connected:
            raise ConnectionLost(f"not connected to the desk at {self.address}")
        return self._client

    async def _command(self, command: codec.Command) -> None:
        await self._write(codec.CHAR_COMMAND, codec.encode_command(command), response=True)

    async def _write(self, uuid: str, data: bytes, *, response: bool) -> None:
        try:
            await self._connected().write_gatt_char(uuid, data, response=response)
        except BleakError as error:
            raise ConnectionLost(f"lost the link to the desk at {self.address}: {error}") from None

    async def send_target(self, height_mm: float) -> None:
        heading = 1 if height_mm > self.state.height_mm else -1
        if self._heading != heading:
            # Starting a move: the official app wakes the desk and clears any motion first.
            self._heading = heading
            await self._command(codec.Command.WAKEUP)
            await self._command(codec.Command.STOP)
        await self._write(
            codec.CHAR_REFERENCE_INPUT,
            codec.encode_reference(height_mm - self.base_mm),
            response=False,
        )

    async def press(self, direction: Direction) -> None:
        self._heading = int(direction)
        await self._command(codec.Command.UP if direction is Direction.UP else codec.Command.DOWN)

    async def release(self) -> None:
        await self._halt()

    async def _halt(self) -> None:
        self._heading = 0
        self._fault = None  # a STOP is what re-arms the desk after a collision
        if self._client is None or not self._client.is_connected:
            return  # nothing to tell; the desk's own watchdog stops it
        # The stop value first: the STOP command is acknowledged, so both have arrived after it.
        await self._write(codec.CHAR_REFERENCE_INPUT, codec.encode_reference_stop(), response=False)
        await self._command(codec.Command.STOP)
        self._publish(self.state.but(fault=None))

    async def _read_presets(self) -> dict[int, float | None]:
        return dict(self.memories)
