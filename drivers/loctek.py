"""Loctek Motion boxes (FlexiSpot and others) over their RJ45 line: ``loctek:///dev/ttyUSB0``.

The box has no move-to-height, so deskctl holds UP or DOWN by streaming the
key like a handset does, reads the height off the box's display frames and
lets go early by the coast it has learned (``deskctl calibrate``; see
:mod:`deskctl.drivers.loctek_mover`).  The display shows 0.1 cm below 100 cm
and whole centimetres above (some panels whole centimetres everywhere), which
bounds how precisely deskctl can know where the desk stopped.  Add
``?units=in`` for a box whose display shows inches.

Some boxes send their display only when it changes, others again and again
while the screen is on: the desk has stopped when its digits stop changing,
however often they are sent.  A box that repeats itself and falls silent has
gone; one that only reports changes is asked (a no-key frame, the wake-up, which
the box answers with its screen) before deskctl trusts that the desk has stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable

from deskctl.clock import Clock
from deskctl.desk import Desk
from deskctl.drivers import loctek_codec as codec
from deskctl.drivers.loctek_mover import LoctekMover
from deskctl.drivers.loctek_track import DisplayTrack
from deskctl.drivers.serial_line import SerialLine
from deskctl.errors import ConnectionLost, DeskNotFound, ProtocolError, Unsupported
from deskctl.model import Capabilities, DeskInfo, DeskState, Direction, Fault, Limits, Link
from deskctl.motion import MotionStrategy

log = logging.getLogger(__name__)

FAMILY = "loctek"
DEFAULT_LIMITS = Limits(620.0, 1270.0)  # until calibration finds the desk's own
WAKE_ATTEMPTS = 4
WAKE_WAIT_S = 0.5
AWAKE_FOR_S = 3.0
"""After a frame or a key the screen is surely still on: boxes sleep after 5 s or more."""
SILENT_AFTER_S = 0.6
"""A box that repeats its frames and sends none for this long has gone."""
STREAMING_FOR_S = 5.0
REPEATS_TO_STREAM = 5
"""Unchanged frames in a second that show a box repeating itself (a box that only reports
changes may still send one at rest)."""
CHANGES_WITHIN_S = 0.06
"""A box that sends its display only on change sends a change within this long [unsure]."""
PROBE_WAIT_S = 0.3
CALL_AGAIN_S = 2.0
"""A box that went quiet is called this often until it answers."""
PROBES = 3
START_GRACE_S = 0.6
"""A held key that has not changed the digits after the settling time plus this: the
desk is not moving (at a limit, or the box ignores the key)."""
RELEASE_GRACE_S = 0.5
"""After a release the desk runs on for its reaction time: give the digits this long more."""
ANSWER_WAIT_S = 1.0
"""How long the screen may take to show what a key asked for (``S-``, ``S-1``)."""
PRESET_START_S = 2.5
PRESET_TIMEOUT_S = 90.0
FRESH_AFTER_S = 0.1


def settle_after(step_mm: float) -> float:
    """Digits unchanged this long mean the desk stopped: the slowest a moving desk rolls its
    last digit over is as it sets off or comes to rest, at about 20 mm/s²."""
    return min(1.3, max(0.5, math.sqrt(step_mm / 10.0) + 0.15))


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
            limits=DEFAULT_LIMITS,
            capabilities=Capabilities(
                native_move_to=False, memory_presets=4, can_save_presets=True
            ),
            strategy=strategy or LoctekMover(),
            clock=clock,
        )
        self.port = port
        self.inches = inches
        self.line = SerialLine(port, self._on_data, self._on_lost)
        self._parser = codec.FrameParser()
        self.track = DisplayTrack()
        self._fault: Fault | None = None
        self._heading = 0
        self._progress = False
        """The digits moved the way the key points since it was pressed."""
        self._pressed_at: float | None = None
        """When the key held now was first pressed."""
        self._judged = False
        """The held key's stop (at a limit) has been reported."""
        self._released_at = -math.inf
        self._settling = False
        self._preset_from: float | None = None
        self._last_key_at = -math.inf
        self._last_frame_at = -math.inf
        self._last_display_at = -math.inf
        self._asleep = True
        self._repeats: deque[float] = deque()
        """When unchanged digits came unasked, over the last second."""
        self._streaming_until = -math.inf
        self._probe_at: float | None = None
        self._probes = 0
        self._silenced = False
        self._timer: asyncio.TimerHandle | None = None
        self._waiters: list[tuple[Callable[[codec.Display], bool], asyncio.Future[None]]] = []
        self._text = ""

    # -- the line -----------------------------------------------------------------------------

    @property
    def streams(self) -> bool:
        """The box has lately kept sending frames unasked: silence would mean it is gone."""
        return self.clock.now() < self._streaming_until

    def _send(self, frame: bytes) -> None:
        self._last_key_at = self.clock.now()
        self.line.write(frame)

    async def _open(self) -> None:
        await self.line.open()
        coast = self.coast
        if coast is not None and coast.travel_mm is not None:
            self.limits = Limits(*coast.travel_mm)  # found by an earlier calibration
        try:
            await self._wake(force=True)
        except ConnectionLost:
            await self.line.close()
            raise DeskNotFound(
                f"no Loctek box shows a height on {self.port}: check the RJ45 cable and that "
                "the desk has power"
            ) from None

    async def _wake(self, force: bool = False) -> None:
        """Make sure the screen is on (a sleeping box takes the first key as a wake-up)."""
        now = self.clock.now()
        recent = now - max(self._last_key_at, self._last_display_at) < AWAKE_FOR_S
        if recent and not self._asleep and not force:
            return
        for _ in range(WAKE_ATTEMPTS):
            # The no-key frame wakes the screen (as PIN 20 does), and an awake box answers it.
            self._send(codec.WAKE)
            try:
                await self._until(lambda d: d.number is not None or _faulted(d), WAKE_WAIT_S)
            except TimeoutError:
                continue
            return
        raise ConnectionLost(f"the Loctek box on {self.port} does not answer")

    async def _until(self, wanted: Callable[[codec.Display], bool], within_s: float) -> None:
        """Wait until the screen shows what ``wanted`` accepts."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (wanted, future)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(within_s):
                await future
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    async def _close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await self.line.close()

    def _on_lost(self, reason: str) -> None:
        log.warning("lost %s: %s", self.port, reason)
        self._publish(self.state.but(link=Link.LOST, moving=False, speed_mm_s=0.0))
        self._fail_motion(
            ConnectionLost(f"lost the serial line {self.port} ({reason}); the move was not resumed")
        )

    def _on_data(self, data: bytes) -> None:
        for frame in self._parser.feed(data):
            self._on_frame(frame)

    def _on_frame(self, frame: codec.Frame) -> None:
        now = self.clock.now()
        self._last_frame_at = now
        self._probe_at, self._probes = None, 0
        if self._silenced:
            self._silenced = False
            self._publish(self.state.but(link=Link.CONNECTED, timestamp=now))
        if frame.kind == codec.Type.HEARTBEAT:
            self._streaming_until = now + STREAMING_FOR_S
        elif frame.kind == codec.Type.DISPLAY and len(frame.payload) >= 3:
            self._on_display(codec.decode_display(frame.payload), now)
        self._arm()

    # -- what the screen shows ----------------------------------------------------------------

    def _on_display(self, display: codec.Display, now: float) -> None:
        if display.text == self._text and now - self._last_key_at > 0.1:
            # Unasked and unchanged: a box that does this again and again repeats itself.
            self._repeats.append(now)
            while self._repeats[0] < now - 1.0:
                self._repeats.popleft()
            if len(self._repeats) >= REPEATS_TO_STREAM:
                self._streaming_until = now + STREAMING_FOR_S
        self._text = display.text
        self._last_display_at = now
        self._asleep = display.blank
        for wanted, future in list(self._waiters):
            if wanted(display) and not future.done():
                future.set_result(None)
        if _faulted(display):
            self._fault = Fault.OVERHEATED if display.overheated else Fault.CONTROLLER
            self._publish(
                self.state.but(
                    fault=self._fault,
                    detail=f"the desk shows {display.error or 'HOT'}",
                    moving=False,
                    speed_mm_s=0.0,
                    link=Link.CONNECTED,
                    timestamp=now,
                )
            )
            return
        if display.number is None:
            return  # a blank or lettered screen says nothing about the height
        if self._fault in (Fault.OVERHEATED, Fault.CONTROLLER):
            self._fault = None  # the box shows a height again: whatever it showed has passed
        unit = 25.4 if self.inches else 10.0
        shown, step = round(display.number * unit, 1), round(display.step * unit, 2)
        before = self.track.shown_mm
        changed = self.track.observe(now, shown, step, None if self.streams else CHANGES_WITHIN_S)
        self._tell_mover(step)
        last = self.state
        if last.link is not Link.CONNECTED:
            self._publish(DeskState(shown, 0.0, False, self._fault, Link.CONNECTED, now))
            return
        if changed and before is not None:
            self._judge_direction(shown - before)
        if not (changed or last.moving):
            return  # the same digits again at rest: nothing new
        fit = self.track.fit(now)
        height, speed = fit if fit is not None else (shown, last.speed_mm_s)
        low, high = self.track.band()
        height = min(max(height, low - step), high + step)
        self._publish(DeskState(height, speed, True, self._fault, Link.CONNECTED, now))

    def _tell_mover(self, step_mm: float) -> None:
        """Tell the mover what one digit is worth here (it bounds how close a move can get)."""
        if isinstance(self.strategy, LoctekMover):
            self.strategy.display_step_mm = step_mm

    def _judge_direction(self, change: float) -> None:
        if not self._heading:
            return
        if change * self._heading > 0:
            self._progress = True
        elif self._progress:
            # Holding one way and moving the other: the box is backing off a collision.
            self._heading = 0
            self._fault = Fault.COLLISION

    # -- settling, silence and probes ---------------------------------------------------------

    def _arm(self) -> None:
        """Set the one timer to the next moment something must be judged."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        due = self._next_due()
        if due is not None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, due - self.clock.now()) + 1e-4
            self._timer = loop.call_at(loop.time() + delay * self._clock_rate(), self._judge)

    def _clock_rate(self) -> float:
        """Loop seconds per clock second (the clock may run faster than the loop)."""
        speed = getattr(self.clock, "speed", 1.0)
        return 1.0 / speed if isinstance(speed, float | int) and speed > 0 else 1.0

    def _active(self) -> bool:
        held = self._pressed_at is not None and not self._judged
        return (
            self.state.link is Link.CONNECTED and (self.state.moving or held or self._settling)
        ) or self._preset_from is not None

    def _quiet_since(self) -> float:
        quiet = self.track.changed_at
        if self._settling:
            quiet = max(quiet, self._released_at + RELEASE_GRACE_S)
        if self._pressed_at is not None and not self.state.moving:
            quiet = max(quiet, self._pressed_at + START_GRACE_S)
        if self._preset_from is not None and not self.state.moving:
            quiet = max(quiet, self._preset_from + PRESET_START_S)
        return quiet

    def _next_due(self) -> float | None:
        if self._probe_at is not None:
            return self._probe_at + PROBE_WAIT_S
        if self._silenced:
            return self._last_key_at + CALL_AGAIN_S
        if not self._active():
            return None
        moments = [self._quiet_since() + settle_after(self.track.step_mm)]
        if self.streams:
            moments.append(self._last_frame_at + SILENT_AFTER_S)
        return min(moments)

    def _judge(self) -> None:
        self._timer = None
        now = self.clock.now()
        if self._probe_at is not None:
            if now >= self._probe_at + PROBE_WAIT_S:
                self._probe(now)
            self._arm()
            return
        if self._silenced:
            # Keep calling a box that went quiet: its next frame brings the link back.
            if now >= self._last_key_at + CALL_AGAIN_S:
                with contextlib.suppress(ConnectionLost):
                    self._send(codec.WAKE)
            self._arm()
            return
        if not self._active():
            return
        if self.streams and now - self._last_frame_at >= SILENT_AFTER_S:
            self._silent("it stopped sending its display")
            return
        quiet = self._quiet_since()
        if now - quiet >= settle_after(self.track.step_mm) - 1e-6:
            if self._last_display_at >= quiet + FRESH_AFTER_S:
                self._settled(now)
            else:
                self._probe(now)  # make sure the box is there and its digits are the last
        self._arm()

    def _probe(self, now: float) -> None:
        """Ask the box for its screen: a no-key frame, which it answers."""
        if self._probes >= PROBES:
            self._silent("it did not answer")
            return
        self._probes += 1
        self._probe_at = now
        try:
            self._send(codec.WAKE)
        except ConnectionLost:
            self._probe_at = None

    def _silent(self, why: str) -> None:
        self._probe_at, self._probes = None, 0
        self._silenced = True
        self._pressed_at, self._settling, self._preset_from = None, False, None
        log.warning("the box on %s went quiet: %s", self.port, why)
        self._publish(self.state.but(link=Link.LOST, moving=False, speed_mm_s=0.0))
        self._arm()
        self._fail_motion(
            ConnectionLost(
                f"the Loctek box on {self.port} stopped answering ({why}); the move was not resumed"
            )
        )

    def _settled(self, now: float) -> None:
        """The digits stopped changing: publish where the desk rests."""
        self._settling, self._preset_from = False, None
        self._judged = self._pressed_at is not None  # a key still held (at a limit): said once
        self.track.forget()
        height = self.track.shown_mm if self.track.shown_mm is not None else self.state.height_mm
        self._publish(DeskState(height, 0.0, False, self._fault, Link.CONNECTED, now))

    # -- keys ---------------------------------------------------------------------------------

    async def send_target(self, height_mm: float) -> None:
        raise Unsupported("Loctek boxes have no move-to-height; deskctl holds the keys instead")

    async def press(self, direction: Direction) -> None:
        if self._heading != int(direction):
            await self._wake()
            self._heading, self._progress, self._judged = int(direction), False, False
            self._pressed_at = self.clock.now()
        self._send(
            codec.buttons(codec.Button.UP if direction is Direction.UP else codec.Button.DOWN)
        )
        self._arm()

    async def release(self) -> None:
        """Let go of the key; the box stops after its reaction time (its own collision
        back-off is not affected, and deskctl's latch is cleared only by a stop)."""
        self._heading, self._pressed_at = 0, None
        self._released_at, self._settling = self.clock.now(), True
        self._send(codec.WAKE)  # no key: the box stops
        self._arm()

    @property
    def pressed_at(self) -> float | None:
        """When the key held now was first pressed (after waking the screen)."""
        return self._pressed_at

    def band(self) -> tuple[float, float]:
        """The heights the digits on the screen allow."""
        return self.track.band()

    @property
    def fine_up_to_mm(self) -> float:
        """The highest height at which the digits showed tenths (0: never)."""
        return self.track.fine_up_to_mm

    async def _recall_preset(self, slot: int) -> DeskState:
        """Press the preset's key; the box drives there by itself."""
        await self._wake()
        with self.subscribe() as states:
            # One press: the box drives there by itself (a no-key frame now would stop it).
            self._send(codec.buttons(codec.PRESETS[slot]))
            started_at = self._preset_from = self.clock.now()
            self._arm()
            while True:
                state = await states.next(timeout=PRESET_TIMEOUT_S)
                if state is None or state.link is not Link.CONNECTED:
                    raise ConnectionLost(
                        f"lost the desk on {self.port} while it moved to preset {slot}"
                    )
                if state.fault is not None or (not state.moving and state.timestamp > started_at):
                    return state

    async def _save_preset(self, slot: int) -> None:
        """M, then the preset's key; the box confirms with ``S-`` and the preset's number."""
        await self._rest()
        await self._wake()
        try:
            self._send(codec.buttons(codec.Button.MEMORY))
            await self._until(lambda d: d.memory, ANSWER_WAIT_S)
            self._send(codec.WAKE)  # a handset lets go of M before the next key
            self._send(codec.buttons(codec.PRESETS[slot]))
            await self._until(lambda d: d.saved_slot == slot, ANSWER_WAIT_S)
        except TimeoutError:
            raise ProtocolError(
                f"the box did not confirm storing preset {slot} (its screen should show "
                f"S-{slot}); nothing may have been stored, try again"
            ) from None
        finally:
            self._send(codec.WAKE)

    async def _rest(self) -> None:
        """Wait until the desk has settled (a save stores where it stands)."""
        with self.subscribe() as states:
            while self.state.moving or self._settling:
                if await states.next(timeout=10.0) is None:
                    raise ConnectionLost(f"the desk on {self.port} did not come to rest")

    async def _halt(self) -> None:
        await self.release()
        if self._fault is Fault.COLLISION:
            # A stop is the user's word that the way is clear.
            self._fault = None
            self._publish(self.state.but(fault=None, detail=""))


def _faulted(display: codec.Display) -> bool:
    return display.overheated or display.error is not None
