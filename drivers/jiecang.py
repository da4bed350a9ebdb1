"""Jiecang control boxes over their serial line: ``jiecang:///dev/ttyUSB0``.

The port is anything pyserial opens, so network serial bridges work too:
``jiecang://socket://HOST:PORT``.  The BLE adapters speak the same frames
(:mod:`deskctl.drivers.jiecang_ble`).  Heights on the wire are tenths of the
box's display unit, read from the box on connect.

Connecting only asks questions: units, limits, presets and height.  How the box
is moved (its own move-to, or its steps) is found out by the first move and
remembered (:mod:`deskctl.drivers.jiecang_moves`).  Whether the desk moves is
judged by its height changing, never by frames arriving: boxes report on
schedules of their own and a noisy line loses some reports, so a desk is at
rest once its height has stood still for a while and a fresh report says so,
and a box that answers nothing while its desk should be moving has stopped
answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable
from pathlib import Path
from typing import Protocol

from deskctl.clock import Clock
from deskctl.desk import Desk
from deskctl.drivers import jiecang_codec as codec
from deskctl.drivers.jiecang_heights import Heard, HeightTrack
from deskctl.drivers.jiecang_moves import BoxMemory, JiecangMoves, follow
from deskctl.drivers.serial_line import SerialLine
from deskctl.errors import ConnectionLost, DeskNotFound, MoveFailed, ProtocolError, Unsupported
from deskctl.model import Capabilities, DeskInfo, DeskState, Direction, Fault, Limits, Link
from deskctl.motion import MotionStrategy

log = logging.getLogger(__name__)

FAMILY = "jiecang"
MM_PER_INCH = 25.4
ANSWER_TIMEOUT_S = 0.3
# Questions are asked again when the line loses them: a few times on a clean line,
# more once it has shown that it damages frames.
ASK_ATTEMPTS = 4
NOISY_ASK_ATTEMPTS = 12
# Without a units answer, the height says it: a desk is never below 54 cm, and
# tenths of an inch stay below 540 for any desk up to 137 cm.
INCH_TENTHS_BELOW = 540
# The height stood still this long (per mm of the box's unit, square-rooted: the time a
# gently braking desk takes to creep across a unit), and a report after that says so:
# the desk is at rest.  0.35 s on a metric box, 0.56 s on an inch box.
SETTLED_AFTER_S = 0.35
# Nothing heard for this long while the desk moves (or was told to): ask where it is.
QUIET_S = 0.15
# Questions left unanswered, one after the other, before the box counts as silent.
SILENT_AFTER_QUESTIONS = 8
# A motion command that has not moved the desk after this long has been refused.
COMMAND_LAPSES_S = 3.0
# After a stop, wait at most this long for the desk to come to rest (stopping it again
# every STOP_AGAIN_S while it still moves, in case the line lost the stop).
REST_WAIT_S = 4.0
STOP_AGAIN_S = 0.4
# Still this share of its speed when it was told to stop, a while later: the stop was lost.
RUNS_ON_SHARE = 0.8
REARM_ATTEMPTS = 3
# A box acts on a stop within this (its reaction time), and then no longer shows the collision.
REARM_CHECK_AFTER_S = 0.5
NUDGE_WAIT_S = 1.5
NUDGE_COPIES = 3
# Moving against the command this fast: the box is backing off from a collision.
REVERSAL_MM_S = 5.0
ERROR_CONFIRM_S = 1.0
COLLISION_CODES = range(1, 5)  # E01-E04: a motor's overcurrent, as when it runs into something
LOCKED = 0x10


class ByteLink(Protocol):
    """A two-way byte pipe to the box: a serial line or a BLE adapter."""

    async def open(self) -> None: ...

    def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


class JiecangDesk(Desk):
    report_interval_s = 0.1
    target_repeat_s: float | None = None
    # Steps run the motor a moment each (0.15 s and more): repeated this often, a lost one
    # or two on a noisy line leave no gap.
    press_repeat_s = 0.05
    medium = "serial line"

    def __init__(
        self,
        address: str,
        *,
        move_to: bool | None = None,
        clock: Clock | None = None,
        strategy: MotionStrategy | None = None,
        state_file: Path | None = None,
    ) -> None:
        """``move_to``: whether the box has move-to-height (None: find out at the first move);
        ``state_file``: where to remember what was learned about this box."""
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
        self.moves = JiecangMoves(
            self, BoxMemory(state_file).load(), told=move_to, on_learned=self._show_capabilities
        )
        if strategy is None:
            self.strategy = self.moves
        self._show_capabilities()
        self.link = self._make_link()
        self._parser = codec.FrameParser()
        self.misshapen = 0
        """Frames of the wrong length for their kind, set aside."""
        self._track = HeightTrack()
        self._raw_height: int | None = None
        self._raw_presets: dict[int, int] = {}
        self._fault: Fault | None = None
        self._heading = 0
        self._reversals = 0
        self._answers: dict[int, asyncio.Future[bytes]] = {}
        self._motion_seen = asyncio.Event()
        self._collision_shown = asyncio.Event()
        self._error_seen: tuple[int, float] | None = None
        self._commanded_at = -math.inf
        self._settled_at = -math.inf
        self._settled_after_s = SETTLED_AFTER_S
        self._quiet: asyncio.TimerHandle | None = None
        self._unanswered = 0
        self._closing = False

    def _make_link(self) -> ByteLink:
        return SerialLine(self.address, self._on_data, self._on_lost)

    def _silent(self) -> DeskNotFound:
        return DeskNotFound(
            f"nothing answers on {self.address} like a Jiecang box: check the cable "
            "(RJ45 or RJ12 port of the control box) and that the desk has power"
        )

    @property
    def move_to_supported(self) -> bool | None:
        """Whether the box drives to a height itself; None until its first move says."""
        return self.moves.native

    def _show_capabilities(self) -> None:
        self.capabilities = Capabilities(
            native_move_to=self.moves.native is not False,
            memory_presets=4,
            can_save_presets=True,
        )

    # -- link ---------------------------------------------------------------------------------

    async def _open(self) -> None:
        await self.link.open()
        try:
            self._write(codec.encode(codec.Op.WAKE))
            await self._ask(codec.encode(codec.Op.SETTINGS), codec.Reply.HEIGHT)
            units = await self._ask(codec.encode(codec.Op.UNITS), codec.Reply.UNITS, needed=False)
            limits = await self._ask(
                codec.encode(codec.Op.LIMITS), codec.Reply.LIMITS, needed=False
            )
        except TimeoutError:
            await self.link.close()
            raise self._silent() from None
        self._learn_units(units)
        if limits is not None and len(limits) >= 4:
            high, low = codec.decode_height(limits), codec.decode_height(limits[2:])
            if 0 < low < high:
                self.limits = Limits(float(low), float(high))
        height = self._mm(self._raw_height or 0)
        now = self.clock.now()
        self._track.hear(height, now)
        detail = self.state.detail if self._fault is not None else ""
        self._publish(DeskState(height, fault=self._fault, timestamp=now, detail=detail))

    def _learn_units(self, answer: bytes | None) -> None:
        if answer:
            self.inches = answer[0] == 0x01
        else:
            self.inches = (self._raw_height or 0) < INCH_TENTHS_BELOW
            log.info(
                "%s does not say its units; its height says %s",
                self.address,
                "inches" if self.inches else "millimetres",
            )
        self._units_known = True
        unit = MM_PER_INCH / 10 if self.inches else 1.0
        self._track.unit_mm = unit
        self._settled_after_s = SETTLED_AFTER_S * math.sqrt(unit)
        self.moves.set_resolution(unit)

    async def _close(self) -> None:
        if self._quiet is not None:
            self._quiet.cancel()
        await self.link.close()

    async def close(self) -> None:
        # Closing lets go of the desk, and a release never re-arms a box that stopped on a
        # collision: only an explicit stop does.
        self._closing = True
        try:
            await super().close()
        finally:
            self._closing = False

    def _write(self, frame: bytes) -> None:
        self.link.write(frame)

    async def _ask(self, frame: bytes, reply: int, *, needed: bool = True) -> bytes | None:
        """Send ``frame`` and return the payload of its ``reply``, asking again if the line
        loses either; an unanswered question is None, or TimeoutError if ``needed``."""
        asked = 0
        while asked < self._ask_attempts():
            asked += 1
            future = self._expect(reply)
            self._write(frame)
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT_S):
                    return await future
            except TimeoutError:
                log.info("no answer to %s on %s; asking again", frame.hex(" "), self.address)
        if needed:
            raise TimeoutError
        return None

    def _noisy(self) -> bool:
        """The line has damaged or lost bytes."""
        return bool(self._parser.stats.bad_checksums or self._parser.stats.dropped_bytes)

    def _ask_attempts(self) -> int:
        return NOISY_ASK_ATTEMPTS if self._noisy() else ASK_ATTEMPTS

    def _expect(self, reply: int) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._answers[reply] = future
        return future

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
        return round(tenths * MM_PER_INCH / 10, 2) if self.inches else float(tenths)

    def _tenths(self, mm: float) -> int:
        return round(mm / MM_PER_INCH * 10 if self.inches else mm)

    def _on_data(self, data: bytes) -> None:
        frames = self._parser.feed(data)
        if frames:
            self._unanswered = 0
        for frame in frames:
            if not codec.well_formed(frame):
                self.misshapen += 1  # damaged on the line, yet with a checksum that fits
                continue
            waiting = self._answers.pop(frame.op, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(frame.payload)
            with contextlib.suppress(ProtocolError):
                self._handle(frame)
        if frames and self.state.link is not Link.DISCONNECTED:
            self._listen()

    def _handle(self, frame: codec.Frame) -> None:
        if frame.op == codec.Reply.HEIGHT:
            raw = codec.decode_height(frame.payload)
            if not self._units_known:
                self._raw_height = raw  # tenths of what, the box has not said yet
            else:
                self._on_height(self._mm(raw))
        elif frame.op in codec.PRESET_REPLIES:
            slot = codec.PRESET_REPLIES[codec.Reply(frame.op)]
            self._raw_presets[slot] = codec.decode_height(frame.payload)
        elif frame.op == codec.Reply.ERROR and frame.payload:
            self._on_error(frame.payload[0])
        elif frame.op == codec.Reply.NEEDS_RESET:
            self._raise_fault(
                Fault.CONTROLLER,
                "the desk needs a reset: hold DOWN on its handset until it shows RST, "
                "then until it has moved to the bottom",
            )

    def _on_error(self, code: int) -> None:
        now, seen = self.clock.now(), self._error_seen
        if self._noisy() and not (seen and seen[0] == code and now - seen[1] <= ERROR_CONFIRM_S):
            # On a line that damages frames, one may pass its checksum as an error: believe
            # it when the box says it again, which a box in trouble does when asked.
            self._error_seen = (code, now)
            with contextlib.suppress(ConnectionLost):
                self._write(codec.encode(codec.Op.SETTINGS))
            return
        self._error_seen = None
        shown = codec.error_name(code)
        if code in COLLISION_CODES:
            # An overloaded motor: the box stopped (and backed off) as on a collision.
            self._raise_fault(Fault.COLLISION, f"the desk shows {shown}: it ran into something")
            self._collision_shown.set()
        elif code == codec.OVERHEATED:
            self._raise_fault(Fault.OVERHEATED, f"the desk shows {shown}")
        elif code == LOCKED:
            self._raise_fault(
                Fault.CONTROLLER, "the desk is locked (it shows LOCK): unlock it on its handset"
            )
        else:
            self._raise_fault(Fault.CONTROLLER, f"the desk shows {shown}")

    def _raise_fault(self, fault: Fault, detail: str) -> None:
        if self._fault is fault and self.state.fault is fault:
            return  # the box says it again: nothing new
        self._fault = fault
        self._publish(self.state.but(fault=fault, detail=detail, timestamp=self.clock.now()))

    def _on_height(self, height_mm: float) -> None:
        now = self.clock.now()
        heard = self._track.hear(height_mm, now)
        last = self.state
        if heard is Heard.DOUBTED:
            log.debug("set aside an unlikely height %.1f mm from %s", height_mm, self.address)
        elif heard is Heard.NEW or last.link is not Link.CONNECTED:
            speed = self._track.speed()
            self._check_reversal(speed)
            moving = last.moving or heard is Heard.NEW
            self._publish(
                DeskState(height_mm, speed, moving, self._fault, Link.CONNECTED, now).but(
                    detail=last.detail if self._fault is not None else ""
                )
            )
            if moving:
                self._motion_seen.set()
        elif last.moving and now - self._track.changed_at >= self._settled_after_s:
            # Still for a while, and a fresh report says so: at rest. The way it was sent
            # is over: the next motion may be the handset's, which is no collision.
            self._settled_at = now
            self._heading = 0
            self._publish(last.but(moving=False, speed_mm_s=0.0, timestamp=now))

    def _check_reversal(self, speed: float) -> None:
        if self._heading and speed * self._heading < -REVERSAL_MM_S:
            self._reversals += 1
            if self._reversals >= 2 and self._fault is None:
                # Driving one way and moving the other: a box that says nothing of
                # collisions is backing off from one.
                self._heading = 0
                self._fault = Fault.COLLISION
        else:
            self._reversals = 0

    # -- watching a moving desk ---------------------------------------------------------------

    def _busy(self) -> bool:
        """The desk moves, or was told to and has not settled or refused since."""
        now = self.clock.now()
        told = self._commanded_at > self._settled_at and now - self._commanded_at < COMMAND_LAPSES_S
        return self.state.link is Link.CONNECTED and (self.state.moving or told)

    def _listen(self) -> None:
        """While the desk is busy, a line quiet for a moment gets a question: where is it?
        A fresh report settles a desk that stood still; a box that answers nothing, question
        after question, has stopped answering."""
        if self._quiet is not None:
            self._quiet.cancel()
            self._quiet = None
        if self._busy():
            self._quiet = asyncio.get_running_loop().call_later(QUIET_S, self._on_quiet)

    def _on_quiet(self) -> None:
        self._quiet = None
        if not self._busy():
            return
        if self._unanswered >= SILENT_AFTER_QUESTIONS:
            self._stopped_answering()
            return
        self._unanswered += 1
        with contextlib.suppress(ConnectionLost):
            # On a noisy line twice, so that it rarely loses both answers.
            self._write(codec.encode(codec.Op.SETTINGS) * (2 if self._noisy() else 1))
        self._quiet = asyncio.get_running_loop().call_later(QUIET_S, self._on_quiet)

    def _stopped_answering(self) -> None:
        log.warning("%s stopped answering", self.address)
        if self._fault is not Fault.COLLISION:
            with contextlib.suppress(ConnectionLost):
                self._send_stop()  # it may still hear
        detail = f"the control box on {self.address} stopped answering"
        self._publish(self.state.but(link=Link.LOST, moving=False, speed_mm_s=0.0, detail=detail))
        self._fail_motion(
            ConnectionLost(
                f"{detail}; the desk may still be moving: check the box's power and the "
                f"{self.medium}"
            )
        )

    def _commanded(self, direction: int) -> None:
        self._heading = direction
        self._reversals = 0
        now = self.clock.now()
        if not self._busy():
            self._track.anchor(now)  # the desk stood here until now
        self._commanded_at = now
        self._listen()

    async def _until_at_rest(self) -> None:
        """Wait (a bounded time) for the desk to come to rest, so that its state says where
        it stopped; stop it again while it runs on, in case the line lost the stop."""
        motion = self._motion
        if (
            motion is not None
            and not motion.done()
            and not motion.cancelling()
            and motion is not asyncio.current_task()
        ):
            return  # a stop from elsewhere: the move it ends waits for the rest itself
        now = self.clock.now()
        deadline, again = now + REST_WAIT_S, now + STOP_AGAIN_S
        at_stop = self.state.speed_mm_s
        with self.subscribe() as states:
            while self.state.moving and self.state.link is Link.CONNECTED and now < deadline:
                if now >= again:
                    if self._runs_on(at_stop):
                        self._send_stop()
                    again = now + STOP_AGAIN_S
                await states.next(timeout=min(again, deadline) - now)
                now = self.clock.now()

    def _runs_on(self, speed_at_stop: float) -> bool:
        """Whether the desk still runs as it did when it was told to stop: the line lost the
        stop.  Not when it brakes, and never when it has stopped on (or backs off from) a
        collision: another stop would re-arm the box."""
        if self._fault is Fault.COLLISION or not speed_at_stop:
            return False
        return self.state.speed_mm_s / speed_at_stop >= RUNS_ON_SHARE

    def _send_stop(self) -> None:
        # Twice: on a noisy line one may be lost, and a second stop is harmless.
        stop = codec.encode(codec.Op.STOP)
        self._write(stop + stop)
        self._commanded_at = -math.inf

    # -- motion primitives --------------------------------------------------------------------

    async def send_target(self, height_mm: float) -> None:
        self._commanded(1 if height_mm > self.state.height_mm else -1)
        self._write(codec.move_to(self._tenths(height_mm)))

    async def offer_target(self, height_mm: float) -> bool:
        """Send a move-to until the box takes it: it echoes the target or starts moving."""
        way = 1 if height_mm > self.state.height_mm else -1
        return await self._until_taken(
            codec.move_to(self._tenths(height_mm)), codec.Reply.TARGET, way
        )

    async def _until_taken(self, command: bytes, reply: int, way: int) -> bool:
        """Send a motion command until the box takes it (it sends ``reply``, or the desk sets
        off), as often as a question is asked; False when it never does, or refuses and
        says why (a fault)."""
        sent = 0
        while sent < self._ask_attempts() and self._fault is None:
            sent += 1
            answer = self._expect(reply)
            self._motion_seen.clear()
            self._commanded(way)
            self._write(command)
            if await _first(ANSWER_TIMEOUT_S, answer, self._motion_seen.wait()):
                return True
        return False

    async def press(self, direction: Direction) -> None:
        if self._fault is Fault.COLLISION:
            return  # the box ignores steps until a stop: it would only repeat its error
        self._commanded(int(direction))
        self._write(codec.encode(codec.Op.UP if direction is Direction.UP else codec.Op.DOWN))

    async def nudge(self, direction: Direction) -> DeskState:
        if self._fault is Fault.COLLISION:
            return self.state
        with self.subscribe() as states:
            self._commanded(int(direction))
            # The same step frame a few times back to back: a noisy line rarely loses them
            # all, and those that arrive extend the step by milliseconds only.
            step = codec.encode(codec.Op.UP if direction is Direction.UP else codec.Op.DOWN)
            self._write(step * NUDGE_COPIES)
            moved = False
            while True:
                state = await states.next(timeout=NUDGE_WAIT_S)
                if state is None or state.fault is not None or state.link is not Link.CONNECTED:
                    break
                moved = moved or state.moving
                if moved and not state.moving:
                    break
        self._heading = 0
        return self.state

    async def release(self) -> None:
        """Let go: stop the motor, but never with the stop that re-arms a box that stopped
        on a collision (that is for an explicit stop)."""
        self._heading = 0
        if self._fault is Fault.COLLISION or not self._busy():
            return
        self._send_stop()
        await self._until_at_rest()

    async def _halt(self) -> None:
        if self._closing:
            await self.release()
            return
        self._heading = 0
        self._send_stop()
        fault, self._fault = self._fault, None
        if fault is not None:
            # A stop is the user's word that the way is clear; a box still in
            # trouble says so again at the next move.
            self._publish(self.state.but(fault=None, detail=""))
        if fault is Fault.COLLISION:
            await self._until_rearmed()
        await self._until_at_rest()

    async def _until_rearmed(self) -> None:
        """A box that stopped on a collision shows it until a stop reaches it: once the stop
        has had time to act, ask, and stop again while it still shows it (the line may have
        lost the stop).  A box still showing it after that keeps the fault."""
        for attempt in range(REARM_ATTEMPTS):
            await self.clock.sleep(REARM_CHECK_AFTER_S)
            self._collision_shown.clear()
            if await self._ask(codec.encode(codec.Op.SETTINGS), codec.Reply.HEIGHT, needed=False):
                await _first(ANSWER_TIMEOUT_S, self._collision_shown.wait())
            if self._fault is not Fault.COLLISION or attempt == REARM_ATTEMPTS - 1:
                return
            self._fault = None
            self._publish(self.state.but(fault=None, detail=""))
            self._send_stop()

    async def move_to_roughly(self, height_mm: float) -> DeskState:
        if self.strategy is self.moves and self.moves.native:
            raise Unsupported(
                "this Jiecang box drives to a height by itself: there is nothing to calibrate"
            )
        return await super().move_to_roughly(height_mm)

    # -- presets ------------------------------------------------------------------------------

    @property
    def presets_mm(self) -> dict[int, float | None]:
        return {
            slot: self._mm(self._raw_presets[slot]) if self._raw_presets.get(slot) else None
            for slot in range(1, 5)
        }

    async def _read_presets(self) -> dict[int, float | None]:
        return self.presets_mm

    async def _recall_preset(self, slot: int) -> DeskState:
        """Press the preset's key: the box drives there itself, with its soft start and stop."""
        target = self.presets_mm[slot]
        if target is None:
            raise Unsupported(f"memory preset {slot} is empty on this desk")
        self.limits.check(target, self.unit)
        self._check_duty(abs(target - self.state.height_mm))
        if abs(target - self.state.height_mm) <= self.moves.exact_mm:
            return self.state  # the box drives to its presets itself: only a unit off counts

        async def go() -> DeskState:
            with self.subscribe() as states:
                way = 1 if target > self.state.height_mm else -1
                command = codec.encode(codec.GOTO_OPS[slot])
                if await self._until_taken(command, codec.Reply.GOING_TO_PRESET, way):
                    return await follow(self, states)
            if self._fault is not None:
                return self.state
            raise MoveFailed(f"the desk did not start for memory preset {slot}")

        final = await self._run_motion(go)
        if final.fault is not None:
            raise self._fault_error(final)
        return final

    async def _save_preset(self, slot: int) -> None:
        await self._ask(codec.encode(codec.SAVE_OPS[slot]), codec.PRESET_REPLIES_BY_SLOT[slot])


async def _first(within_s: float, *waits: Awaitable[object]) -> bool:
    """Whether any of ``waits`` finishes within ``within_s`` seconds (the rest are cancelled)."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        done, _ = await asyncio.wait(tasks, timeout=within_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
    return bool(done)
