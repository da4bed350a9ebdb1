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
from typing import Any, Protocol

from deskctl.clock import Clock
from deskctl.errors import ConnectionLost, MoveFailed
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
                state = await self._watch(port, states, target_mm)
        if state.fault is None:
            # End the move-to the way the controllers' own apps do.  Not after a fault:
            # a stop would re-arm a desk that hit something, and that is the user's call.
            await port.release()
        return state

    async def _watch(self, port: MotionPort, states: Subscription, target_mm: float) -> DeskState:
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


MAX_DECEL_MM_S2 = 2000.0
MIN_DECEL_MM_S2 = 5.0


@dataclass
class CoastModel:
    """How a desk moves around a release, learned from its moves.

    The controller reacts ``latency_s`` late, still accelerating if it was
    (never past ``top_speed_mm_s``, the fastest speed seen), then brakes at
    ``decel_mm_s2``.  Both are fitted to recent releases by least squares;
    releases at several speeds (long and short moves) tell reaction from
    braking.  Until the first release the defaults are a cautious guess.
    """

    latency_s: float = 0.2
    decel_mm_s2: float = 80.0
    top_speed_mm_s: float = 0.0
    samples: list[tuple[float, float, float]] = field(default_factory=list)
    """(speed at release, distance travelled after it, acceleration at release)."""
    keep: int = 24
    presses: list[tuple[float, float]] = field(default_factory=list)
    """(seconds a key was held from rest, distance the desk went from rest to rest)."""
    travel_mm: tuple[float, float] | None = None
    """The lowest and highest height the desk can reach, once found by driving to them."""

    def capped(self, speed: float) -> float:
        return min(speed, self.top_speed_mm_s) if self.top_speed_mm_s else speed

    def predict(self, speed_mm_s: float, accel_mm_s2: float = 0.0) -> float:
        """Distance covered after a release at ``speed_mm_s``, accelerating at ``accel_mm_s2``."""
        before, after = self._phases(abs(speed_mm_s), accel_mm_s2, self.latency_s)
        return before + after / (2 * self.decel_mm_s2)

    def _phases(self, speed: float, accel: float, latency: float) -> tuple[float, float]:
        """Distance before braking starts, and the squared speed braking starts from."""
        at_brake = self.capped(speed + accel * latency)
        # While the controller reacts the speed rises linearly from speed to at_brake.
        return (speed + at_brake) / 2 * latency, at_brake * at_brake

    def shortest_press_mm(self) -> float:
        """Roughly how far the desk goes for the briefest press: it keeps running for
        the reaction time, so a correction smaller than that only overshoots."""
        return self.latency_s * self.top_speed_mm_s / 2

    def saw_speed(self, speed_mm_s: float) -> None:
        self.top_speed_mm_s = max(self.top_speed_mm_s, abs(speed_mm_s))

    def learn_press(self, held_s: float, distance_mm: float) -> None:
        self.presses = [*self.presses, (max(0.0, held_s), max(0.0, distance_mm))][-self.keep :]

    def extras(self) -> dict[str, Any]:
        """What is learned besides the releases, to be remembered with them."""
        return {"presses": self.presses, "travel_mm": self.travel_mm}

    def restore_extras(self, data: dict[str, Any]) -> None:
        for held, distance in data.get("presses", []):
            self.learn_press(float(held), float(distance))
        travel = data.get("travel_mm")
        if travel is not None:
            low, high = (float(value) for value in travel)
            if 0 < low < high:
                self.travel_mm = (low, high)

    def learn(self, speed_mm_s: float, overrun_mm: float, accel_mm_s2: float = 0.0) -> None:
        speed = abs(speed_mm_s)
        if speed < 1.0:  # too slow to teach anything
            return
        self.samples = [*self.samples, (speed, max(0.0, overrun_mm), accel_mm_s2)][-self.keep :]
        self._fit()

    def refit(self) -> None:
        """Fit again (after the braking was set from elsewhere, or samples were replaced)."""
        if self.samples:
            self._fit()

    def _fit(self) -> None:
        # For a given latency the braking term is linear, so solve it exactly and
        # search the latency on a grid, then on a finer grid around the best.
        speeds = [speed for speed, _, _ in self.samples]
        narrow = max(speeds) < 1.2 * min(speeds)

        def error(latency: float) -> tuple[float, float]:
            pairs = [
                (overrun - before, squared)
                for speed, overrun, accel in self.samples
                for before, squared in [self._phases(speed, accel, latency)]
            ]
            if narrow:
                # Releases at one speed cannot tell reaction from braking: keep the
                # braking known so far and fit the reaction time alone.
                b = 1 / (2 * self.decel_mm_s2)
            else:
                denominator = sum(squared * squared for _, squared in pairs)
                b = sum(rest * squared for rest, squared in pairs) / denominator
            # No desk brakes harder than 2 m/s² or softer than 5 mm/s².
            b = min(max(b, 1 / (2 * MAX_DECEL_MM_S2)), 1 / (2 * MIN_DECEL_MM_S2))
            return sum((rest - b * squared) ** 2 for rest, squared in pairs), b

        latency = min((step * 0.005 for step in range(201)), key=lambda t: error(t)[0])
        fine = (max(0.0, latency + step * 0.0005) for step in range(-10, 11))
        latency = min(fine, key=lambda t: error(t)[0])
        b = error(latency)[1]
        self.latency_s, self.decel_mm_s2 = latency, 1 / (2 * b)


