"""An emulated Loctek Motion control box (FlexiSpot) on a serial line at 9600 baud.

The box has no move-to-height: a handset holds UP or DOWN (it streams its
buttons every ~40 ms; a key counts as held while frames keep coming), and the
box shows the height on three seven-segment digits, 0.1 cm below 100 cm and
whole centimetres above (or inches).  The screen sleeps after a while and
shows nothing until woken; a no-key frame wakes it and is answered with the
screen.  Presets 1-4 recall stored heights; M then a preset stores one, and
the screen confirms it (``S-1``...).  Errors show as codes (E01...), the
duty-cycle cut-out as HOT; after hitting something the box backs off and
shows where it stopped.

Boxes differ, and :meth:`LoctekOptions.seeded` draws one from the range the
sources describe: how often the display is sent (on change only, or repeated
while the screen is on, with or without the type 0x11 heartbeat), how long
the screen stays on and takes to wake, how late the motor reacts to a key and
to its release, ramp, braking, top speed, travel, whole-cm, tenths or inch
digits, and line noise.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from dataclasses import dataclass, field

from deskctl.clock import Clock, LoopClock
from deskctl.drivers import loctek_codec as codec
from deskctl.drivers.motor_loop import MotorLoop
from deskctl.drivers.serial_box import LineFaults, SerialBox
from deskctl.model import Direction, Fault
from deskctl.physics import MotorModel, MotorParams

BLANK = "   "


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
    whole_cm: bool = False
    """The digits show whole centimetres at every height (no tenths below 100 cm)."""
    presets_mm: dict[int, float] = field(default_factory=dict)
    key_hold_s: float = 0.15
    """A held key is released when no frame repeats it for this long."""
    screen_timeout_s: float = 10.0
    wake_s: float = 0.0
    """A sleeping screen lights up this long after the key that woke it, and ignores keys
    until then."""
    repeat_s: tuple[float, float] | None = None
    """While the screen is on, send the display again every so many seconds (drawn between
    the two), changed or not; None: only when it changes (and in answer to a wake)."""
    heartbeat_s: float | None = None
    """While the screen is on, send a type 0x11 frame this often."""
    start_delay_s: float = 0.0
    """The motor starts this long after the first UP or DOWN frame."""
    release_jitter_s: float = 0.0
    """A release takes effect up to this much later (the box reads its line on a cycle)."""
    memory_timeout_s: float = 5.0
    """M waits this long for the preset key before the screen shows the height again."""
    confirm_s: float = 1.0
    """How long ``S-1``... stays on the screen after a preset is stored."""
    obstacle_mm: float | None = None
    line: LineFaults = field(default_factory=LineFaults)
    seed: int = 0
    """Draws the repeat intervals and the release jitter."""

    @classmethod
    def seeded(cls, seed: int) -> LoctekOptions:
        """A box drawn from what the sources describe (see firmware-notes/loctek.md)."""
        draw = random.Random(seed)  # noqa: S311 (a test desk, not a secret)
        bottom = draw.uniform(620.0, 720.0)
        params = MotorParams(
            min_mm=bottom,
            max_mm=draw.uniform(1180.0, 1290.0),
            top_speed_mm_s=draw.uniform(25.0, 45.0),
            ramp_s=draw.uniform(0.3, 1.2),
            coast_s=draw.uniform(0.3, 1.0),
            stop_latency_s=draw.uniform(0.1, 0.6),
            report_interval_s=draw.uniform(0.02, 0.06),
        )
        digits = draw.choices(("tenths", "whole", "inches"), weights=(3, 1, 1))[0]
        repeats = draw.random() < 0.5
        first = draw.uniform(0.04, 0.07)
        noisy = draw.random() < 0.6
        line = (
            LineFaults(
                noise=draw.uniform(0.0, 0.05),
                drop=draw.uniform(0.0, 0.02),
                corrupt=draw.uniform(0.0, 0.05),
                seed=seed,
            )
            if noisy
            else LineFaults(seed=seed)
        )
        return cls(
            params=params,
            height_mm=draw.uniform(bottom + 20.0, bottom + 150.0),
            inches=digits == "inches",
            whole_cm=digits == "whole",
            screen_timeout_s=draw.uniform(5.0, 20.0),
            wake_s=draw.uniform(0.0, 0.3),
            repeat_s=(first, first + draw.uniform(0.0, 0.03)) if repeats else None,
            heartbeat_s=0.04 if repeats or draw.random() < 0.3 else None,
            start_delay_s=draw.uniform(0.0, 0.2),
            release_jitter_s=draw.uniform(0.0, 0.02),
            line=line,
            seed=seed,
        )


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
        self._random = random.Random(self.options.seed)  # noqa: S311 (a test desk)
        self.loop = MotorLoop(self.model, self.clock, self._show, self._at_rest)
        self._woke_at = -math.inf
        self._memory_until = -math.inf
        self._saved: tuple[int, float] | None = None
        self._held: tuple[Direction, float] | None = None
        """The key held now, and when it was last repeated."""
        self._released_at: float | None = None
        self._direction = Direction.UP
        self._starting: asyncio.Task[None] | None = None
        self._screen: asyncio.Task[None] | None = None
        self._next_repeat = math.inf
        self._next_beat = math.inf
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
        if not self._screen_on(now) or now < self._woke_at + self.options.wake_s:
            return BLANK
        if self.model.fault is Fault.OVERHEATED:
            return codec.OVERHEATED_TEXT
        if self.error is not None:
            return self.error
        if self._saved is not None and now < self._saved[1]:
            return f"{codec.SAVE_TEXT}{self._saved[0]}"
        if now < self._memory_until:
            return f"{codec.SAVE_TEXT} "
        return codec.display_text(self.model.height_mm, self.options.inches, self.options.whole_cm)

    def _screen_on(self, now: float) -> bool:
        return now < self.screen_on_until or self.model.busy

    # -- the handset line ---------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        for frame in self._parser.feed(data):
            self.received.append(frame)
            if frame.kind == codec.Type.BUTTONS and len(frame.payload) == 2:
                self._buttons(codec.Button(int.from_bytes(frame.payload, "little")))

    def _buttons(self, pressed: codec.Button) -> None:
        now, model = self.clock.now(), self.model
        model.advance(now)
        asleep = not self._screen_on(now)
        self.screen_on_until = now + self.options.screen_timeout_s
        if asleep:
            self._woke_at = now  # the first key only wakes the screen
            self._kick_screen()
            return
        if now < self._woke_at + self.options.wake_s:
            return  # still waking: keys are not read yet
        if pressed == codec.Button.NONE:
            # No key: the wake-up, and it also ends any motion; the box answers with its screen.
            self._let_go(now)
            self._show(force=True)
        elif pressed & (codec.Button.UP | codec.Button.DOWN):
            self._hold(Direction.UP if pressed & codec.Button.UP else Direction.DOWN, now)
        elif pressed & codec.Button.MEMORY:
            self._memory_until = now + self.options.memory_timeout_s
        else:
            for slot, button in codec.PRESETS.items():
                if pressed & button:
                    self._preset(slot, now)
        self._show()
        self._kick_screen()
        self.loop.kick()

    def _let_go(self, now: float) -> None:
        self._held, self._released_at = None, now
        if self.model.fault is Fault.COLLISION:
            self.model.stop(now)  # keys are read again once they are let go
        if not self.model.busy:
            return
        jitter = self._random.uniform(0.0, self.options.release_jitter_s)
        if jitter <= 0:
            self.model.release(now)
            return

        def later() -> None:
            if self._held is None:  # no key since: the release stands
                self.model.release(self.clock.now())

        asyncio.get_running_loop().call_later(jitter / self._speed, later)

    def _hold(self, direction: Direction, now: float) -> None:
        self._held, self._released_at = (direction, now), None
        self._direction = direction
        if self.model.fault is not None or self.error:
            return
        if self.model.busy or self.options.start_delay_s <= 0:
            self.model.drive(direction, now, hold_s=self.options.key_hold_s)
        elif self._starting is None or self._starting.done():
            self._starting = asyncio.get_running_loop().create_task(self._start(now))

    async def _start(self, pressed_at: float) -> None:
        """The motor sets off ``start_delay_s`` after the key, for as long as it was held."""
        start = pressed_at + self.options.start_delay_s
        await self.clock.sleep(start - self.clock.now())
        held, released = self._held, self._released_at
        if held is not None:
            until = held[1] + self.options.key_hold_s
            if until > start and self.model.drive(held[0], start, hold_s=until - start):
                self.loop.kick()
        elif (
            released is not None
            and released + self.model.params.stop_latency_s > start
            and self.model.drive(self._direction, start)
        ):
            # Let go before the motor started: it runs until the release takes effect.
            self.model.release(released)
            self.loop.kick()

    def _cancel_start(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()

    def _preset(self, slot: int, now: float) -> None:
        if now < self._memory_until:
            self.presets[slot] = self.model.height_mm
            self._memory_until = -math.inf
            self._saved = (slot, now + self.options.confirm_s)
        elif self.presets[slot] is not None:
            self.model.move_to(self.presets[slot] or 0.0, now)

    # -- the box's loop -----------------------------------------------------------------------

    @property
    def _speed(self) -> float:
        return self.clock.speed if isinstance(self.clock, LoopClock) else 1.0

    def _at_rest(self) -> None:
        now = self.clock.now()
        self.screen_on_until = max(self.screen_on_until, now + self.options.screen_timeout_s)
        self._show(force=True)
        self._kick_screen()

    def _kick_screen(self) -> None:
        """(Re)start the screen's own timers: repeats, heartbeat, and changes no motor shows."""
        if self._screen is not None and not self._screen.done():
            self._screen.cancel()
        if self._send is not None:
            self._screen = asyncio.get_running_loop().create_task(self._run_screen())

    async def _run_screen(self) -> None:
        options, now = self.options, self.clock.now()
        if options.repeat_s is not None and self._next_repeat == math.inf:
            self._next_repeat = now + self._random.uniform(*options.repeat_s)
        if options.heartbeat_s is not None and self._next_beat == math.inf:
            self._next_beat = now + options.heartbeat_s
        while self._screen_on(now):
            changes = (
                self.screen_on_until,
                self._woke_at + options.wake_s,
                self._memory_until,
                self._saved[1] if self._saved else -math.inf,
            )
            due = [max(now, moment) for moment in (self._next_repeat, self._next_beat)]
            due = [moment for moment in (*due, *changes) if now <= moment < math.inf]
            if not due:
                return  # nothing to show until the motor stops (which kicks this again)
            await self.clock.sleep(min(due) - now + 1e-4)
            now = self.clock.now()
            if now >= self._next_beat:
                self.transmit(codec.encode(codec.Type.HEARTBEAT))
                self._next_beat = max(self._next_beat + (options.heartbeat_s or 0.0), now)
            repeat = now >= self._next_repeat and options.repeat_s is not None
            if repeat and options.repeat_s is not None:
                self._next_repeat = now + self._random.uniform(*options.repeat_s)
            self._show(force=repeat)
        self._show()  # the screen goes dark
        self._next_repeat = self._next_beat = math.inf

    def _show(self, force: bool = False) -> None:
        text = self.display()
        if self.plugged and (force or text != self._shown):
            self._shown = text
            self.transmit(codec.encode(codec.Type.DISPLAY, codec.encode_display(text)))

    async def settled(self) -> None:
        if self._starting is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._starting)
        await super().settled()

    async def stop(self) -> None:
        for task in (self._screen, self._starting):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await super().stop()
