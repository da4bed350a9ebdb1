"""Linak DPG desks over Bluetooth LE: ``linak://ADDRESS``.

IKEA IDÅSEN and the many desks with Linak DPG panels or BLE2LIN adapters.
The desk closes the loop itself: deskctl writes the target to the reference
input and rewrites it every 0.1 s (slower rewrites make desks stall), each
write on its own so that one held up by the link never holds up the next.
A move ends when the desk reports rest at the target, on a collision the desk
reports, or when the desk stops short and stays there; every wait is bounded,
so a move ends whatever the link does.  On connect the driver only reads: the
capabilities, base height, memory positions, user id and error state.  The
user id that DPG1C/DPG1M controllers need before they move is written at the
first move, and only if the desk has none.

The desk's travel is remembered per desk (:mod:`deskctl.drivers.linak_range`):
the base from the desk, the top once the desk has stopped there by itself.

The link is a small state machine (:class:`deskctl.model.Link`): connect with
a bounded timeout, and after an unsolicited disconnect reconnect with capped
backoff.  A move that a disconnect interrupts raises ConnectionLost and is
never resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from deskctl.clock import Clock
from deskctl.desk import Desk
from deskctl.drivers import ble_connect
from deskctl.drivers import linak_codec as codec
from deskctl.drivers.linak_feed import TargetFeed, bounded
from deskctl.drivers.linak_range import KnownRange
from deskctl.errors import ConnectionLost, DeskctlError, MoveFailed, OutOfRange, ProtocolError
from deskctl.model import Capabilities, DeskInfo, DeskState, Direction, Fault, Link
from deskctl.motion import MotionPort, MotionStrategy
from deskctl.stream import Subscription
from deskctl.units import format_height

log = logging.getLogger(__name__)

FAMILY = "linak"
OP_TIMEOUT_S = 3.0
"""Longest wait for one write, read or settings answer."""
MAX_BACKOFF_S = 30.0
RETARGET_GAP_S = 1.0
"""Quiet time a controller may need before it takes a different height."""
START_TIMEOUT_S = 3.0
"""A desk told to move reports motion well within this, even over a poor link."""
PROGRESS_TIMEOUT_S = 3.0
"""A desk resting short of its target this long, with the target fresh, will not go on."""
SILENCE_S = 1.0
"""No report for this long: ask the desk where it is."""
SETTLE_TIMEOUT_S = 4.0
"""Longest wait for the desk to come to rest after a stop."""
GUARD_S = OP_TIMEOUT_S
"""After a stop, motion nobody asked for is stopped again for this long: a write the stack
reported cancelled may still reach the desk."""
GUARD_REPEAT_S = 0.3
MOVE_BASE_S = 30.0
SLOWEST_MOVE_MM_S = 8.0
"""With MOVE_BASE_S, bounds a whole move: far beyond any desk, however poor its link."""
ARRIVED_MM = 0.5
DEAD_BAND_MM = 1.2
"""A DPG1M does not move for a target this close to where it is."""
BACKING_OFF_MM = 5.0
"""A desk moving this far back from the closest it came to its target is backing off an
obstacle (the fallback for controllers that do not report the collision)."""
MIN_TRAVEL_MM = 400.0
"""No desk's top is closer to its base than this: a stop below it is no top."""
PAIRING_ADVICE = (
    "hold its Bluetooth button for 3 s until the light flashes fast, then run 'bluetoothctl pair"
    " {address}' and 'bluetoothctl trust {address}' (keep bluetoothctl open while it pairs) and"
    " try again"
)


@dataclass
class _Move:
    target_mm: float
    closest_mm: float


class LinakMoveTo:
    """The Linak desk's own move (see :meth:`LinakDesk.drive_to`)."""

    tolerance_mm = ARRIVED_MM

    async def run(self, port: MotionPort, target_mm: float) -> DeskState:
        if not isinstance(port, LinakDesk):
            raise TypeError("LinakMoveTo drives Linak desks only")
        return await port.drive_to(target_mm)


