"""Motion strategies: how a driver turns "go to this height" into commands.

* :class:`NativeMoveTo` hands the target to a controller that closes the loop
  itself (Linak reference input, Jiecang move-to-height) and rewrites it as
  often as the family needs.
* :class:`HoldAndWatch` serves desks that only know "up" and "down": it holds
  the button, watches the reported height and lets go early by the distance
  the desk will still coast, which it learns from every move it makes.

Both stop the desk when they are cancelled; the caller (:class:`deskctl.desk.BaseDesk`)
sends the stop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from deskctl.clock import Clock
from deskctl.errors import MoveFailed
from deskctl.model import DeskState, Direction
from deskctl.stream import Subscription


class MotionPort(Protocol):
    """What a strategy needs from a driver."""

    clock: Clock
    report_interval_s: float
    """How often the desk reports its height while it moves."""
    target_repeat_s: float | None
    """Rewrite a native target this often (None: once is enough)."""
    press_repeat_s: float
    """Repeat an up/down press this often to keep the motor running."""

    @property
    def state(self) -> DeskState: ...

    def subscribe(self) -> Subscription: ...

    async def send_target(self, height_mm: float) -> None: ...

    async def press(self, direction: Direction) -> None: ...

    async def release(self) -> None: ...


class MotionStrategy(Protocol):
    tolerance_mm: float

    async def run(self, port: MotionPort, target_mm: float) -> DeskState: ...


@contextlib.asynccontextmanager
async def repeating(
    action: Callable[[], Awaitable[None]], period: float | None, clock: Clock
) -> AsyncIterator[None]:
    """Run ``action`` every ``period`` seconds (after the first call, which the caller makes)."""
    if period is None:
        yield
        return

    async def loop() -> None:
        while True:
            await clock.sleep(period)
            await action()

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _stall_timeout(port: MotionPort) -> float:
    # A desk that moves reports several times a second; silence this long means it stopped talking.
    return max(2.0, 10 * port.report_interval_s)


@dataclass
class NativeMoveTo:
    """The controller drives to the target; we keep the target fresh and watch."""

    tolerance_mm: float = 1.0

    async def run(self, port: MotionPort, target_mm: float) -> DeskState:
        with port.subscribe() as states:
            await port.send_target(target_mm)
            async with repeating(
                lambda: port.send_target(target_mm), port.target_repeat_s, port.clock
            ):
                started = False
                while True:
                    state = await states.next(timeout=_stall_timeout(port))
                    if state is None:
                        if not started:
                            raise MoveFailed("the desk did not start moving; check its cable or power")
                        raise MoveFailed("the desk stopped reporting its height during the move")
                    if state.fault is not None:
                        return state
                    if state.moving:
                        started = True
                    elif started or abs(state.height_mm - target_mm) <= self.tolerance_mm:
                        return state


@dataclass
class CoastModel:
    """How far a desk travels after its button is let go, learned from moves.

    overrun(v) = latency * v + v² / (2 * decel): the controller's reaction
    time at speed v, then braking.  Fitted by least squares over recent
    (speed, overrun) samples, pulled gently towards a prior so that one or two
    samples give a sensible answer.
    """

    latency_s: float = 0.2
    decel_mm_s2: float = 80.0
    samples: list[tuple[float, float]] = field(default_factory=list)
    keep: int = 24

    def predict(self, speed_mm_s: float) -> float:
        speed = abs(speed_mm_s)
        return self.latency_s * speed + speed * speed / (2 * self.decel_mm_s2)

    def learn(self, speed_mm_s: float, overrun_mm: float) -> None:
        speed = abs(speed_mm_s)
        if speed < 1.0:  # too slow to teach anything
            return
        self.samples = [*self.samples, (speed, max(0.0, overrun_mm))][-self.keep :]
        self._fit()

    def _fit(self) -> None:
        # Features a = latency, b = 1 / (2 decel); the prior counts as a tenth of a sample.
        a0, b0 = self.latency_s, 1 / (2 * self.decel_mm_s2)
        ref = max(speed for speed, _ in self.samples)
        weight = 0.1
        s11 = weight * ref**2
        s22 = weight * ref**4
        s12 = 0.0
        t1, t2 = weight * ref**2 * a0, weight * ref**4 * b0
        for speed, overrun in self.samples:
            s11 += speed * speed
            s12 += speed**3
            s22 += speed**4
            t1 += speed * overrun
            t2 += speed * speed * overrun
        det = s11 * s22 - s12 * s12
        a = (t1 * s22 - t2 * s12) / det
        b = (s11 * t2 - s12 * t1) / det
        if a < 0:  # all braking, no latency
            a, b = 0.0, t2 / s22
        elif b <= 0:  # all latency, instant brake
            a, b = t1 / s11, 1e-6
        self.latency_s, self.decel_mm_s2 = a, 1 / (2 * max(b, 1e-6))


@dataclass
class HoldAndWatch:
    """Hold up or down, watch the height, let go early by the learned coast."""

    coast: CoastModel = field(default_factory=CoastModel)
    tolerance_mm: float = 1.0
    max_corrections: int = 2

    async def run(self, port: MotionPort, target_mm: float) -> DeskState:
        state = port.state
        for _ in range(1 + self.max_corrections):
            error = target_mm - state.height_mm
            if abs(error) <= self.tolerance_mm or state.fault is not None:
                break
            previous = abs(error)
            state = await self._run_once(port, target_mm, Direction.UP if error > 0 else Direction.DOWN)
            if abs(target_mm - state.height_mm) >= previous:
                break  # a correction that does not help would only hunt
        return state

    async def _run_once(self, port: MotionPort, target: float, direction: Direction) -> DeskState:
        clock = port.clock
        with port.subscribe() as states:
            last = port.state
            speed = 0.0
            await port.press(direction)
            async with repeating(lambda: port.press(direction), port.press_repeat_s, clock):
                while True:
                    position = last.height_mm + direction * speed * (clock.now() - last.timestamp)
                    remaining = (target - position) * direction - self.coast.predict(speed)
                    if remaining <= 0:
                        break
                    if speed > 0 and remaining / speed < 1.5 * port.report_interval_s:
                        await clock.sleep(remaining / speed)
                        break
                    state = await states.next(timeout=_stall_timeout(port))
                    if state is None:
                        raise MoveFailed("the desk stopped reporting its height during the move")
                    if state.fault is not None or (speed > 0 and not state.moving):
                        return state  # stopped by itself: a limit, an obstacle or the motor
                    speed = _speed_towards(last, state, direction)
                    last = state
            released_at = last.height_mm + direction * speed * (clock.now() - last.timestamp)
            await port.release()
            final = await _until_stopped(port, states)
        self.coast.learn(speed, (final.height_mm - released_at) * direction)
        return final


def _speed_towards(before: DeskState, after: DeskState, direction: Direction) -> float:
    """Speed in the direction of travel, from the report or from two heights."""
    if after.speed_mm_s:
        return max(0.0, after.speed_mm_s * direction)
    elapsed = after.timestamp - before.timestamp
    if elapsed <= 0:
        return 0.0
    return max(0.0, (after.height_mm - before.height_mm) * direction / elapsed)


async def _until_stopped(port: MotionPort, states: Subscription) -> DeskState:
    state = port.state
    while state.moving:
        received = await states.next(timeout=_stall_timeout(port))
        if received is None:
            raise MoveFailed("the desk stopped reporting its height while stopping")
        state = received
    return state
