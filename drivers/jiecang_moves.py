"""How deskctl moves a Jiecang box, and what it remembers about each box.

Most boxes drive to a height themselves (move-to, ``1B``); older ones only know
their presets and up/down steps.  Which kind a box is shows at its first move:
the move-to goes out, and a box that has it echoes the target or starts
moving.  One that does neither is moved by hold-and-watch on its steps, and
brought the last bit of the way by single steps, whose size it learns: that
is as close as such a box can be brought.  The answer and the step are kept
per box, so the question is asked once, and never by a command that only reads.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from deskctl.atomic import write_atomic
from deskctl.errors import MoveFailed, StorageError
from deskctl.model import DeskState, Direction, Link
from deskctl.motion import CoastModel, HoldAndWatch, MotionPort
from deskctl.stream import Subscription
from deskctl.units import format_height

log = logging.getLogger(__name__)

MAX_NUDGES = 6
MAX_MISSES = 3
STEPS_WORTH_A_HOLD = 3
KEEP_STEPS = 5
# A box that took a move starts within this; one that reports nothing for this long
# afterwards has stopped (the driver notices a silent box well before).
START_WAIT_S = 1.5
STALL_S = 3.0


@dataclass
class BoxMemory:
    """What was learned about one box, in a small JSON file (None: nothing is kept)."""

    path: Path | None
    move_to: bool | None = None
    step_mm: float | None = None

    def load(self) -> BoxMemory:
        if self.path is None:
            return self
        try:
            data = json.loads(self.path.read_text())
            move_to, step = data.get("move_to"), data.get("step_mm")
        except (OSError, ValueError, AttributeError):
            return self  # nothing learned yet, or a damaged file: learn again
        self.move_to = move_to if isinstance(move_to, bool) else None
        self.step_mm = float(step) if isinstance(step, int | float) and step > 0 else None
        return self

    def save(self) -> None:
        if self.path is None:
            return
        text = json.dumps({"move_to": self.move_to, "step_mm": self.step_mm})
        try:
            write_atomic(self.path, text.encode())
        except StorageError as error:
            log.warning("could not remember what was learned about the desk: %s", error)


class JiecangPort(MotionPort, Protocol):
    """What the strategy needs from the driver beyond a generic one."""

    async def offer_target(self, height_mm: float) -> bool:
        """Send a move-to until the box takes it; False if it never does."""

    async def nudge(self, direction: Direction) -> DeskState:
        """One step frame on its own; returns where the desk came to rest."""


async def follow(port: MotionPort, states: Subscription) -> DeskState:
    """Watch a move the box drives by itself until the desk has come to rest."""
    started = port.state.moving
    while True:
        state = await states.next(timeout=STALL_S if started else START_WAIT_S)
        if state is None:
            if not started:
                return port.state  # it took the move, but was there already
            raise MoveFailed("the desk stopped reporting its height during the move")
        if state.fault is not None or state.link is not Link.CONNECTED:
            return state
        if state.moving:
            started = True
        elif started:
            return state


class JiecangMoves(HoldAndWatch):
    """Moves a box by its own move-to when it has one, else by its steps."""

    def __init__(
        self,
        port: JiecangPort,
        memory: BoxMemory,
        *,
        told: bool | None,
        on_learned: Callable[[], None] = lambda: None,
    ) -> None:
        # A step-driven box brakes softly: about 19 mm from full speed.
        super().__init__(coast=CoastModel(latency_s=0.2, decel_mm_s2=35.0))
        self.port = port
        self.memory = memory
        self.told = told is not None
        self.native: bool | None = told if told is not None else memory.move_to
        self.step_mm = memory.step_mm
        self.resolution_mm = 1.0
        self._steps: list[float] = [] if self.step_mm is None else [self.step_mm]
        self._on_learned = on_learned
        self._fit_tolerance()

    def set_resolution(self, mm: float) -> None:
        """One step of the box's reported number: 1 mm, or a tenth of an inch."""
        self.resolution_mm = mm
        self._fit_tolerance()

    def _fit_tolerance(self) -> None:
        # A box that drives itself lands on the nearest number it can show; a box moved by
        # steps lands within half a step of the target, as read to the nearest number.
        exact = self.exact_mm
        stepped = 0.0 if self.native or not self.step_mm else self.step_mm / 2 + self.resolution_mm
        self.tolerance_mm = max(exact, stepped)

    @property
    def exact_mm(self) -> float:
        """How close a box that drives itself lands: on the nearest number it can show."""
        return max(1.0, self.resolution_mm / 2 + 0.01)

    async def run(self, port: MotionPort, target_mm: float) -> DeskState:
        if self.native is not False:
            with port.subscribe() as states:
                if await self.port.offer_target(target_mm):
                    self._learned(native=True)
                    return await follow(port, states)
            if port.state.fault is not None:
                return port.state  # it refused, and said why
            if self.native and self.told:
                raise MoveFailed(
                    f"the desk did not take the move to {format_height(target_mm)}; if it hit "
                    "something, clear the way and run 'deskctl stop'"
                )
            log.info("the box does not take a move-to: moving it by its steps")
            self.native = None  # known once the steps have moved it
        start = port.state.height_mm
        state = await self._hold_and_watch(port, target_mm)
        if self.native is None and state.height_mm != start:
            self._learned(native=False)
        return await self._nudge_closer(target_mm, state)

    async def _hold_and_watch(self, port: MotionPort, target_mm: float) -> DeskState:
        """Hold the key and let go early by the learned coast; again if that fell far short
        or overshot far, but the last few steps are single ones."""
        state = port.state
        for attempt in range(1 + self.max_corrections):
            error = target_mm - state.height_mm
            if abs(error) <= self.tolerance_mm or state.fault is not None:
                break
            if attempt and abs(error) < self._worth_holding_mm():
                break
            previous = abs(error)
            direction = Direction.UP if error > 0 else Direction.DOWN
            state = await self._run_once(port, target_mm, direction)
            if abs(target_mm - state.height_mm) >= previous:
                break  # a correction that does not help would only hunt
        return state

    def _worth_holding_mm(self) -> float:
        # A short hold runs on for the box's reaction and more; over a few steps' worth
        # single steps land closer.
        return max(self.coast.shortest_press_mm(), STEPS_WORTH_A_HOLD * (self.step_mm or 4.0))

    async def _nudge_closer(self, target_mm: float, state: DeskState) -> DeskState:
        """Single steps for what holding could not close: they help while the error is more
        than half a step (the first one tells how big a step is)."""
        nudges = misses = 0
        while nudges < MAX_NUDGES and misses < MAX_MISSES:
            error = target_mm - state.height_mm
            if abs(error) <= self.exact_mm or state.fault is not None:
                break
            if state.link is not Link.CONNECTED:
                break
            known = self.step_mm
            if known is not None and abs(error) <= known / 2:
                break
            before = state.height_mm
            state = await self.port.nudge(Direction.UP if error > 0 else Direction.DOWN)
            moved = abs(state.height_mm - before)
            if moved < self.resolution_mm / 2:
                misses += 1  # the frame was lost on the line, or the desk is at a limit
                continue
            nudges += 1
            self._learn_step(moved)
            if known is not None and abs(target_mm - state.height_mm) >= abs(error):
                break
        return state

    def _learn_step(self, moved_mm: float) -> None:
        self._steps = [*self._steps, moved_mm][-KEEP_STEPS:]
        self.step_mm = statistics.median(self._steps)
        self.memory.step_mm = round(self.step_mm, 1)
        self.memory.save()
        self._fit_tolerance()

    def _learned(self, *, native: bool) -> None:
        if self.native is native and self.memory.move_to is native:
            return
        self.native = native
        self.memory.move_to = native
        self.memory.save()
        self._fit_tolerance()
        self._on_learned()
