"""The simulated desk, ``sim://NAME``: the desk deskctl uses when none is configured.

It runs the core motor model in-process, so it moves with realistic ramps,
coasting, limits, obstacles and duty cycle.  Its height, presets and faults
live in a small JSON file in the state directory, so consecutive commands
(``deskctl stand`` then ``deskctl status``) see the same desk.  URL options
change its physics, e.g. ``sim://lab?speed=10&strategy=hold&obstacle=800``.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

from deskctl.atomic import write_atomic
from deskctl.clock import Clock, LoopClock
from deskctl.desk import Desk
from deskctl.drivers.motor_loop import MotorLoop
from deskctl.drivers.url_options import take_physics
from deskctl.duty import DutyCycle
from deskctl.errors import StorageError, UnknownDeskURL
from deskctl.model import Capabilities, DeskInfo, DeskState, Direction, Fault
from deskctl.motion import HoldAndWatch, MotionStrategy, NativeMoveTo
from deskctl.physics import MotorModel, MotorParams

FAMILY = "simulated"
PRESET_SLOTS = 4
# Like a Linak controller, the simulated one stops if a held button is not repeated in time.
DEADMAN_S = 1.0
# While moving, the state file is refreshed this often, so a killed process leaves a close height.
SAVE_EVERY_S = 1.0


class SimDesk(Desk):
    """A desk made of the motor model, optionally remembered in ``state_file``."""

    def __init__(
        self,
        name: str = "default",
        params: MotorParams | None = None,
        *,
        state_file: Path | None = None,
        clock: Clock | None = None,
        strategy: MotionStrategy | None = None,
        height_mm: float | None = None,
        obstacle_mm: float | None = None,
    ) -> None:
        self.params = params or MotorParams()
        super().__init__(
            info=DeskInfo(family=FAMILY, address=name, name=f"Simulated desk {name}", model="sim"),
            limits=self.params.limits,
            capabilities=Capabilities(
                native_move_to=True,
                memory_presets=PRESET_SLOTS,
                can_save_presets=True,
                reports_speed=True,
                nominal_speed_mm_s=self.params.top_speed_mm_s,
            ),
            strategy=strategy,
            clock=clock,
            duty=DutyCycle(self.params.duty_window_s, self.params.duty_on_s),
        )
        self.report_interval_s = self.params.report_interval_s
        self.model = MotorModel(self.params, height_mm or 720.0, obstacle_mm=obstacle_mm)
        self._state_file = state_file
        self._presets: dict[int, float | None] = dict.fromkeys(range(1, PRESET_SLOTS + 1))
        # Runs only while the motor runs: an idle simulated desk wakes nobody.
        self.loop = MotorLoop(self.model, self.clock, self._on_tick, self._save_in_motion)
        self._saved_at = 0.0
        self._saved_text = ""

    # -- lifecycle ----------------------------------------------------------------------------

    async def _open(self) -> None:
        now = self.clock.now()
        self.model.now = now
        if self._state_file is not None:
            self._load(self._state_file, now)
        self._report()

    async def _close(self) -> None:
        await self.loop.stop()
        self._save()

    # -- primitives ---------------------------------------------------------------------------

    async def send_target(self, height_mm: float) -> None:
        self._command(lambda now: self.model.move_to(height_mm, now))

    async def press(self, direction: Direction) -> None:
        self._command(lambda now: self.model.drive(direction, now, hold_s=DEADMAN_S))

    async def release(self) -> None:
        self._command(self.model.release)

    async def _halt(self) -> None:
        self._command(self.model.stop)

    async def _read_presets(self) -> dict[int, float | None]:
        return dict(self._presets)

    async def _save_preset(self, slot: int) -> None:
        self._presets[slot] = round(self.model.height_mm, 1)
        self._save()

    # -- the controller's clock ---------------------------------------------------------------

    def _command(self, action: Any) -> None:
        action(self.clock.now())
        self._report()
        self.loop.kick()

    def _on_tick(self) -> None:
        self._report()
        if self.clock.now() - self._saved_at >= SAVE_EVERY_S:
            self._save_in_motion()

    def _report(self) -> None:
        model = self.model
        model.advance(self.clock.now())
        self._publish(
            DeskState(
                height_mm=round(model.height_mm, 1),
                speed_mm_s=round(model.speed_mm_s, 1),
                moving=model.busy,
                fault=model.fault,
                timestamp=model.now,
            )
        )

    # -- persistence --------------------------------------------------------------------------

    def _load(self, path: Path, now: float) -> None:
        try:
            self._saved_text = path.read_text()
            data = json.loads(self._saved_text)
        except (OSError, ValueError):
            return  # a missing or damaged simulator file just means a fresh simulated desk
        offset = now - time.time()
        with contextlib.suppress(KeyError, TypeError, ValueError):
            self.model.height_mm = self.params.limits.clamp(float(data["height_mm"]))
            self.model.duty.runs = [(s + offset, e + offset) for s, e in data.get("duty_runs", [])]
            for slot, height in data.get("presets", {}).items():
                if int(slot) in self._presets and height is not None:
                    self._presets[int(slot)] = float(height)
            if data.get("fault"):
                clears = data.get("fault_clears_at")
                self.model.latch(Fault(data["fault"]), None if clears is None else clears + offset)

    def _save_in_motion(self) -> None:
        """A save from the motor's loop: a full disk must not stop the simulated motor
        (the move would end as a desk fault); the save at close says it, once."""
        with contextlib.suppress(StorageError):
            self._save()

    def _save(self) -> None:
        if self._state_file is None:
            return
        now = self.clock.now()
        offset = time.time() - now
        model = self.model
        clears = model.fault_clears_at
        data = {
            "height_mm": round(model.height_mm, 1),
            "presets": {str(k): v for k, v in self._presets.items()},
            "fault": None if model.fault is None else model.fault.value,
            # Wall-clock seconds, rounded so that an unchanged desk saves unchanged text.
            "fault_clears_at": None if clears is None else round(clears + offset, 1),
            "duty_runs": [(round(s + offset, 1), round(e + offset, 1)) for s, e in model.duty.runs],
        }
        text = json.dumps(data)
        if text != self._saved_text:  # a desk that did not move costs no disk write
            write_atomic(self._state_file, text.encode())
            self._saved_text = text
        self._saved_at = now


def from_url(name: str, options: dict[str, str], state_file: Path | None) -> SimDesk:
    """Build a simulated desk from ``sim://NAME?option=value&...``."""
    options = dict(options)
    physics = take_physics("sim", options, others=("strategy",))
    strategy_name = options.pop("strategy", "native")
    strategies: dict[str, type[MotionStrategy]] = {"native": NativeMoveTo, "hold": HoldAndWatch}
    if strategy_name not in strategies:
        raise UnknownDeskURL(f"sim:// strategy must be 'native' or 'hold', not {strategy_name!r}")
    return SimDesk(
        name,
        physics.params,
        state_file=state_file,
        clock=LoopClock(physics.speed),
        strategy=strategies[strategy_name](),
        height_mm=physics.height_mm,
        obstacle_mm=physics.obstacle_mm,
    )
