"""Jiecang control boxes over their serial line: ``jiecang:///dev/ttyUSB0``.

The port is anything pyserial opens, so network serial bridges work too:
``jiecang://socket://HOST:PORT``.  The BLE adapters speak the same frames
(:mod:`deskctl.drivers.jiecang_ble`).  Heights on the wire are tenths of the
box's display unit, read from the box on connect.

Most boxes close the loop on a move-to-height themselves.  Older ones only
know presets and steps: on connect the driver asks for a move to where the
desk already is, and a box that does not echo the target is driven by
hold-and-watch on its steps instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from deskctl.clock import Clock
from deskctl.desk import Desk
from deskctl.drivers import jiecang_codec as codec
from deskctl.drivers.serial_line import SerialLine
from deskctl.errors import ConnectionLost, DeskNotFound, ProtocolError, Unsupported
from deskctl.model import Capabilities, DeskInfo, DeskState, Direction, Fault, Limits, Link
from deskctl.motion import CoastModel, HoldAndWatch, MotionStrategy, NativeMoveTo

log = logging.getLogger(__name__)

FAMILY = "jiecang"
MM_PER_INCH = 25.4
ANSWER_TIMEOUT_S = 0.5
ASK_ATTEMPTS = 4
PROBE_ATTEMPTS = 2
# Jiecang boxes report heights while they move and fall silent at rest.
SETTLED_AFTER_S = 0.35
# Moving against the command this fast: the box is backing off from a collision.
REVERSAL_MM_S = 5.0
HEIGHT_REPLIES = {codec.Reply.HEIGHT, *codec.PRESET_REPLIES}


class ByteLink(Protocol):
    """A two-way byte pipe to the box: a serial line or a BLE adapter."""

    async def open(self) -> None: ...

    def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


class JiecangDesk(Desk):
    report_interval_s = 0.1
    target_repeat_s = None
    press_repeat_s = 0.15
    medium = "serial line"

    def __init__(
        self,
        address: str,
        *,
        move_to: bool | None = None,
        clock: Clock | None = None,
        strategy: MotionStrategy | None = None,
    ) -> None:
        """``move_to``: whether the box has move-to-height; None asks the box."""
        super().__init__(
            info=DeskInfo(family=FAMILY, address=address, name=f"Jiecang desk on {address}"),
            # Until the box answers: the widest range Jiecang desks are sold with.
            limits=Limits(600.0, 1300.0),
            capabilities=Capabilities(native_move_to=True, memory_presets=4, can_save_presets=True),
            strategy=strategy,
            clock=clock,
        )
        self.address = address
        self.inches = False
        self._units_known = False
        self.move_to_supported = move_to
        self.presets_mm: dict[int, float | None] = dict.fromkeys(range(1, 5))
        self._chosen_strategy = strategy is not None
        # A step-driven box brakes softly: about 19 mm from full speed.
        self._stepping = (
            strategy
            if isinstance(strategy, HoldAndWatch)
            else HoldAndWatch(CoastModel(latency_s=0.2, decel_mm_s2=35.0))
        )
        self.link = self._make_link()
        self._parser = codec.FrameParser()
        self._fault: Fault | None = None
        self._heading = 0
        self._settle: asyncio.TimerHandle | None = None
        self._answers: dict[int, asyncio.Future[bytes]] = {}

    def _make_link(self) -> ByteLink:
        return SerialLine(self.address, self._on_data, self._on_lost)

    def _silent(self) -> DeskNotFound:
        return DeskNotFound(
            f"nothing answers on {self.address} like a Jiecang box: check the cable "
            "(RJ45 or RJ12 port of the control box) and that the desk has power"
        )

    @property
    def coast(self) -> CoastModel | None:
        return self._stepping.coast

    # -- link ---------------------------------------------------------------------------------

    async def _open(self) -> None:
        await self.link.open()
        try:
            self.link.write(codec.encode(codec.Op.WAKE))
            units = await self._ask(codec.encode(codec.Op.UNITS), codec.Reply.UNITS)
            self.inches = bool(units[:1] == b"\x01")
            self._units_known = True
            limits = await self._ask(codec.encode(codec.Op.LIMITS), codec.Reply.LIMITS)
            high, low = codec.decode_height(limits), codec.decode_height(limits[2:])
            if 0 < low < high:
                self.limits = Limits(float(low), float(high))
            await self._ask(codec.encode(codec.Op.SETTINGS), codec.Reply.HEIGHT)
            if self.move_to_supported is None:
                self.move_to_supported = await self._probe_move_to()
        except TimeoutError:
            await self.link.close()
            raise self._silent() from None
        self._choose_strategy()

    async def _probe_move_to(self) -> bool:
        """Ask for a move to the current height: boxes with move-to echo it and stay put."""
        here = codec.move_to(self._tenths(self.state.height_mm))
        try:
            await self._ask(here, codec.Reply.TARGET, attempts=PROBE_ATTEMPTS)
        except TimeoutError:
            log.info("%s does not echo move-to-height: moving it by steps", self.address)
            return False
        # An inch box rounds its position to the tenth it reports: let that nudge finish.
        with self.subscribe() as states:
            while self.state.moving and await states.next(timeout=2.0) is not None:
                pass
        return True

    def _choose_strategy(self) -> None:
        native = bool(self.move_to_supported)
        self.capabilities = Capabilities(
            native_move_to=native, memory_presets=4, can_save_presets=True
        )
        if not self._chosen_strategy:
            self.strategy = NativeMoveTo() if native else self._stepping
        if self.inches:
            # The box only knows tenths of an inch: half of one is as close as it gets.
            self.strategy.tolerance_mm = max(self.strategy.tolerance_mm, MM_PER_INCH / 20)

    async def _close(self) -> None:
        if self._settle is not None:
            self._settle.cancel()
        await self.link.close()

    async def _ask(self, frame: bytes, reply: int, attempts: int = ASK_ATTEMPTS) -> bytes:
        """Send ``frame`` and return the payload of its ``reply``, asking again if the
        line loses either; raises TimeoutError when the box never answers."""
        for _ in range(attempts):
            future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
            self._answers[reply] = future
            self.link.write(frame)
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT_S):
                    return await future
            except TimeoutError:
                log.info("no answer to %s on %s; asking again", frame.hex(" "), self.address)
        raise TimeoutError

    def _on_lost(self, reason: str) -> None:
        log.warning("lost %s: %s", self.address, reason)
        self._publish(self.state.but(link=Link.LOST, moving=False, speed_mm_s=0.0))
        self._fail_motion(
            ConnectionLost(
                f"lost the {self.medium} {self.address} ({reason}); the move was not resumed"
            )
        )

    # -- the box's messages -------------------------------------------------------------------

    def _mm(self, tenths: int) -> float:
        return round(tenths * MM_PER_INCH / 10, 1) if self.inches else float(tenths)

    def _tenths(self, mm: float) -> int:
        return round(mm / MM_PER_INCH * 10 if self.inches else mm)

    def _on_data(self, data: bytes) -> None:
        for frame in self._parser.feed(data):
            waiting = self._answers.pop(frame.op, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(frame.payload)
            try:
                self._handle(frame)
            except ProtocolError as error:
                log.warning("ignored a frame from %s: %s", self.address, error)

    def _handle(self, frame: codec.Frame) -> None:
        if frame.op in HEIGHT_REPLIES and not self._units_known:
            return  # tenths of what, the box has not said yet
        if frame.op == codec.Reply.HEIGHT:
            self._on_height(self._mm(codec.decode_height(frame.payload)))
        elif frame.op in codec.PRESET_REPLIES:
            tenths = codec.decode_height(frame.payload)
            self.presets_mm[codec.PRESET_REPLIES[codec.Reply(frame.op)]] = (
                self._mm(tenths) if tenths else None
            )
        elif frame.op == codec.Reply.ERROR and frame.payload:
            code = frame.payload[0]
            fault = Fault.OVERHEATED if code == codec.OVERHEATED else Fault.CONTROLLER
            self._raise_fault(fault, f"the desk shows {codec.error_name(code)}")
        elif frame.op == codec.Reply.NEEDS_RESET:
            self._raise_fault(
                Fault.CONTROLLER,
                "the desk needs a reset: hold DOWN on its handset until it shows RST, "
                "then until it has moved to the bottom",
            )

    def _raise_fault(self, fault: Fault, detail: str) -> None:
        self._fault = fault
        self._publish(self.state.but(fault=fault, detail=detail, timestamp=self.clock.now()))

    def _on_height(self, height_mm: float) -> None:
        now, last = self.clock.now(), self.state
        elapsed = now - last.timestamp
        speed = (height_mm - last.height_mm) / elapsed if last.moving and elapsed > 0 else 0.0
        if self._heading and speed * self._heading < -REVERSAL_MM_S:
            # Driving one way and moving the other: the box is backing off a collision.
            self._heading = 0
            self._fault = Fault.COLLISION
        # A changing height is motion; the first report after connecting is not.
        moving = last.link is Link.CONNECTED and (last.moving or height_mm != last.height_mm)
        self._publish(DeskState(height_mm, speed, moving, self._fault, Link.CONNECTED, now))
        # No report for a while means the motor has stopped.
        if self._settle is not None:
            self._settle.cancel()
        self._settle = asyncio.get_running_loop().call_later(SETTLED_AFTER_S, self._settled)

    def _settled(self) -> None:
        self._settle = None
        self._publish(self.state.but(moving=False, speed_mm_s=0.0))

    # -- motion primitives --------------------------------------------------------------------

    async def send_target(self, height_mm: float) -> None:
        self._heading = 1 if height_mm > self.state.height_mm else -1
        self.link.write(codec.move_to(self._tenths(height_mm)))

    async def press(self, direction: Direction) -> None:
        self._heading = int(direction)
        self.link.write(codec.encode(codec.Op.UP if direction is Direction.UP else codec.Op.DOWN))

    async def release(self) -> None:
        self._heading = 0
        self.link.write(codec.encode(codec.Op.STOP))

    async def _halt(self) -> None:
        await self.release()
        if self._fault is not None:
            # A stop is the user's word that the way is clear; a box still in
            # trouble says so again at the next move.
            self._fault = None
            self._publish(self.state.but(fault=None, detail=""))

    async def _read_presets(self) -> dict[int, float | None]:
        return dict(self.presets_mm)

    async def _recall_preset(self, slot: int) -> DeskState:
        """Press the preset's key: the box drives there itself, with its soft start and stop."""
        target = self.presets_mm[slot]
        if target is None:
            raise Unsupported(f"memory preset {slot} is empty on this desk")
        self.limits.check(target, self.unit)
        self._check_duty(abs(target - self.state.height_mm))
        if abs(target - self.state.height_mm) <= self.strategy.tolerance_mm:
            return self.state

        async def go() -> DeskState:
            self._heading = 1 if target > self.state.height_mm else -1
            with self.subscribe() as states:
                self.link.write(codec.encode(codec.GOTO_OPS[slot]))
                started = False
                while True:
                    state = await states.next(timeout=max(2.0, 10 * self.report_interval_s))
                    if state is None or state.fault is not None:
                        break
                    started = started or state.moving
                    if started and not state.moving:
                        break
            self._heading = 0
            return self.state

        final = await self._run_motion(go)
        if final.fault is not None:
            raise self._fault_error(final)
        return final

    async def _save_preset(self, slot: int) -> None:
        await self._ask(codec.encode(codec.SAVE_OPS[slot]), codec.PRESET_REPLIES_BY_SLOT[slot])
