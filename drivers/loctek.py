"""Loctek Motion boxes (FlexiSpot and others) over their RJ45 line: ``loctek:///dev/ttyUSB0``.

The box has no move-to-height, so deskctl holds UP or DOWN by streaming the
key like a handset does, reads the height off the box's display frames and
lets go early by the coast it has learned (``deskctl calibrate``).  The display
shows 0.1 cm below 100 cm and whole centimetres above, which bounds how
precisely deskctl can know where the desk stopped.  Add ``?units=in`` for a box
whose display shows inches.
"""

from __future__ import annotations

import asyncio
import logging

from deskctl.clock import Clock
from deskctl.desk import Desk
from deskctl.drivers import loctek_codec as codec
from deskctl.drivers.serial_line import SerialLine
from deskctl.errors import ConnectionLost, DeskNotFound, Unsupported
from deskctl.model import Capabilities, DeskInfo, DeskState, Direction, Fault, Limits, Link
from deskctl.motion import CoastModel, HoldAndWatch, MotionStrategy

log = logging.getLogger(__name__)

FAMILY = "loctek"
WAKE_ATTEMPTS = 4
WAKE_WAIT_S = 0.5
# Above 100 cm the digits step by 1 cm: a braking desk can take this long to roll one over.
SETTLED_AFTER_S = 0.8
# Half the display's coarsest step (1 cm): the best any driver can know above 100 cm.
TOLERANCE_MM = 5.0
# Speed from the digits' rollovers over this long: single steps are too coarse for it.
SPEED_WINDOW_S = 0.5
MIN_SPEED_SPAN_S = 0.1


