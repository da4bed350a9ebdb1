"""An emulated Jiecang control box on a serial line (a pseudo-terminal at 9600 baud)
or behind a BLE adapter (:mod:`deskctl.drivers.jiecang_ble_emulator`).

State is the core motor model; the service speaks Jiecang frames: height
reports while the motor runs, move-to-height (unless the box is an older one
with presets and steps only), steps that run the motor briefly, stop, units,
limits, four presets, and E/H error codes.  On request the line misbehaves:
noise between frames, dropped bytes, bad checksums.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deskctl.clock import Clock, LoopClock
from deskctl.drivers import jiecang_codec as codec
from deskctl.drivers.motor_loop import MotorLoop
from deskctl.drivers.serial_box import LineFaults, SerialBox
from deskctl.model import Direction, Fault
from deskctl.physics import MotorModel, MotorParams

MM_PER_INCH = 25.4
GOTO_SLOTS: dict[int, int] = {op: slot for slot, op in codec.GOTO_OPS.items()}
SAVE_SLOTS: dict[int, int] = {op: slot for slot, op in codec.SAVE_OPS.items()}
MOTION_OPS = {codec.Op.UP, codec.Op.DOWN, codec.Op.STOP, codec.Op.MOVE_TO, *GOTO_SLOTS}


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


class JiecangEmulator(SerialBox):
    def __init__(self, options: JiecangOptions | None = None, clock: Clock | None = None) -> None:
        self.options = options or JiecangOptions()
        self.clock = clock or LoopClock()
        self.model = MotorModel(
            self.options.params, self.options.height_mm, obstacle_mm=self.options.obstacle_mm
        )
        self.presets: dict[int, float | None] = {
            slot: self.options.presets_mm.get(slot) for slot in range(1, 5)
        }
        self.received: list[codec.Frame] = []
        self._parser = codec.FrameParser(header=codec.HOST_HEADER)
        self.loop = MotorLoop(self.model, self.clock, self._on_tick)
        self._reported_fault: Fault | None = None
        self.error_code: int | None = None
        """The E code of a controller failure, shown until the box loses power."""
        self.faults = self.options.line

    def show_error(self, code: int) -> None:
        """The controller fails (E07 is a broken hall sensor, say): it stops and reports it."""
        self.model.stop(self.clock.now())
        self.model.latch(Fault.CONTROLLER)
        self.error_code = code
        self._refuse()

    def _refuse(self) -> None:
        """A move the box will not make: it shows why (a collision latch shows nothing)."""
        fault = self.model.fault
        code = codec.OVERHEATED if fault is Fault.OVERHEATED else self.error_code
        if fault is not None and code is not None:
            self._reply(codec.Reply.ERROR, bytes([code]))

    # -- units on the wire --------------------------------------------------------------------

    def _tenths(self, mm: float) -> int:
        return round(mm / MM_PER_INCH * 10 if self.options.inches else mm)

    def _mm(self, tenths: int) -> float:
        return tenths * MM_PER_INCH / 10 if self.options.inches else float(tenths)

    # -- service ------------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Bytes from the host, in any chunks."""
        for frame in self._parser.feed(data):
            self.received.append(frame)
            self._handle(frame)

    def _handle(self, frame: codec.Frame) -> None:
        if frame.op in MOTION_OPS:
            self._move(frame)
        else:
            self._answer(frame)
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
            self._reply(codec.Reply.TARGET, frame.payload)
            accepted = model.move_to(self._mm(codec.decode_height(frame.payload)), now)
        else:
            height = self.presets[GOTO_SLOTS[op]]
            accepted = height is None or model.move_to(height, now)
        if not accepted:
            self._refuse()

    def _answer(self, frame: codec.Frame) -> None:
        op, model = frame.op, self.model
        if op in (codec.Op.WAKE, codec.Op.POLL):
            self._report_height()
        elif op == codec.Op.SETTINGS:
            for reply, slot in codec.PRESET_REPLIES.items():
                height = self.presets[slot]
                self._reply(
                    reply, codec.encode_height(0 if height is None else self._tenths(height))
                )
            self._report_height()
        elif op == codec.Op.LIMITS:
            params = model.params
            self._reply(
                codec.Reply.LIMITS,
                codec.encode_height(round(params.max_mm))
                + codec.encode_height(round(params.min_mm)),
            )
        elif op == codec.Op.UNITS:
            self._reply(codec.Reply.UNITS, bytes([int(self.options.inches)]))
        elif op in SAVE_SLOTS:
            slot = SAVE_SLOTS[op]
            self.presets[slot] = model.height_mm
            self._reply(
                codec.PRESET_REPLIES_BY_SLOT[slot],
                codec.encode_height(self._tenths(model.height_mm)),
            )

    def _kick(self) -> None:
        self.loop.kick()
        self._report_fault()

    def _on_tick(self) -> None:
        self._report_height()
        self._report_fault()

    def _report_height(self) -> None:
        self.model.advance(self.clock.now())
        self._reply(
            codec.Reply.HEIGHT, codec.encode_height(self._tenths(self.model.height_mm)) + b"\x07"
        )

    def _report_fault(self) -> None:
        fault = self.model.fault
        if fault is Fault.OVERHEATED and self._reported_fault is not fault:
            self._reply(codec.Reply.ERROR, bytes([codec.OVERHEATED]))
        self._reported_fault = fault

    def _reply(self, op: int, payload: bytes) -> None:
        self.transmit(codec.encode_reply(op, payload))
