"""An emulated Linak DPG desk: the real GATT layout and bytes on a virtual BLE link.

It is built like the real thing in three parts:

* **State**: the core motor model (:mod:`deskctl.physics`): ramps, coasting,
  limits, obstacle, duty cycle.
* **Service**: a bumble GATT server with Linak's services and characteristics,
  speaking :mod:`deskctl.drivers.linak_codec`: height/speed notifications while
  moving, two-byte commands that run the motor for about a second, a
  reference-input target that must be rewritten or the desk stops, the DPG
  settings protocol (capabilities, base offset, user id, memory slots), and the
  error characteristic that reports a collision.  It is as strict as the
  sources say a desk is: a write a characteristic does not declare, an unknown
  or read-only setting and an empty user id are refused, and after a collision
  it ignores everything but a STOP.
* **Use cases**: what tests and people do to a desk: put something in the way,
  pull the plug, plug it back in.

:meth:`LinakOptions.seeded` draws one desk from the range the sources describe
(travel, speeds, reaction, the move-to watchdog, the user-id gate, how it
answers and stops); see firmware-notes/linak-dpg.md.  Any bleak client reaches
it through :mod:`deskctl.drivers.ble_bumble`, including published Linak clients
that know nothing of deskctl.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field, replace
from typing import Any

from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from deskctl.clock import Clock, LoopClock
from deskctl.drivers import linak_codec as codec
from deskctl.drivers.ble_bumble import LinkDelays, VirtualRadio
from deskctl.drivers.motor_loop import MotorLoop
from deskctl.errors import ProtocolError
from deskctl.model import Direction, Fault
from deskctl.physics import MotorModel, MotorParams

log = logging.getLogger(__name__)

_PROPS = Characteristic.Properties
_READABLE = Characteristic.READABLE
_WRITEABLE = Characteristic.WRITEABLE


@dataclass
class LinakOptions:
    """What makes one emulated Linak desk different from another."""

    params: MotorParams = field(default_factory=MotorParams)
    """Physics; ``min_mm`` is also the desk's base height, ``max_mm`` its top."""
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
    retarget_gap_s: float = 0.0
    """A height different from the last one is ignored unless the desk has heard no
    height for this long, and a different height halts a travelling desk (0: it redirects)."""
    stop_ends_move_to: bool = True
    """Whether STOP brakes a desk heading for a target (one DPG1M ignored it)."""
    error_clear_s: float | None = None
    """An empty error frame follows an error after this long (None: never)."""
    missing_slot_answer: bytes = codec.DPG_REFUSAL
    """The answer for a memory slot the desk does not have."""
    obstacle_mm: float | None = None
    link: LinkDelays | None = None
    """The Bluetooth link to the desk (None: a clean one)."""

    @classmethod
    def seeded(cls, seed: int, **overrides: Any) -> LinakOptions:
        """One desk drawn from the range the published sources describe; ``seed`` picks it."""
        draw = random.Random(seed)  # noqa: S311 (variety, not secrets)
        top_speed = draw.uniform(32.0, 62.0)
        coast = draw.uniform(0.3, 0.8)
        # A stop while the controller brakes onto its target runs up to this far past it.
        overrun = draw.uniform(0.0, 0.5)
        soft = top_speed / coast
        landing = 1 / (1 / soft - 2 * overrun / top_speed**2)
        params = MotorParams(
            min_mm=round(draw.uniform(620.0, 640.0), 1),
            max_mm=round(draw.uniform(1115.0, 1280.0), 1),
            top_speed_mm_s=top_speed,
            ramp_s=draw.uniform(0.6, 2.2),
            coast_s=coast,
            landing_s=top_speed / landing,
            stop_latency_s=draw.uniform(0.0, 0.15),
            report_interval_s=draw.uniform(0.05, 0.2),
            backoff_mm=draw.uniform(10.0, 40.0),
        )
        options = cls(
            params=params,
            name=f"Desk {seed % 10000:04d}",
            height_mm=round(draw.uniform(params.min_mm + 60.0, params.min_mm + 160.0), 1),
            memory_slots=draw.choice([2, 3, 3, 4]),
            needs_user_id=draw.random() < 0.5,
            reference_timeout_s=draw.uniform(0.45, 0.9),
            retarget_gap_s=draw.uniform(0.8, 0.9) if draw.random() < 0.3 else 0.0,
            stop_ends_move_to=draw.random() < 0.5,
            error_clear_s=0.8 if draw.random() < 0.7 else None,
            missing_slot_answer=draw.choice([codec.DPG_REFUSAL, bytes.fromhex("010500ffffffff")]),
        )
        return replace(options, **overrides)


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
        """Every write from a central that reached the controller, in order: (UUID, bytes)."""
        self.address = ""
        self._radio: VirtualRadio | None = None
        self._device: Device | None = None
        self.loop = MotorLoop(self.model, self.clock, self._on_tick)
        self._reference_at: float | None = None
        self._height_at: float | None = None  # when the last height arrived, and which
        self._height_raw: bytes = b""
        self._collision_told = False
        self._chars: dict[str, Characteristic[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

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
            delays=self.options.link,
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
        """The desk loses power: the motor stops and the link drops (a collision lock stays)."""
        self.model.release(self.clock.now())
        await self.out_of_range()
        await self.loop.stop()
        self.model.advance(self.model.now + 10.0)  # it coasts to rest unobserved
        for task in self._tasks:
            task.cancel()

    async def settled(self) -> None:
        """Wait until the motor has come to rest."""
        await self.loop.settled()

    def place_obstacle(self, height_mm: float | None) -> None:
        self.model.obstacle_mm = height_mm

    @property
    def height_mm(self) -> float:
        self.model.advance(self.clock.now())
        return self.model.height_mm

    @property
    def collision_locked(self) -> bool:
        """Stopped on a collision and ignoring moves until a STOP."""
        return self.model.fault is Fault.COLLISION

    # -- service ------------------------------------------------------------------------------

    def _add_services(self, device: Device) -> None:
        def char(uuid: str, properties: Characteristic.Properties, value: Any) -> None:
            made = Characteristic(uuid, properties, _READABLE | _WRITEABLE, value)
            self._chars[uuid] = made

        write_either = _PROPS.WRITE | _PROPS.WRITE_WITHOUT_RESPONSE
        char(codec.CHAR_COMMAND, write_either, CharacteristicValue(write=self._on_command))
        char(
            codec.CHAR_ERROR,
            _PROPS.READ | _PROPS.NOTIFY,
            CharacteristicValue(read=lambda _: self._error_now()),
        )
        char(
            codec.CHAR_DPG,
            _PROPS.READ | _PROPS.WRITE | _PROPS.NOTIFY,
            CharacteristicValue(read=lambda _: b"", write=self._on_dpg),
        )
        char(
            codec.CHAR_HEIGHT_SPEED,
            _PROPS.READ | _PROPS.NOTIFY,
            CharacteristicValue(read=lambda _: self._height_speed()),
        )
        char(codec.CHAR_MASK, _PROPS.READ, b"\x01")
        char(codec.CHAR_DETECT_MASK, _PROPS.READ, b"\x01")
        # The move-to target takes commands only: a write request is refused by the stack.
        char(
            codec.CHAR_REFERENCE_INPUT,
            _PROPS.WRITE_WITHOUT_RESPONSE,
            CharacteristicValue(write=self._on_reference),
        )
        chars = self._chars
        device.add_services(
            [
                Service(
                    codec.SERVICE_CONTROL, [chars[codec.CHAR_COMMAND], chars[codec.CHAR_ERROR]]
                ),
                Service(codec.SERVICE_DPG, [chars[codec.CHAR_DPG]]),
                Service(
                    codec.SERVICE_REFERENCE_OUTPUT,
                    [
                        chars[codec.CHAR_HEIGHT_SPEED],
                        chars[codec.CHAR_MASK],
                        chars[codec.CHAR_DETECT_MASK],
                    ],
                ),
                Service(codec.SERVICE_REFERENCE_INPUT, [chars[codec.CHAR_REFERENCE_INPUT]]),
            ]
        )

    def _height_speed(self) -> bytes:
        self.model.advance(self.clock.now())
        return codec.encode_height_speed(self.model.height_mm - self.base_mm, self.model.speed_mm_s)

    def _error_now(self) -> bytes:
        self.model.advance(self.clock.now())
        return codec.encode_error(codec.ERROR_COLLISION if self.collision_locked else None)

    def _on_command(self, _: Connection, value: bytes) -> None:
        self.received.append((codec.CHAR_COMMAND, bytes(value)))
        try:
            command = codec.decode_command(bytes(value))
        except ProtocolError as error:
            log.warning("ignored: %s", error)
            return
        now = self.clock.now()
        if command is codec.Command.STOP:
            if self._reference_at is not None and not self.options.stop_ends_move_to:
                self.model.advance(now)
                if self.model.fault is Fault.COLLISION:
                    self.model.fault = None  # it still re-arms, but the move-to runs on
            else:
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
        if self.collision_locked or not self.unlocked:
            return  # a locked controller ignores every height until a STOP
        if target is None:
            self._reference_at = None
            self.model.release(now)
        elif self._takes_height(bytes(value), now) and self.model.move_to(
            self.base_mm + target, now
        ):
            self._reference_at = now
        self._kick()

    def _takes_height(self, raw: bytes, now: float) -> bool:
        """The same height sustains a move; a different one needs a quiet controller."""
        gap = self.options.retarget_gap_s
        quiet = self._height_at is None or now - self._height_at >= gap
        same = raw == self._height_raw
        self._height_at = now  # every height restarts the controller's clock
        if same or not gap:
            self._height_raw = raw
            return True
        if self.model.busy:
            # A different height reaches a travelling desk: it halts rather than turns.
            self._reference_at = None
            self.model.release(now)
            self._tell_error(codec.ERROR_INTERRUPTED)
            return False
        if not quiet:
            return False
        self._height_raw = raw
        return True

    def _on_dpg(self, _: Connection, value: bytes) -> None:
        self.received.append((codec.CHAR_DPG, bytes(value)))
        try:
            request = codec.decode_dpg_request(bytes(value))
        except ProtocolError as error:
            log.warning("ignored: %s", error)
            return
        self._spawn(self._notify(codec.CHAR_DPG, self._answer(request)))

    def _answer(self, request: codec.DpgRequest) -> bytes:
        command = request.command
        if command not in codec.KNOWN_DPG_COMMANDS:
            return codec.DPG_REFUSAL
        if request.write:
            return self._write_setting(request)
        if command == codec.DpgCommand.GET_CAPABILITIES:
            payload = codec.DpgCapabilities(self.options.memory_slots).encode()
        elif command == codec.DpgCommand.DESK_OFFSET:
            payload = codec.encode_position(self.base_mm)
        elif command == codec.DpgCommand.USER_ID:
            payload = self.user_id
        elif codec.DpgCommand.MEMORY_1 <= command <= codec.DpgCommand.MEMORY_4:
            slot = command - codec.DpgCommand.MEMORY_1 + 1
            if slot not in self.memories:
                return self.options.missing_slot_answer
            height = self.memories[slot]
            payload = codec.encode_position(None if height is None else height - self.base_mm)
        else:
            payload = b""  # known, but nothing the emulator keeps
        return codec.encode_dpg_response(payload)

    def _write_setting(self, request: codec.DpgRequest) -> bytes:
        command = request.command
        if command in codec.READ_ONLY_DPG_COMMANDS or not request.data:
            return codec.DPG_REFUSAL
        if command == codec.DpgCommand.USER_ID:
            if not codec.user_id_valid(request.data):
                return codec.DPG_REFUSAL
            self.user_id = request.data.ljust(1 + codec.USER_ID_LENGTH, b"\x00")
            self.unlocked = self.unlocked or codec.user_id_accepted(request.data)
        # Other settings are acknowledged and forgotten.
        return codec.encode_dpg_response(b"")

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
        if self.collision_locked and not self._collision_told:
            self._reference_at = None
            self._tell_error(codec.ERROR_COLLISION)
        self._collision_told = self.collision_locked
        await self._notify(codec.CHAR_HEIGHT_SPEED, self._height_speed())

    def _tell_error(self, code: int) -> None:
        self._spawn(self._notify(codec.CHAR_ERROR, codec.encode_error(code)))
        if self.options.error_clear_s is not None:
            self._spawn(self._clear_error_later(self.options.error_clear_s))

    async def _clear_error_later(self, delay_s: float) -> None:
        await self.clock.sleep(delay_s)
        await self._notify(codec.CHAR_ERROR, codec.encode_error(None))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)  # keep it alive until it is done
        task.add_done_callback(self._tasks.discard)

    async def _notify(self, uuid: str, value: bytes) -> None:
        if self._device is not None:
            await self._device.notify_subscribers(self._chars[uuid], value)
