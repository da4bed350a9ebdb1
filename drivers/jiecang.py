"""Jiecang control boxes over their serial line: ``jiecang:///dev/ttyUSB0``.

Also ``jiecang://socket://HOST:PORT``-style bridges: the port is anything
pyserial opens.  The box closes the loop on a move-to-height itself; older
boxes without one are driven by hold-and-watch on its steps.  Heights on the
wire are tenths of the box's display unit, read from the box on connect.
"""

from __future__ import annotations

import asyncio
import logging

from deskctl.clock import Clock
from deskctl.desk import Desk
from deskctl.drivers import jiecang_codec as codec
from deskctl.drivers.serial_line import SerialLine
from deskctl.errors import ConnectionLost, DeskNotFound, ProtocolError
from deskctl.model import Capabilities, DeskInfo, DeskState, Direction, Fault, Limits, Link
from deskctl.motion import MotionStrategy

log = logging.getLogger(__name__)

FAMILY = "jiecang"
MM_PER_INCH = 25.4
ANSWER_TIMEOUT_S = 0.5
ASK_ATTEMPTS = 4
# Jiecang boxes report heights while they move and fall silent at rest.
SETTLED_AFTER_S = 0.35


class JiecangDesk(Desk):
    report_interval_s = 0.1
    target_repeat_s = None
    press_repeat_s = 0.15

    def __init__(
        self, port: str, *, clock: Clock | None = None, strategy: MotionStrategy | None = None
    ) -> None:
        super().__init__(
            info=DeskInfo(family=FAMILY, address=port, name=f"Jiecang desk on {port}"),
            # Until the box answers: the widest range Jiecang desks are sold with.
            limits=Limits(600.0, 1300.0),
            capabilities=Capabilities(native_move_to=True, memory_presets=4, can_save_presets=True),
            strategy=strategy,
            clock=clock,
        )
        self.port = port
        self.inches = False
        self.presets_mm: dict[int, float | None] = dict.fromkeys(range(1, 5))
        self.line = SerialLine(port, self._on_data, self._on_lost)
        self._parser = codec.FrameParser()
        self._fault: Fault | None = None
        self._settle: asyncio.TimerHandle | None = None
        self._answers: dict[int, asyncio.Future[bytes]] = {}

    # -- link ---------------------------------------------------------------------------------

    async def _open(self) -> None:
        await self.line.open()
        try:
            self.line.write(codec.encode(codec.Op.WAKE))
            units = await self._ask(codec.Op.UNITS, codec.Reply.UNITS)
            self.inches = bool(units[:1] == b"\x01")
            if self.inches:
                # The box only knows tenths of an inch: half of one is as close as it gets.
                self.strategy.tolerance_mm = max(self.strategy.tolerance_mm, MM_PER_INCH / 20)
            limits = await self._ask(codec.Op.LIMITS, codec.Reply.LIMITS)
            high, low = codec.decode_height(limits), codec.decode_height(limits[2:])
            if 0 < low < high:
                self.limits = Limits(float(low), float(high))
            await self._ask(codec.Op.SETTINGS, codec.Reply.HEIGHT)
        except TimeoutError:
            await self.line.close()
            raise DeskNotFound(
                f"nothing answers on {self.port} like a Jiecang box: check the cable "
                "(RJ45 or RJ12 port of the control box) and that the desk has power"
            ) from None

    async def _close(self) -> None:
        if self._settle is not None:
            self._settle.cancel()
        await self.line.close()

    async def _ask(self, op: int, reply: int) -> bytes:
        """Send ``op`` and return the payload of its ``reply``, asking again if the line
        loses either; raises TimeoutError when the box never answers."""
        for _ in range(ASK_ATTEMPTS):
            future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
            self._answers[reply] = future
            self.line.write(codec.encode(op))
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT_S):
                    return await future
            except TimeoutError:
                log.info("no answer to 0x%02X on %s; asking again", op, self.port)
        raise TimeoutError

    def _on_lost(self, reason: str) -> None:
        log.warning("lost %s: %s", self.port, reason)
        self._publish(self.state.but(link=Link.LOST, moving=False, speed_mm_s=0.0))
        self._fail_motion(
            ConnectionLost(f"lost the serial line {self.port} ({reason}); the move was not resumed")
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
                log.warning("ignored a frame from %s: %s", self.port, error)

    def _handle(self, frame: codec.Frame) -> None:
        if frame.op == codec.Reply.HEIGHT:
            self._on_height(self._mm(codec.decode_height(frame.payload)))
        elif frame.op in codec.PRESET_REPLIES:
            tenths = codec.decode_height(frame.payload)
            self.presets_mm[codec.PRESET_REPLIES[codec.Reply(frame.op)]] = (
                self._mm(tenths) if tenths else None
            )
        elif frame.op == codec.Reply.ERROR and frame.payload:
            code = frame.payload[0]
            self._fault = Fault.OVERHEATED if code == codec.OVERHEATED else Fault.CONTROLLER
            self._publish(
                self.state.but(fault=self._fault, detail=f"the desk shows {codec.error_name(code)}")
            )

    def _on_height(self, height_mm: float) -> None:
        now, last = self.clock.now(), self.state
        elapsed = now - last.timestamp
        speed = (height_mm - last.height_mm) / elapsed if last.moving and elapsed > 0 else 0.0
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
        self._fault = None
        self.line.write(codec.move_to(self._tenths(height_mm)))

    async def press(self, direction: Direction) -> None:
        self.line.write(codec.encode(codec.Op.UP if direction is Direction.UP else codec.Op.DOWN))

    async def release(self) -> None:
        self.line.write(codec.encode(codec.Op.STOP))

    async def _read_presets(self) -> dict[int, float | None]:
        return dict(self.presets_mm)

    async def _save_preset(self, slot: int) -> None:
        await self._ask(codec.SAVE_OPS[slot], codec.PRESET_REPLIES_BY_SLOT[slot])