class LinakDesk(Desk):
    report_interval_s = 0.1
    target_repeat_s = 0.1
    press_repeat_s = 0.5

    def __init__(
        self,
        address: str,
        *,
        connect_timeout_s: float = 10.0,
        clock: Clock | None = None,
        strategy: MotionStrategy | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        remember: Path | None = None,
    ) -> None:
        self._remember_at = remember
        self.known = KnownRange.load(remember)
        super().__init__(
            info=DeskInfo(family=FAMILY, address=address, name=f"Linak desk {address}"),
            limits=self.known.limits,
            capabilities=Capabilities(native_move_to=True, reports_speed=True),
            strategy=strategy or LinakMoveTo(),
            clock=clock,
        )
        self.address = address
        self.connect_timeout_s = connect_timeout_s
        self.base_mm = self.limits.min_mm
        self.memories: dict[int, float | None] = {}
        self._client_backend = client_backend
        self._scanner_backend = scanner_backend
        self._client: BleakClient | None = None
        self._dpg_lock = asyncio.Lock()
        self._dpg_answer: asyncio.Future[bytes] | None = None
        self._fault: Fault | None = Fault.COLLISION if self.known.collision else None
        self._fault_detail = ""
        self._user_id_needed = False
        self._move: _Move | None = None
        self._feed: TargetFeed | None = None
        self._last_target: tuple[bytes, float] | None = None  # raw target, when it went out
        self._closing = False
        self._reconnector: asyncio.Task[None] | None = None
        self._chores: set[asyncio.Task[None]] = set()
        self._guard_until = 0.0
        self._guard_task: asyncio.Task[None] | None = None

    # -- link ---------------------------------------------------------------------------------

    async def _open(self) -> None:
        self._closing = False
        await self._connect()

    async def _close(self) -> None:
        self._closing = True
        await self._stop_feed()
        for chore in list(self._chores):
            chore.cancel()
        if self._reconnector is not None:
            self._reconnector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnector
            self._reconnector = None
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(BleakError, OSError, DeskctlError):
                await bounded(client.disconnect(), OP_TIMEOUT_S, "the disconnect")

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
        """Read what the desk is, and change nothing on it."""
        await bounded(client.start_notify(codec.CHAR_DPG, self._on_dpg), OP_TIMEOUT_S, "subscribe")
        capabilities = codec.DpgCapabilities.decode(
            await self._dpg(codec.encode_dpg_read(codec.DpgCommand.GET_CAPABILITIES))
        )
        user = await self._dpg(codec.encode_dpg_read(codec.DpgCommand.USER_ID))
        self._user_id_needed = not codec.user_id_accepted(user)
        offset = codec.decode_position(
            await self._dpg(codec.encode_dpg_read(codec.DpgCommand.DESK_OFFSET))
        )
        if offset is not None:
            self._learn(base_mm=offset)
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
        await bounded(
            client.start_notify(codec.CHAR_HEIGHT_SPEED, self._on_height), OP_TIMEOUT_S, "subscribe"
        )
        await bounded(
            client.start_notify(codec.CHAR_ERROR, self._on_error), OP_TIMEOUT_S, "subscribe"
        )
        with contextlib.suppress(BleakError, DeskctlError):
            # A desk still locked by a collision says so here (not every desk lets it be read).
            self._on_error(
                None, await bounded(client.read_gatt_char(codec.CHAR_ERROR), OP_TIMEOUT_S, "a read")
            )
        await self._command(codec.Command.WAKEUP)
        await self._read_height()

    def _on_disconnected(self, _: BleakClient) -> None:
        if self._closing or self._client is None:
            return
        self._client = None
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

    # -- what the desk is ---------------------------------------------------------------------

    def _learn(
        self,
        *,
        base_mm: float | None = None,
        top_mm: float | None = None,
        collision: bool | None = None,
    ) -> None:
        """Take in a fact about the desk, keep ``limits`` to it, and remember it if it is new."""
        known = self.known
        changed = False
        for name, value in (("base_mm", base_mm), ("top_mm", top_mm), ("collision", collision)):
            if value is not None and getattr(known, name) != value:
                setattr(known, name, value)
                changed = True
        top, base = known.top_mm, known.base_mm
        if top is not None and base is not None and top <= base + MIN_TRAVEL_MM:
            known.top_mm = None  # no top this close to the base: learn it again
        self.base_mm = known.limits.min_mm
        self.limits = known.limits
        if changed:
            known.save(self._remember_at)

    # -- notifications ------------------------------------------------------------------------

    def _on_height(self, _: BleakGATTCharacteristic | None, data: bytearray | bytes) -> None:
        try:
            above_base, speed = codec.decode_height_speed(bytes(data))
        except ProtocolError as error:
            log.warning("ignored a height report: %s", error)
            return
        height = round(self.base_mm + above_base, 1)
        top = self.known.top_mm
        if top is not None and height > top + ARRIVED_MM:
            self._learn(top_mm=height)  # the desk went higher than the top we knew
        move = self._move
        if move is not None and self._fault is None:
            distance = abs(move.target_mm - height)
            move.closest_mm = min(move.closest_mm, distance)
            if (
                distance > move.closest_mm + BACKING_OFF_MM
                and speed * (move.target_mm - height) < 0
            ):
                # Moving away from its target, well back from the nearest it came: backing off.
                self._latch(Fault.COLLISION, "")
        self._publish(
            DeskState(
                height_mm=height,
                speed_mm_s=speed,
                moving=speed != 0,
                fault=self._fault,
                link=Link.CONNECTED,
                timestamp=self.clock.now(),
                detail=self._fault_detail,
            )
        )

    def _on_error(self, _: BleakGATTCharacteristic | None, data: bytearray | bytes) -> None:
        code = codec.decode_error(bytes(data))
        if code is None or code == codec.ERROR_INTERRUPTED:
            return  # no error, or a halt that a new height caused
        if code == codec.ERROR_COLLISION:
            self._latch(Fault.COLLISION, "")
        else:
            log.warning("desk at %s reported error %s", self.address, bytes(data).hex(" "))
            self._latch(
                Fault.CONTROLLER,
                f"the desk reported error code {code} (0x{code:02X}); run 'deskctl stop' to "
                "clear it, and see the desk's manual",
            )
        self._publish(
            self.state.but(fault=self._fault, detail=self._fault_detail, timestamp=self.clock.now())
        )

    def _latch(self, fault: Fault, detail: str) -> None:
        """The desk stopped on a fault and ignores moves until a STOP: so do we."""
        if self._fault is None:
            self._fault, self._fault_detail = fault, detail
            self._learn(collision=True)

    def _on_dpg(self, _: BleakGATTCharacteristic, data: bytearray) -> None:
        if self._dpg_answer is not None and not self._dpg_answer.done():
            self._dpg_answer.set_result(bytes(data))

    async def _dpg(self, request: bytes) -> bytes:
        """One settings request and its answer's payload; they never overlap."""
        client = self._connected()
        async with self._dpg_lock:
            self._dpg_answer = asyncio.get_running_loop().create_future()
            try:
                await bounded(
                    client.write_gatt_char(codec.CHAR_DPG, request, response=True),
                    OP_TIMEOUT_S,
                    "a settings request",
                )
                answer = await bounded(self._dpg_answer, OP_TIMEOUT_S, "a settings request")
            except BleakError as error:
                raise ConnectionLost(
                    f"lost the link to the desk at {self.address}: {error}"
                ) from None
            except ConnectionLost:
                raise ProtocolError(
                    f"the desk did not answer settings request {request.hex(' ')}"
                ) from None
        return codec.decode_dpg_response(answer)

    # -- link primitives ----------------------------------------------------------------------

    def _connected(self) -> BleakClient:
        if self._client is None or not self._client.is_connected:
            raise ConnectionLost(f"not connected to the desk at {self.address}")
        return self._client

    async def _command(self, command: codec.Command) -> None:
        await self._write(codec.CHAR_COMMAND, codec.encode_command(command), response=True)

    async def _write(self, uuid: str, data: bytes, *, response: bool) -> None:
        client = self._connected()
        try:
            await bounded(
                client.write_gatt_char(uuid, data, response=response), OP_TIMEOUT_S, "a write"
            )
        except BleakError as error:
            raise ConnectionLost(f"lost the link to the desk at {self.address}: {error}") from None

    async def _write_target(self, raw: bytes) -> None:
        await self._write(codec.CHAR_REFERENCE_INPUT, raw, response=False)
        self._last_target = (raw, self.clock.now())

    async def _write_reference_stop(self) -> None:
        await self._write(codec.CHAR_REFERENCE_INPUT, codec.encode_reference_stop(), response=False)

    async def _read_height(self) -> None:
        client = self._connected()
        try:
            data = await bounded(
                client.read_gatt_char(codec.CHAR_HEIGHT_SPEED), OP_TIMEOUT_S, "a read"
            )
        except BleakError as error:
            raise ConnectionLost(f"lost the link to the desk at {self.address}: {error}") from None
        self._on_height(None, data)

    # -- moving -------------------------------------------------------------------------------

    async def drive_to(self, target_mm: float) -> DeskState:
        """Drive to ``target_mm`` with the desk's own loop; the state it came to rest in.

        A desk that stops short and stays there, going up, has reached its top:
        that is learned, and the move ends with :class:`OutOfRange`.
        """
        raw = codec.encode_reference(target_mm - self.base_mm)
        self._guard_until = 0.0  # motion from here on is asked for
        await self._before_moving(raw)
        start = self.state
        move = _Move(target_mm, abs(target_mm - start.height_mm))
        with self.subscribe() as states:
            self._move = move
            self._feed = TargetFeed(
                lambda: self._write_target(raw), self.target_repeat_s, self.clock
            )
            self._feed.start()
            try:
                state = await self._follow(states, move, start)
            finally:
                self._move = None
                await self._stop_feed()
        # End the move-to (not with STOP: that would re-arm a desk that hit something).
        try:
            await self._write_reference_stop()
        except DeskctlError as error:
            log.info("could not end the move-to (%s); the desk's own watchdog does", error)
        if state.fault is not None:
            await self._settle()  # a desk that hit something backs off: report where it rests
            state = self.state
        self._guard()
        return state

    async def _claim_user(self) -> None:
        if self._user_id_needed:
            # DPG1C/DPG1M controllers move only for a user whose id starts with 01.
            await self._dpg(codec.encode_dpg_write(codec.DpgCommand.USER_ID, codec.DESKCTL_USER_ID))
            self._user_id_needed = False

    async def _before_moving(self, raw: bytes) -> None:
        await self._claim_user()
        if self._last_target is not None and self._last_target[0] != raw:
            # Some controllers ignore a new height that comes too soon after the last one.
            await self.clock.sleep(self._last_target[1] + RETARGET_GAP_S - self.clock.now())
        await self._command(codec.Command.WAKEUP)

    async def _follow(self, states: Subscription, move: _Move, start: DeskState) -> DeskState:
        clock = self.clock
        began = heard_at = progress_at = clock.now()
        give_up_at = began + MOVE_BASE_S + abs(move.target_mm - start.height_mm) / SLOWEST_MOVE_MM_S
        nearest = move.closest_mm
        started = False
        while True:
            state = await states.next(timeout=SILENCE_S / 2)
            now = clock.now()
            if state is None:
                state = self.state
                if now - heard_at >= SILENCE_S:
                    heard_at = now
                    await self._read_height()  # the desk reports only while it moves
                    state = self.state
            else:
                heard_at = now
            if state.fault is not None:
                return state
            distance = abs(move.target_mm - state.height_mm)
            started = started or state.moving
            if distance < nearest - ARRIVED_MM:
                nearest, progress_at = distance, now
            if not state.moving and distance <= ARRIVED_MM:
                return state
            if not started and now - began > START_TIMEOUT_S:
                if abs(move.target_mm - start.height_mm) <= DEAD_BAND_MM:
                    raise MoveFailed(
                        f"the desk does not move for less than about {DEAD_BAND_MM:g} mm; it "
                        f"stays at {format_height(state.height_mm, self.unit)}"
                    )
                raise MoveFailed(self._why_not_started())
            if started and not state.moving and now - progress_at > PROGRESS_TIMEOUT_S:
                self._stopped_short(state, move, start)
            if now > give_up_at:
                raise MoveFailed(
                    f"the desk took too long and stopped at "
                    f"{format_height(state.height_mm, self.unit)}; check its link and try again"
                )

    def _why_not_started(self) -> str:
        feed = self._feed
        if feed is not None and feed.last_error is not None and feed.failures:
            return f"the desk did not take its target: {feed.last_error}"
        return (
            "the desk did not start moving; if it is paired, try its own buttons, and if they "
            "work, run 'deskctl stop' and try again"
        )

    def _stopped_short(self, state: DeskState, move: _Move, start: DeskState) -> None:
        """The desk rests short of its target with the target fresh and no error: why."""
        at = format_height(state.height_mm, self.unit)
        going_up = move.target_mm > start.height_mm
        if going_up and state.height_mm - self.base_mm >= MIN_TRAVEL_MM:
            # A desk stops at its top on its own: that is its range, not an obstacle.
            self._learn(top_mm=state.height_mm)
            raise OutOfRange(
                f"{format_height(move.target_mm, self.unit)} is above this desk's top: it stopped "
                f"at {at}, its highest ({format_height(self.limits.min_mm, self.unit)} to {at})"
            )
        raise MoveFailed(
            f"the desk stopped at {at} instead of {format_height(move.target_mm, self.unit)} "
            "and did not go on; check for obstructions and try again"
        )

    async def _stop_feed(self) -> None:
        feed, self._feed = self._feed, None
        if feed is None:
            return
        stragglers = await feed.stop()
        if stragglers:
            # Writes that ignored their cancellation may still reach the desk: stop it again after.
            self._chore(self._stop_again_after(stragglers))

    async def _stop_again_after(self, writes: set[asyncio.Task[None]]) -> None:
        await asyncio.wait(writes, timeout=2 * OP_TIMEOUT_S)
        with contextlib.suppress(DeskctlError):
            await self._write_reference_stop()

    def _chore(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)
        return task

    async def send_target(self, height_mm: float) -> None:
        """One target write, for a strategy that keeps it fresh itself."""
        await self._write_target(codec.encode_reference(height_mm - self.base_mm))

    async def press(self, direction: Direction) -> None:
        self._guard_until = 0.0
        await self._claim_user()
        await self._command(codec.Command.UP if direction is Direction.UP else codec.Command.DOWN)

    async def release(self) -> None:
        """Stop the motor, leaving a collision lock to the desk (only a STOP clears it)."""
        await self._stop_feed()
        if self._client is None or not self._client.is_connected:
            return  # nothing to tell; the desk's own watchdog stops it
        await self._write_reference_stop()
        await self._settle()
        self._guard()

    async def _halt(self) -> None:
        """Stop at once and re-arm a desk that stopped on a collision."""
        await self._stop_feed()
        if self._client is None or not self._client.is_connected:
            return  # the desk's own watchdog stops it; its lock stays until it hears a STOP
        await self._write_reference_stop()
        await self._command(codec.Command.STOP)  # what re-arms the desk after a collision
        self._fault, self._fault_detail = None, ""
        self._learn(collision=False)
        self._publish(self.state.but(fault=None, detail=""))
        await self._settle()
        self._guard()

    def _guard(self) -> None:
        """For a while, stop again any motion nobody asked for (a target that arrives late)."""
        self._guard_until = self.clock.now() + GUARD_S
        if self._guard_task is None or self._guard_task.done():
            self._guard_task = self._chore(self._keep_stopped())

    async def _keep_stopped(self) -> None:
        stopped_at = -GUARD_REPEAT_S
        with self.subscribe() as states:
            while (left := self._guard_until - self.clock.now()) > 0:
                state = await states.next(timeout=left)
                now = self.clock.now()
                if state is None or not state.moving or now >= self._guard_until:
                    continue
                if self._move is None and now - stopped_at >= GUARD_REPEAT_S:
                    stopped_at = now
                    log.info("the desk moved after a stop; stopping it again")
                    with contextlib.suppress(DeskctlError):
                        await self._write_reference_stop()

    async def _settle(self) -> None:
        """Follow the desk until it reports rest (bounded), so its resting height is known."""
        deadline = self.clock.now() + SETTLE_TIMEOUT_S
        with self.subscribe() as states:
            while self.state.moving and self._client is not None:
                left = deadline - self.clock.now()
                if left <= 0:
                    return
                if await states.next(timeout=min(SILENCE_S, left)) is None:
                    with contextlib.suppress(DeskctlError):
                        await self._read_height()

    async def _read_presets(self) -> dict[int, float | None]:
        return dict(self.memories)