@dataclass
class _Track:
    """The latest height sample with the speed and acceleration seen towards the target."""

    height_mm: float
    timestamp: float
    speed: float = 0.0
    accel: float = 0.0

    def speed_at(self, t: float, coast: CoastModel) -> float:
        return (
            coast.capped(self.speed + self.accel * (t - self.timestamp))
            if self.accel
            else self.speed
        )

    def at(self, t: float, direction: Direction, coast: CoastModel) -> float:
        """Where the desk is at ``t``, extrapolated with capped acceleration."""
        dt = t - self.timestamp
        end_speed = self.speed_at(t, coast)
        ramp = (end_speed - self.speed) / self.accel if self.accel else 0.0
        travelled = (self.speed + end_speed) / 2 * ramp + end_speed * (dt - ramp)
        return self.height_mm + direction * travelled

    def follow(self, state: DeskState, direction: Direction) -> _Track:
        speed = _speed_towards(self, state, direction)
        elapsed = state.timestamp - self.timestamp
        accel = max(0.0, (speed - self.speed) / elapsed) if elapsed > 0 else 0.0
        return _Track(state.height_mm, state.timestamp, speed, accel)


@dataclass
class HoldAndWatch:
    """Hold up or down, watch the height, let go early by the learned coast.

    No desk driven this way can stop closer than the shortest travel it makes
    when the button is let go at its first height report, and near that
    distance the release has to be perfect; targets from about one and a half
    times that distance land within ``tolerance_mm`` once the coast is learned.
    """

    coast: CoastModel = field(default_factory=CoastModel)
    tolerance_mm: float = 1.0
    max_corrections: int = 2

    async def run(self, port: MotionPort, target_mm: float) -> DeskState:
        state = port.state
        for attempt in range(1 + self.max_corrections):
            error = target_mm - state.height_mm
            if abs(error) <= self.tolerance_mm or state.fault is not None:
                break
            if attempt and abs(error) < self.coast.shortest_press_mm():
                break  # any press would overshoot by more than it corrects
            previous = abs(error)
            state = await self._run_once(
                port, target_mm, Direction.UP if error > 0 else Direction.DOWN
            )
            if abs(target_mm - state.height_mm) >= previous:
                break  # a correction that does not help would only hunt
        return state

    def _release_in(self, track: _Track, now: float, target: float, direction: Direction) -> float:
        """Seconds from ``now`` until the button must be let go (0: at once)."""

        def short_by(delay: float) -> float:
            t = now + delay
            ahead = self.coast.predict(track.speed_at(t, self.coast), track.accel)
            return (target - track.at(t, direction, self.coast)) * direction - ahead

        if short_by(0.0) <= 0:
            return 0.0
        low, high = 0.0, 1.0
        if short_by(high) > 0:
            return high
        for _ in range(30):
            mid = (low + high) / 2
            low, high = (mid, high) if short_by(mid) > 0 else (low, mid)
        return high

    async def _run_once(self, port: MotionPort, target: float, direction: Direction) -> DeskState:
        clock = port.clock
        horizon = 1.5 * port.report_interval_s
        with port.subscribe() as states:
            track = _Track(port.state.height_mm, port.state.timestamp)
            await port.press(direction)
            async with repeating(lambda: port.press(direction), port.press_repeat_s, clock):
                while True:
                    delay = self._release_in(track, clock.now(), target, direction)
                    if track.speed > 0 and delay < horizon:
                        await clock.sleep(delay)
                        break
                    # A coarse display reports rarely: wake at the release time if no report
                    # comes first, or the release is late by up to a report interval.
                    state = await _report_or_due(port, states, delay if track.speed > 0 else None)
                    if state is None:
                        continue
                    if state.fault is not None or (track.speed > 0 and not state.moving):
                        return state  # stopped by itself: a limit, an obstacle or the motor
                    track = track.follow(state, direction)
                    self.coast.saw_speed(track.speed)
            now = clock.now()
            released_at = track.at(now, direction, self.coast)
            speed = track.speed_at(now, self.coast)
            await port.release()
            final = await _until_stopped(port, states)
        self.coast.learn(speed, (final.height_mm - released_at) * direction, track.accel)
        return final


def _speed_towards(before: _Track, after: DeskState, direction: Direction) -> float:
    """Speed in the direction of travel, from the report or from two heights."""
    if after.speed_mm_s:
        return max(0.0, after.speed_mm_s * direction)
    elapsed = after.timestamp - before.timestamp
    if elapsed <= 0:
        return 0.0
    return max(0.0, (after.height_mm - before.height_mm) * direction / elapsed)


async def _report_or_due(
    port: MotionPort, states: Subscription, due_s: float | None
) -> DeskState | None:
    """The next report, or None if ``due_s`` seconds of the port's clock pass first."""
    report = asyncio.ensure_future(states.next(timeout=_stall_timeout(port)))
    due = None if due_s is None else asyncio.ensure_future(port.clock.sleep(due_s))
    try:
        if due is not None:
            await asyncio.wait({report, due}, return_when=asyncio.FIRST_COMPLETED)
            if not report.done():
                return None
        state = await report
    finally:
        for task in (report, due):
            if task is not None and not task.done():
                task.cancel()
    if state is None:
        raise ConnectionLost("the desk stopped reporting its height during the move")
    return state


async def _until_stopped(port: MotionPort, states: Subscription) -> DeskState:
    state = port.state
    while state.moving:
        received = await states.next(timeout=_stall_timeout(port))
        if received is None:
            raise ConnectionLost("the desk stopped reporting its height while stopping")
        state = received
    return state
