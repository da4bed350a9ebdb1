"""An emulated Linak DPG desk: the real GATT layout and bytes on a virtual BLE link.

It is built like the real thing in three parts:

* **State**: the core motor model (:mod:`deskctl.physics`): ramps, coasting,
  limits, obstacle, duty cycle.
* **Service**: a bumble GATT server with Linak's services and characteristics,
  speaking :mod:`deskctl.drivers.linak_codec`: height/speed notifications while
  moving, two-byte commands that run the motor for about a second, a
  reference-input target that must be rewritten or the desk stops, the DPG
  settings protocol (capabilities, base offset, user id, memory slots).
* **Use cases**: what tests and people do to a desk: put something in the way,
  pull the plug, plug it back in.

Any bleak client reaches it through :mod:`deskctl.drivers.ble_bumble`, including
published Linak clients that know nothing of deskctl.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from deskctl.clock import Clock, LoopClock
from deskctl.drivers import linak_codec as codec
from deskctl.drivers.ble_bumble import VirtualRadio
from deskctl.drivers.motor_loop import MotorLoop
from deskctl.errors import ProtocolError
from deskctl.model import Direction
from deskctl.physics import MotorModel, MotorParams

log = logging.getLogger(__name__)

_NOTIFY = Characteristic.Properties.READ | Characteristic.Properties.NOTIFY
_WRITE = Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE
_READABLE = Characteristic.READABLE
_WRITEABLE = Characteristic.WRITEABLE


@dataclass
class LinakOptions:
    """What makes one emulated Linak desk different from another."""

    params: MotorParams = field(default_factory=MotorParams)
    """Physics; ``min_mm`` is also the desk's base height."""
    name: str = "Desk 8586"
    height_mm: float = 720.0
    memory_slots: int = 3
    memories_mm: dict[int, float] = field(default_factory=dict)
    needs_user_id: bool = False
    """DPG1C/DPG1M behaviour: ignore moves until a user id starting with 01 is written."""
    command_run_s: float = 1.0
    """How long one UP or DOWN command runs the motor."""
    reference_timeout_s: float = 0.5
    """The desk stops a move-to when its target is not rewritten within this time."""
    obstacle_mm: float | None = None
    link_jitter_s: float = 0.0
    """Each write reaches the controller up to this much late (in order), as over a busy radio."""
    seed: int = 0


