"""An emulated Jiecang control box on a serial line (a pseudo-terminal at 9600 baud)
or behind a BLE adapter (:mod:`deskctl.drivers.jiecang_ble_emulator`).

State is the core motor model; the service speaks Jiecang frames: height
reports, move-to-height (unless the box is an older one with presets and
steps only), steps that run the motor briefly, stop, units, limits, four
presets, and E/H error codes.  Options (or a seed, see
:mod:`deskctl.drivers.jiecang_variants`) shape it: how often it reports,
how late it reacts, what it answers and refuses, how it tells of a
collision, and how noisy its line is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from deskctl.clock import Clock, LoopClock
from deskctl.drivers import jiecang_codec as codec
from deskctl.drivers.motor_loop import MotorLoop
from deskctl.drivers.serial_box import ByteNoise, LineFaults, SerialBox
from deskctl.model import Direction, Fault
from deskctl.physics import MotorModel, MotorParams

MM_PER_INCH = 25.4
GOTO_SLOTS: dict[int, int] = {op: slot for slot, op in codec.GOTO_OPS.items()}
SAVE_SLOTS: dict[int, int] = {op: slot for slot, op in codec.SAVE_OPS.items()}
MOTION_OPS = {codec.Op.UP, codec.Op.DOWN, codec.Op.STOP, codec.Op.MOVE_TO, *GOTO_SLOTS}


class Cadence(Enum):
    """When the box sends its height without being asked."""

    MOVING = "moving"
    """Every report interval while the motor runs, once at rest, then nothing."""
    CHANGE = "change"
    """Only when the height it shows changes."""
    REPEAT = "repeat"
    """Every report interval while the motor runs and for ``awake_s`` after, changed or not."""


@dataclass
class JiecangOptions:
    # Jiecang boxes ramp softly and take about 19 mm to stop from full speed.
    params: MotorParams = field(
        default_factory=lambda: MotorParams(min_mm=650.0, max_mm=1300.0, coast_s=1.0)
    )
    height_mm: float = 720.0
    inches: bool = False
    move_to: bool = True
    """Older serial boxes have only presets and steps."""
    presets_mm: dict[int, float] = field(default_factory=dict)
    step_s: float = 0.3
    """How long one UP or DOWN frame runs the motor; a held key repeats it."""
    obstacle_mm: float | None = None
    line: LineFaults = field(default_factory=LineFaults)
    noise: ByteNoise = field(default_factory=ByteNoise)
    """Bytes corrupted or lost on the line, both ways."""
    cadence: Cadence = Cadence.MOVING
    awake_s: float = 0.0
    """With ``Cadence.REPEAT``: how long the reports go on after the motor stops."""
    reaction_s: float = 0.0
    """How late the box acts on a motion command (a stop too)."""
    collision_code: int | None = None
    """The E code (01-04: a motor's overcurrent) shown on a collision; None shows nothing."""
    latched: bool = False
    """The box starts stopped on a collision, ignoring moves until a stop."""
    answers_units: bool = True
    rejects_out_of_range: bool = False
    """A move-to outside the limits is ignored (else the box drives to the nearest limit)."""


class JiecangEmulator(SerialBox):
    def __init__(self, options: JiecangOptions | None = None, clock: Clock | None = None) -> None:
        self.options = options or JiecangOptions()
        self.clock = clock or LoopClock()
        self.model = MotorModel(
            self.options.params, self.options.height_mm, obstacle_mm=self.options.obstacle_mm
        )
        if self.options.latched:
            self.model.latch(Fault.COLLISION)
        self.presets: dict[int, float | None] = {
            slot: self.options.presets_mm.get(slot) for slot in range(1, 5)
        }
        self.received: list[codec.Frame] = []
        self._parser = codec.FrameParser(header=codec.HOST_HEADER)
        self.loop = MotorLoop(self.model, self.clock, self._on_tick, self._on_rest)
        self._reported_fault: Fault | None = self.model.fault
        self.error_code: int | None = None
        """The E code of a controller failure, shown until the box loses power."""
        self.faults = self.options.line
        self._noise_out = self.options.noise
        self._noise_in = self.options.noise.other_way()
        self.muted = False
        """The box has stopped talking (it still hears and moves)."""
        self._shown: int | None = None
        self._pending: deque[tuple[float, codec.Frame]] = deque()
        self._reactor: asyncio.Task[None] | None = None
        self._awake: asyncio.Task[None] | None = None

    def show_error(self, code: int) -> None:
        """The controller fails (E07 is a broken hall sensor, say): it stops and reports it."""
        self.model.stop(self.clock.now())
        self.model.latch(Fault.CONTROLLER)
        self.error_code = code
        self._show_fault()

    def _fault_code(self) -> int | None:
        fault = self.model.fault
        if fault is Fault.OVERHEATED:
            return codec.OVERHEATED
        if fault is Fault.COLLISION:
            return self.options.collision_code
        return self.error_code if fault is Fault.CONTROLLER else None

    def _show_fault(self) -> None:
        """What the display shows while the box refuses to move (a silent box shows nothing)."""
        code = self._fault_code()
        if code is not None:
            self._reply(codec.Reply.ERROR, bytes([code]))

    # -- units on the wire --------------------------------------------------------------------

    def _tenths(self, mm: float) -> int:
        return round(mm / MM_PER_INCH * 10 if self.options.inches else mm)

    def _mm(self, tenths: int) -> float:
        return tenths * MM_PER_INCH / 10 if self.options.inches else float(tenths)

    # -- service ------------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Bytes from the host, in any chunks (through the line's noise)."""
        for frame in self._parser.feed(self._noise_in.garble(data)):
            self.received.append(frame)
            self._handle(frame)

    def _handle(self, frame: codec.Frame) -> None:
        if frame.op not in MOTION_OPS:
            self._answer(frame)
        elif self.options.reaction_s > 0:
            self._pending.append((self.clock.now() + self.options.reaction_s, frame))
            if self._reactor is None or self._reactor.done():
                self._reactor = asyncio.get_running_loop().create_task(self._react())
            return
        else:
            self._move(frame)
        self._kick()

    async def _react(self) -> None:
        """Motion commands, each acted on ``reaction_s`` after it arrived, in order."""
        while self._pending:
            due, frame = self._pending[0]
            await self.clock.sleep(due - self.clock.now())
            self._pending.popleft()
            self._move(frame)
            self._kick()

    def _move(self, frame: codec.Frame) -> None:
        now, op, model = self.clock.now(), frame.op, self.model
        if op == codec.Op.STOP:
            model.stop(now)
            return
        if op in (codec.Op.UP, codec.Op.DOWN):
            direction = Direction.UP if op == codec.Op.UP else Direction.DOWN
            accepted = model.drive(direction, now, hold_s=self.options.step_s)
        elif op == codec.Op.MOVE_TO:
            if not self.options.move_to or len(frame.payload) != 2:
                return  # an older box does not know the command
            target = self._mm(codec.decode_height(frame.payload))
            if self.options.rejects_out_of_range and target not in model.params.limits:
                return
            accepted = model.move_to(target, now)
            if accepted:
                self._reply(codec.Reply.TARGET, frame.payload)
        else:
            slot = GOTO_SLOTS[op]
            height = self.presets[slot]
            accepted = height is None or model.move_to(height, now)
            if accepted and height is not None:
                self._reply(codec.Reply.GOING_TO_PRESET, bytes([0x04 << (slot - 1)]))
        if not accepted:
            self._show_fault()

    def _answer(self, frame: codec.Frame) -> None:
        op, model = frame.op, self.model
        if op in (codec.Op.WAKE, codec.Op.POLL):
            self._report_height()
            self._show_fault()
        elif op == codec.Op.SETTINGS:
            for reply, slot in codec.PRESET_REPLIES.items():
                height = self.presets[slot]
                self._reply(
                    reply, codec.encode_height(0 if height is None else self._tenths(height))
                )
            self._report_height()
            self._show_fault()
        elif op == codec.Op.LIMITS:
            params = model.params
            self._reply(
                codec.Reply.LIMITS,
                codec.encode_height(round(params.max_mm))
                + codec.encode_height(round(params.min_mm)),
            )
        elif op == codec.Op.UNITS and self.options.answers_units:
            self._reply(codec.Reply.UNITS, bytes([int(self.options.inches)]))
        elif op in SAVE_SLOTS:
            slot = SAVE_SLOTS[op]
            self.presets[slot] = model.height_mm
            self._reply(
                codec.PRESET_REPLIES_BY_SLOT[slot],
                codec.encode_height(self._tenths(model.height_mm)),
            )

    # -- the box's loop -----------------------------------------------------------------------

    def _kick(self) -> None:
        if self.model.busy and self._awake is not None:
            self._awake.cancel()
        self.loop.kick()
        self._report_fault()

    def _on_tick(self) -> None:
        if self.options.cadence is not Cadence.CHANGE or self._shown != self._shown_now():
            self._report_height()
        self._report_fault()

    def _on_rest(self) -> None:
        if self.options.cadence is Cadence.REPEAT and self.options.awake_s > 0:
            self._awake = asyncio.get_running_loop().create_task(self._stay_awake())

    async def _stay_awake(self) -> None:
        """The display stays on a while after a move, and the box keeps reporting it."""
        end = self.clock.now() + self.options.awake_s
        while self.clock.now() < end:
            await self.clock.sleep(self.options.params.report_interval_s)
            self._report_height()

    def _shown_now(self) -> int:
        self.model.advance(self.clock.now())
        return self._tenths(self.model.height_mm)

    def _report_height(self) -> None:
        self._shown = self._shown_now()
        self._reply(codec.Reply.HEIGHT, codec.encode_height(self._shown) + b"\x07")

    def _report_fault(self) -> None:
        fault = self.model.fault
        if fault is not None and self._reported_fault is not fault:
            self._show_fault()
        self._reported_fault = fault

    def _reply(self, op: int, payload: bytes) -> None:
        self.transmit(codec.encode_reply(op, payload))

    def transmit(self, frame: bytes) -> None:
        if not self.muted and self._send is not None:
            self._send(self._noise_out.garble(self.faults.garble(frame)))

    async def stop(self) -> None:
        for task in (self._reactor, self._awake):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await super().stop()
