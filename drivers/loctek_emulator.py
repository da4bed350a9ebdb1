"""An emulated Loctek Motion control box (FlexiSpot) on a serial line at 9600 baud.

The box has no move-to-height: a handset holds UP or DOWN (it streams its
buttons every ~40 ms; a key counts as held while frames keep coming), and the
box shows the height on three seven-segment digits, 0.1 cm below 100 cm and
whole centimetres above (or inches).  The screen sleeps after a while and
shows nothing until woken.  Presets 1-4 recall stored heights; M then a
preset stores one.  Errors show as codes (E01...), the duty-cycle cut-out as
HOT; after hitting something the box backs off and shows where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deskctl.clock import Clock, LoopClock
from deskctl.drivers import loctek_codec as codec
from deskctl.drivers.motor_loop import MotorLoop
from deskctl.drivers.serial_box import LineFaults, SerialBox
from deskctl.model import Direction, Fault
from deskctl.physics import MotorModel, MotorParams


@dataclass
class LoctekOptions:
    # Loctek boxes react late to a released key: about half a second (see the firmware note).
    params: MotorParams = field(
        default_factory=lambda: MotorParams(
            min_mm=620.0, max_mm=1270.0, stop_latency_s=0.3, coast_s=0.5, report_interval_s=0.05
        )
    )
    height_mm: float = 720.0
    inches: bool = False
    presets_mm: dict[int, float] = field(default_factory=dict)
    key_hold_s: float = 0.15
    """A held key is released when no frame repeats it for this long."""
    screen_timeout_s: float = 10.0
    obstacle_mm: float | None = None
    line: LineFaults = field(default_factory=LineFaults)


class LoctekEmulator(SerialBox):
    def __init__(self, options: LoctekOptions | None = None, clock: Clock | None = None) -> None:
        self.options = options or LoctekOptions()
        self.clock = clock or LoopClock()
        self.model = MotorModel(
            self.options.params, self.options.height_mm, obstacle_mm=self.options.obstacle_mm
        )
        self.presets: dict[int, float | None] = {
            slot: self.options.presets_mm.get(slot) for slot in range(1, 5)
        }
        self.screen_on_until = 0.0
        self.faults = self.options.line
        self.received: list[codec.Frame] = []
        self._parser = codec.FrameParser()
        self.loop = MotorLoop(self.model, self.clock, self._show, lambda: self._show(force=True))
        self._memory_armed = False
        self._shown = ""
        self.error: str | None = None
        """An error code the box shows (``E01``...) and stays in until power is cut."""

    def show_error(self, code: str) -> None:
        """The controller fails (a motor cable comes loose, say): it stops and shows ``code``."""
        self.model.stop(self.clock.now())
        self.error = code
        self._show()

    def display(self) -> str:
        """What the three digits show now."""
        now = self.clock.now()
        self.model.advance(now)
        if now >= self.screen_on_until and not self.model.busy:
            return "   "
        if self.model.fault is Fault.OVERHEATED:
            return codec.OVERHEATED_TEXT
        if self.error is not None:
            return self.error
        return codec.display_text(self.model.height_mm, self.options.inches)

    # -- the handset line ---------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        for frame in self._parser.feed(data):
            self.received.append(frame)
            if frame.kind == codec.Type.BUTTONS and len(frame.payload) == 2:
                self._buttons(codec.Button(int.from_bytes(frame.payload, "little")))

    def _buttons(self, pressed: codec.Button) -> None:
        now, model = self.clock.now(), self.model
        awake = now < self.screen_on_until
        self.screen_on_until = now + self.options.screen_timeout_s
        if pressed == codec.Button.NONE:
            # No key: the wake-up frame, and it also ends any motion.
            if model.busy:
                model.release(now)
        elif not awake:
            pass  # the first press only wakes the screen
        elif (
            pressed & (codec.Button.UP | codec.Button.DOWN)
            and model.fault is None
            and not self.error
        ):
            direction = Direction.UP if pressed & codec.Button.UP else Direction.DOWN
            model.drive(direction, now, hold_s=self.options.key_hold_s)
        elif pressed & codec.Button.MEMORY:
            self._memory_armed = True
        else:
            for slot, button in codec.PRESETS.items():
                if pressed & button:
                    self._preset(slot, now)
        if model.fault is Fault.COLLISION and pressed == codec.Button.NONE:
            model.stop(now)
        self._show(force=not awake)  # a waking screen shows itself; then only changes
        self._kick()

    def _preset(self, slot: int, now: float) -> None:
        if self._memory_armed:
            self.presets[slot] = self.model.height_mm
            self._memory_armed = False
        elif self.presets[slot] is not None:
            self.model.move_to(self.presets[slot] or 0.0, now)

    # -- the box's loop -----------------------------------------------------------------------

    def _kick(self) -> None:
        self.loop.kick()

    def _show(self, force: bool = False) -> None:
        text = self.display()
        if self.plugged and (force or text != self._shown):
            self._shown = text
            self.transmit(codec.encode(codec.Type.DISPLAY, codec.encode_display(text)))