class LinakEmulator:
    def __init__(self, options: LinakOptions | None = None, clock: Clock | None = None) -> None:
        self.options = options or LinakOptions()
        self.clock = clock or LoopClock()
        params = self.options.params
        self.base_mm = params.min_mm
        self.model = MotorModel(
            params, self.options.height_mm, obstacle_mm=self.options.obstacle_mm
        )
        self.memories: dict[int, float | None] = {
            slot: self.options.memories_mm.get(slot)
            for slot in range(1, self.options.memory_slots + 1)
        }
        self.user_id = bytes(1 + codec.USER_ID_LENGTH)
        self.unlocked = not self.options.needs_user_id
        self.received: list[tuple[str, bytes]] = []
        """Every write from a central, in order: (characteristic UUID, bytes)."""
        self.address = ""
        self._radio: VirtualRadio | None = None
        self._device: Device | None = None
        self.loop = MotorLoop(self.model, self.clock, self._on_tick)
        self._reference_at: float | None = None
        self._chars: dict[str, Characteristic[Any]] = {}
        self._answers: set[asyncio.Task[None]] = set()
        self._random = random.Random(self.options.seed)  # noqa: S311 (radio noise, not secrets)
        self._last_delivery = 0.0

    # -- use cases ----------------------------------------------------------------------------

    async def start(self, address: str, radio: VirtualRadio | None = None) -> None:
        """Power the desk on and advertise it at ``address``."""
        self.address = address
        self._radio = radio or VirtualRadio.shared()
        self.model.now = self.clock.now()
        self._device = await self._radio.add_peripheral(
            address,
            self.options.name,
            build=self._add_services,
            advertised_service_uuids=[codec.SERVICE_CONTROL],
        )

    async def out_of_range(self) -> None:
        """The link drops but the desk keeps power: whatever it was doing, its own
        watchdog (the unrefreshed target, the one-second command) stops it."""
        if self._radio is not None and self._device is not None:
            self._device = None
            await self._radio.remove_peripheral(self.address)

    async def back_in_range(self) -> None:
        await self.start(self.address, self._radio)

    async def power_cut(self) -> None:
        """The desk loses power: the motor stops and the link drops."""
        self.model.stop(self.clock.now())
        await self.out_of_range()
        await self.loop.stop()
        self.model.advance(self.model.now + 10.0)  # it coasts to rest unobserved

    async def settled(self) -> None:
        """Wait until the motor has come to rest."""
        await self.loop.settled()

    def place_obstacle(self, height_mm: float | None) -> None:
        self.model.obstacle_mm = height_mm

    @property
    def height_mm(self) -> float:
        self.model.advance(self.clock.now())
        return self.model.height_mm

    # -- service ------------------------------------------------------------------------------

    def _add_services(self, device: Device) -> None:
        def char(
            uuid: str, properties: Characteristic.Properties, value: Any, permissions: Any = None
        ) -> Characteristic[Any]:
            made = Characteristic(uuid, properties, permissions or (_READABLE | _WRITEABLE), value)
            self._chars[uuid] = made
            return made

        device.add_services(
            [
                Service(
                    codec.SERVICE_CONTROL,
                    [
                        char(
                            codec.CHAR_COMMAND,
                            _WRITE,
                            CharacteristicValue(write=self._delayed(self._on_command)),
                        ),
                        char(codec.CHAR_ERROR, _NOTIFY, bytes(1)),
                    ],
                ),
                Service(
                    codec.SERVICE_DPG,
                    [
                        char(
                            codec.CHAR_DPG,
                            _NOTIFY | _WRITE,
                            CharacteristicValue(
                                read=lambda _: b"", write=self._delayed(self._on_dpg)
                            ),
                        )
                    ],
                ),
                Service(
                    codec.SERVICE_REFERENCE_OUTPUT,
                    [
                        char(
                            codec.CHAR_HEIGHT_SPEED,
                            _NOTIFY,
                            CharacteristicValue(read=lambda _: self._height_speed()),
                        ),
                        char(codec.CHAR_MASK, Characteristic.Properties.READ, b"\x01"),
                        char(codec.CHAR_DETECT_MASK, Characteristic.Properties.READ, b"\x01"),
                    ],
                ),
                Service(
                    codec.SERVICE_REFERENCE_INPUT,
                    [
                        char(
                            codec.CHAR_REFERENCE_INPUT,
                            _WRITE,
                            CharacteristicValue(write=self._delayed(self._on_reference)),
                        )
                    ],
                ),
            ]
        )

    def _delayed(
        self, handler: Callable[[Connection, bytes], None]
    ) -> Callable[[Connection, bytes], None]:
        """Deliver writes to ``handler`` after the link's jitter, never out of order."""
        if not self.options.link_jitter_s:
            return handler

        def deliver(connection: Connection, value: bytes) -> None:
            loop = asyncio.get_running_loop()
            now = loop.time()
            at = max(now + self._random.uniform(0, self.options.link_jitter_s), self._last_delivery)
            self._last_delivery = at
            loop.call_at(at, handler, connection, bytes(value))

        return deliver

    def _height_speed(self) -> bytes:
        self.model.advance(self.clock.now())
        return codec.encode_height_speed(self.model.height_mm - self.base_mm, self.model.speed_mm_s)

    def _on_command(self, _: Connection, value: bytes) -> None:
        self.received.append((codec.CHAR_COMMAND, bytes(value)))
        try:
            command = codec.decode_command(bytes(value))
        except ProtocolError as error:
            log.warning("ignored: %s", error)
            return
        now = self.clock.now()
        if command is codec.Command.STOP:
            self._reference_at = None
            self.model.stop(now)
        elif command in (codec.Command.UP, codec.Command.DOWN) and self.unlocked:
            direction = Direction.UP if command is codec.Command.UP else Direction.DOWN
            self._reference_at = None
            self.model.drive(direction, now, hold_s=self.options.command_run_s)
        self._kick()

    def _on_reference(self, _: Connection, value: bytes) -> None:
        self.received.append((codec.CHAR_REFERENCE_INPUT, bytes(value)))
        try:
            target = codec.decode_reference(bytes(value))
        except ProtocolError as error:
            log.warning("ignored: %s", error)
            return
        now = self.clock.now()
        if target is None:
            self._reference_at = None
            self.model.release(now)
        elif self.unlocked and self.model.move_to(self.base_mm + target, now):
            self._reference_at = now
        self._kick()

    def _on_dpg(self, _: Connection, value: bytes) -> None:
        self.received.append((codec.CHAR_DPG, bytes(value)))
        try:
            request = codec.decode_dpg_request(bytes(value))
        except ProtocolError as error:
            log.warning("ignored: %s", error)
            return
        task = asyncio.get_running_loop().create_task(
            self._notify(codec.CHAR_DPG, self._answer(request))
        )
        self._answers.add(task)  # keep it alive until the answer is out
        task.add_done_callback(self._answers.discard)

    def _answer(self, request: codec.DpgRequest) -> bytes:
        command = request.command
        if command == codec.DpgCommand.USER_ID and request.write:
            self.user_id = request.data[: 1 + codec.USER_ID_LENGTH]
            self.unlocked = self.unlocked or codec.user_id_accepted(request.data)
            payload = b""
        elif request.write:
            payload = b""  # other settings are accepted and forgotten
        elif command == codec.DpgCommand.GET_CAPABILITIES:
            payload = codec.DpgCapabilities(self.options.memory_slots).encode()
        elif command == codec.DpgCommand.DESK_OFFSET:
            payload = codec.encode_position(self.base_mm)
        elif command == codec.DpgCommand.USER_ID:
            payload = self.user_id
        elif codec.DpgCommand.MEMORY_1 <= command <= codec.DpgCommand.MEMORY_4:
            slot = command - codec.DpgCommand.MEMORY_1 + 1
            if slot not in self.memories:
                return bytes([0x0B, 0x00])  # what a desk with fewer slots answers
            height = self.memories[slot]
            payload = codec.encode_position(None if height is None else height - self.base_mm)
        else:
            payload = b""
        return codec.encode_dpg_response(payload)

    # -- the controller's loop ----------------------------------------------------------------

    def _kick(self) -> None:
        self.loop.kick()

    async def _on_tick(self) -> None:
        now = self.clock.now()
        if (
            self._reference_at is not None
            and now - self._reference_at > self.options.reference_timeout_s
        ):
            # The target was not refreshed in time: the controller gives up and stops.
            self._reference_at = None
            self.model.release(now)
        await self._notify(codec.CHAR_HEIGHT_SPEED, self._height_speed())

    async def _notify(self, uuid: str, value: bytes) -> None:
        if self._device is not None:
            await self._device.notify_subscribers(self._chars[uuid], value)