class LoctekDesk(Desk):
    report_interval_s = 0.05
    press_repeat_s = 0.05  # a handset repeats its key about every 40 ms

    def __init__(
        self,
        port: str,
        *,
        inches: bool = False,
        clock: Clock | None = None,
        strategy: MotionStrategy | None = None,
    ) -> None:
        super().__init__(
            info=DeskInfo(family=FAMILY, address=port, name=f"Loctek desk on {port}"),
            limits=Limits(620.0, 1270.0),  # the box does not say; FlexiSpot's common range
            capabilities=Capabilities(
                native_move_to=False, memory_presets=4, can_save_presets=True
            ),
            strategy=strategy
            or HoldAndWatch(CoastModel(latency_s=0.4, decel_mm_s2=80.0), tolerance_mm=TOLERANCE_MM),
            clock=clock,
        )
        self.port = port
        self.inches = inches
        self.line = SerialLine(port, self._on_data, self._on_lost)
        self._parser = codec.FrameParser()
        self._settle: asyncio.TimerHandle | None = None
        self._fault: Fault | None = None
        self._heading = 0
        self._first_height: asyncio.Future[float] | None = None
        self._shown: float | None = None
        self._rollovers: list[tuple[float, float]] = []

    async def _open(self) -> None:
        await self.line.open()
        self._first_height = asyncio.get_running_loop().create_future()
        for _ in range(WAKE_ATTEMPTS):
            # A sleeping screen shows nothing; the no-key frame wakes it (as PIN 20 does).
            self.line.write(codec.WAKE)
            try:
                async with asyncio.timeout(WAKE_WAIT_S):
                    await asyncio.shield(self._first_height)
            except TimeoutError:
                continue
            return
        await self.line.close()
        raise DeskNotFound(
            f"no Loctek box shows a height on {self.port}: check the RJ45 cable and that the "
            "desk has power"
        )

    async def _close(self) -> None:
        if self._settle is not None:
            self._settle.cancel()
        await self.line.close()

    def _on_lost(self, reason: str) -> None:
        log.warning("lost %s: %s", self.port, reason)
        self._publish(self.state.but(link=Link.LOST, moving=False, speed_mm_s=0.0))
        self._fail_motion(
            ConnectionLost(f"lost the serial line {self.port} ({reason}); the move was not resumed")
        )

    def _on_data(self, data: bytes) -> None:
        for frame in self._parser.feed(data):
            if frame.kind == codec.Type.DISPLAY:
                self._on_display(codec.decode_display(frame.payload))

    def _on_display(self, display: codec.Display) -> None:
        if display.overheated or display.error is not None:
            self._fault = Fault.OVERHEATED if display.overheated else Fault.CONTROLLER
            self._publish(
                self.state.but(
                    fault=self._fault,
                    detail=f"the desk shows {display.error or 'HOT'}",
                    moving=False,
                    speed_mm_s=0.0,
                )
            )
            return
        if display.number is None:
            return  # a blank or lettered screen says nothing about the height
        if self._fault in (Fault.OVERHEATED, Fault.CONTROLLER):
            self._fault = None  # the box shows a height again: whatever it showed has passed
        shown = round(display.number * (25.4 if self.inches else 10.0), 1)
        if self._first_height is not None and not self._first_height.done():
            self._first_height.set_result(shown)
        now, last = self.clock.now(), self.state
        previous, self._shown = self._shown, shown
        if last.link is Link.CONNECTED and shown == previous:
            if last.moving:
                self._restart_settle()
            return  # the same digits again: nothing new
        moving = last.link is Link.CONNECTED
        if self._heading and previous is not None and (shown - previous) * self._heading < 0:
            # Holding one way and moving the other: the box is backing off a collision.
            self._heading = 0
            self._fault = Fault.COLLISION
        height = shown
        if moving and previous is not None:
            # The digits just rolled over: the desk is on the boundary between the two
            # values, a far better estimate than either while it moves.
            height = round((shown + previous) / 2, 1)
            self._rollovers = [(t, h) for t, h in self._rollovers if now - t <= SPEED_WINDOW_S]
            self._rollovers.append((now, height))
        first_t, first_h = self._rollovers[0] if self._rollovers else (now, height)
        if now - first_t >= MIN_SPEED_SPAN_S:
            speed = (height - first_h) / (now - first_t)
        else:
            speed = last.speed_mm_s if last.moving else 0.0
        self._publish(DeskState(height, speed, moving, self._fault, Link.CONNECTED, now))
        if moving:
            self._restart_settle()

    def _restart_settle(self) -> None:
        if self._settle is not None:
            self._settle.cancel()
        self._settle = asyncio.get_running_loop().call_later(SETTLED_AFTER_S, self._settled)

    def _settled(self) -> None:
        self._settle = None
        self._rollovers.clear()
        height = self.state.height_mm if self._shown is None else self._shown
        self._publish(self.state.but(height_mm=height, moving=False, speed_mm_s=0.0))

    async def send_target(self, height_mm: float) -> None:
        raise Unsupported("Loctek boxes have no move-to-height; deskctl holds the keys instead")

    async def press(self, direction: Direction) -> None:
        self._heading = int(direction)
        self.line.write(
            codec.buttons(codec.Button.UP if direction is Direction.UP else codec.Button.DOWN)
        )

    async def release(self) -> None:
        self._heading = 0
        self.line.write(codec.WAKE)  # no key: the box stops

    async def _recall_preset(self, slot: int) -> DeskState:
        """Press the preset's key; the box drives there by itself."""
        with self.subscribe() as states:
            # Wake the screen (a sleeping box takes the first key as a wake-up), then one
            # press: the box drives there by itself (a no-key frame now would stop it).
            self.line.write(codec.WAKE)
            self.line.write(codec.buttons(codec.PRESETS[slot]))
            started = False
            async for state in states:
                started = started or state.moving
                if started and not state.moving:
                    return state

        raise ConnectionLost(f"lost the desk on {self.port} while it moved to preset {slot}")

    async def _save_preset(self, slot: int) -> None:
        keys = (codec.Button.NONE, codec.Button.MEMORY, codec.Button.NONE, codec.PRESETS[slot])
        for key in (*keys, codec.Button.NONE):  # wake, M, then the preset
            self.line.write(codec.buttons(key))

    async def _halt(self) -> None:
        await self.release()
        if self._fault is Fault.COLLISION:
            # A stop is the user's word that the way is clear.
            self._fault = None
            self._publish(self.state.but(fault=None, detail=""))
