"""The engine at work: bound to a desk, a clock, the person and the history.

Everything that can happen arrives on one queue (the clock's next wake, the
desk's state, the person's answers) and goes through ``Engine.step``; the
actions that come back are carried out here.  Between events the runner
sleeps: an idle desk costs no CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from deskctl.clock import EpochClock
from deskctl.desk import Desk
from deskctl.errors import DeskctlError
from deskctl.history import History
from deskctl.model import DeskState, Fault
from deskctl.policy.engine import (
    Action,
    Activity,
    Arrived,
    Away,
    DeskMoved,
    Engine,
    Event,
    Faulted,
    Locked,
    Move,
    MoveFailed,
    Notify,
    Prompt,
    Rearmed,
    Record,
    ShowExercise,
    State,
    Tick,
)
from deskctl.policy.exercises import Posture
from deskctl.policy.tuning import Tuner
from deskctl.presence.pick import Presence, open_presence
from deskctl.presence.source import Sensed, Sign
from deskctl.purpose import Purpose

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Heights:
    sit_mm: float
    stand_mm: float

    def posture_of(self, height_mm: float) -> Posture:
        middle = (self.sit_mm + self.stand_mm) / 2
        return Posture.STAND if height_mm >= middle else Posture.SIT

    def of(self, posture: Posture) -> float:
        return self.stand_mm if posture is Posture.STAND else self.sit_mm


Show = Callable[[Action], None]
"""Shows an action to the person: a prompt, an exercise, a notice."""


class Runner:
    def __init__(
        self,
        desk: Desk,
        engine: Engine,
        history: History,
        *,
        heights: Heights,
        show: Show,
        clock: EpochClock | None = None,
        presence: str = "none",
        stepped: Callable[[State], None] = lambda _: None,
        tuner: Tuner | None = None,
        profile: str | None = None,
    ) -> None:
        self.desk = desk
        self.engine = engine
        self.history = history
        self.heights = heights
        self.show = show
        self.clock = clock or EpochClock()
        self.presence_choice = presence
        """Which presence sources to ask: ``[presence] source`` in the config."""
        self.presence = Presence([])
        self.stepped = stepped
        """Called with the engine's state after every step (the bridge publishes it)."""
        self.tuner = tuner
        """Told of the schedule's moves, so that fine-tunes after them are noticed."""
        self.profile = profile
        """Whose heights these are (for the fine-tunes)."""
        self.state = State(posture=heights.posture_of(desk.state.height_mm))
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.started = asyncio.Event()
        """Set once the engine has taken its first step."""
        self._mover: asyncio.Task[None] | None = None

    def reconfigure(self, engine: Engine, heights: Heights) -> None:
        """Another person or rhythm from now on; the bout in progress goes on (no ``off``)."""
        self.engine = engine
        self.heights = heights
        if self.started.is_set():
            self.tell(Tick())

    def tell(self, event: Event) -> None:
        """An event from outside: the person's answer, their activity."""
        self.events.put_nowait(event)

    async def run(self) -> None:
        self.history.close_dangling()
        watcher = asyncio.create_task(self._watch_desk())
        try:
            idle_after_s = self.engine.settings.natural_break_s
            self.presence = await open_presence(self.presence_choice, self._sensed, idle_after_s)
            self._step(Tick())
            self.started.set()
            while True:
                event = await self._next_event()
                self._step(event)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self.presence.close()
            if self._mover is not None:
                self._mover.cancel()
                with contextlib.suppress(asyncio.CancelledError, DeskctlError):
                    await self._mover
            if self.state.phase.value not in ("off", "away"):
                self.history.record(self.clock.now(), "posture", "off", "deskctl stopped")

    async def _next_event(self) -> Event:
        wake = self.state.next_wake
        timeout = None if wake is None else max(0.0, wake - self.clock.now())
        try:
            async with asyncio.timeout(timeout):
                return await self.events.get()
        except TimeoutError:
            # A change is due or a prompt runs out: the moments the engine needs to know.
            idle = await self.presence.idle_s()
            if idle is not None and idle <= self.engine.settings.presence_s:
                self._step(Activity())  # the platform saw the person at the keyboard
            return Tick()

    def _sensed(self, sensed: Sensed) -> None:
        """What a presence source told as it happened, as the engine's event."""
        if sensed.sign is Sign.LOCKED:
            self.tell(Locked())
        elif sensed.sign is Sign.IDLE:
            self.tell(Away(since=self.clock.now() - sensed.idle_s))
        else:
            self.tell(Activity())

    def _step(self, event: Event) -> None:
        now = self.clock.now()
        self.state, actions = self.engine.step(self.state, event, now)
        for action in actions:
            self._act(action, now)
        self.stepped(self.state)

    def _act(self, action: Action, now: float) -> None:
        if isinstance(action, Record):
            self.history.record(now, action.kind, action.what, action.detail)
        elif isinstance(action, Move):
            self._mover = asyncio.create_task(self._move(action.target))
            self.show(action)
        elif isinstance(action, Prompt | ShowExercise | Notify):
            self.show(action)

    async def _move(self, target: Posture) -> None:
        height = self.heights.of(target)
        try:
            if self.tuner is None:
                await self.desk.move_to(height)
            else:
                purpose = Purpose("schedule", target.value, height, self.profile)
                await self.tuner.follow(purpose, lambda: self.desk.move_to(height))
        except DeskctlError as error:
            self.tell(MoveFailed(str(error)))
        else:
            self.tell(Arrived(target))

    async def _watch_desk(self) -> None:
        """Turn the desk's states into events: hand moves, faults and their clearing."""
        posture = self.state.posture
        fault: Fault | None = self.desk.state.fault
        with self.desk.subscribe() as states:
            async for state in states:
                fault = self._fault_event(state, fault)
                if state.moving or state.fault is not None:
                    continue
                now_posture = self.heights.posture_of(state.height_mm)
                mine = self._mover is not None and not self._mover.done()
                if now_posture is not posture and not mine:
                    self.tell(DeskMoved(now_posture))
                posture = now_posture

    def _fault_event(self, state: DeskState, known: Fault | None) -> Fault | None:
        if state.fault is not None and known is None:
            self.tell(Faulted(f"the desk reports {state.fault.value}"))
        elif state.fault is None and known is not None:
            self.tell(Rearmed())
        return state.fault
