"""How deskctl drives a desk that only has up and down keys and a display: a Loctek box.

Every move is a press from rest.  A short one is timed: the press model
(:mod:`deskctl.drivers.loctek_press`) says how long to hold the key for the
distance, because by the time the digits show a short move it is over.  A
long one is watched: once the desk runs at its top speed the display frames
place it well (see :mod:`deskctl.drivers.loctek_track`), and the key is let
go when the desk's position plus the coast learned at that speed reaches the
target.  Where the desk came to rest is the display's band, narrowed by what
the move predicted; if that is not close enough and a press can get closer, a
corrective press follows.  Every move teaches both models.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
from collections import deque
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from deskctl.clock import Clock
from deskctl.desk import Desk
from deskctl.drivers.loctek_press import PressModel
from deskctl.errors import ConnectionLost
from deskctl.model import DeskState, Direction, Limits, Link
from deskctl.motion import CoastModel, HoldAndWatch, MotionPort, repeating
from deskctl.stream import Subscription

log = logging.getLogger(__name__)

STEADY_FOR_S = 0.3
"""The fitted speed has held this long: the desk runs at its top speed."""
REST_TIMEOUT_S = 10.0
FINE_STEP_MM = 3.0
"""Digits this fine (tenths of a cm or of an inch) measure a press well enough to learn from."""


@runtime_checkable
class DisplayPort(MotionPort, Protocol):
    """What the mover needs from a driver besides keys and states."""

    @property
    def pressed_at(self) -> float | None: ...

    limits: Limits

    def band(self) -> tuple[float, float]: ...

    @property
    def fine_up_to_mm(self) -> float:
        """The highest height at which the digits showed tenths (0: never)."""
        ...


class LoctekMover(HoldAndWatch):
    """Timed presses for short moves, watched ones for long moves, and corrections."""

    def __init__(self, coast: CoastModel | None = None) -> None:
        super().__init__(
            coast or CoastModel(latency_s=0.4, decel_mm_s2=80.0),
            tolerance_mm=1.0,
            max_corrections=6,
        )
        self.display_step_mm = 1.0
        """What one digit is worth where the desk is (the driver keeps it current)."""
        self._model = PressModel()
        self._model_for: tuple[int, tuple[float, float] | None, float] | None = None
        self._rest: tuple[float, tuple[float, float]] | None = None
        self._forced_hold: float | None = None
        self._top_seen = 0.0
        self._coarse_only = False
        """No press was measured with fine digits: the model knows presses to a centimetre."""

    # -- how close is close enough ------------------------------------------------------------

    @property
    def tolerance_mm(self) -> float:
        """Close enough to count as there: a good part of a digit of the display where the
        desk is (at least the minimum given), since nothing finer can be seen."""
        return max(self._least_mm, 0.4 * self.display_step_mm)

    @tolerance_mm.setter
    def tolerance_mm(self, value: float) -> None:
        self._least_mm = value

    # -- what is learned ----------------------------------------------------------------------

    @property
    def top_speed_mm_s(self) -> float:
        speeds = [speed for speed, _, _ in self.coast.samples]
        if speeds:
            return statistics.median(speeds)
        return self._top_seen or PressModel().top_speed_mm_s

    def coast_after(self, speed_mm_s: float) -> float:
        """How far the desk runs on after a release at ``speed_mm_s``.  At its top speed
        (almost every long move) that is what it did after such releases, which a
        speed estimate a little off cannot throw (a millimetre a second off would be
        most of a millimetre here)."""
        top = self.top_speed_mm_s
        near = [over for speed, over, _ in self.coast.samples if abs(speed - top) <= 0.08 * top]
        if near and abs(speed_mm_s - top) <= 0.08 * top:
            return statistics.median(near)
        return self.coast.predict(speed_mm_s)

    def press_model(self) -> PressModel:
        """The press model fitted to what this desk did (refitted when that changed)."""
        presses = self.coast.presses
        key = (len(presses), presses[-1] if presses else None, round(self.top_speed_mm_s, 1))
        if key != self._model_for:
            # The likely desk: a ramp of about a second, and the coast seen at top speed
            # (a reaction of about a third of it, braking the rest).
            top = self.top_speed_mm_s
            coast = self.coast_after(top)
            prior = PressModel(
                accel_mm_s2=top / 0.8,
                decel_mm_s2=min(max(top * top / (2 * 0.6 * max(coast, 3.0)), 20.0), 300.0),
                lag_s=min(max(0.4 * max(coast, 3.0) / top - 0.05, 0.0), 0.8),
                top_speed_mm_s=top,
            )
            noise = self.display_step_mm if self._coarse_only else 1.0
            self._model, self._model_for = prior.fitted(presses, noise), key
        return self._model

    # -- a move -------------------------------------------------------------------------------

    async def run(self, port: MotionPort, target_mm: float) -> DeskState:
        if not isinstance(port, DisplayPort):
            return await super().run(port, target_mm)
        state = port.state
        height = self._resting_height(port)
        forced, self._forced_hold = self._forced_hold, None
        for left in range(self.max_corrections, -1, -1):
            error = target_mm - height
            if state.fault is not None or (abs(error) <= self._good_enough_mm() and not forced):
                break
            # Going past the target takes a second press to come back: not with the last one.
            aim = (
                target_mm if forced is not None or not left else self._aim(port, target_mm, height)
            )
            if aim is None:
                break  # too close for any press, and no room to go past and come back
            if not left and forced is None and self.press_model().shortest_mm >= 2 * abs(error):
                break  # the last press would land further off than the desk is now
            direction = Direction.UP if aim > height else Direction.DOWN
            state, height, whole = await self._press(port, aim, height, direction, forced)
            if not whole or forced is not None:
                break  # stopped by itself (a limit, an obstacle, the motor), or calibrating
        self._rest = (height, port.band())
        return state.but(height_mm=height)

    def _good_enough_mm(self) -> float:
        """Close enough to stop pressing: well inside half a digit."""
        return max(0.6, 0.25 * self.display_step_mm)

    def _aim(self, port: DisplayPort, target: float, height: float) -> float | None:
        """Where the next press should go: the target if one press can get there, else past
        it by a press that can come back (the briefest press from rest goes some way)."""
        error = target - height
        shortest = self.press_model().shortest_mm
        if abs(error) >= shortest or shortest - abs(error) <= self._good_enough_mm():
            return target
        back = 1.2 * shortest + 1.0
        limits = port.limits
        for aim in (
            target + back * (1 if error > 0 else -1),
            height - back * (1 if error > 0 else -1),
        ):
            if limits.min_mm + 2.0 <= aim <= limits.max_mm - 2.0:
                return aim
        return None

    def _resting_height(self, port: DisplayPort) -> float:
        """The best estimate of where the desk rests: the last move's, while the digits agree."""
        if self._rest is not None and self._rest[1] == port.band() and not port.state.moving:
            return self._rest[0]
        low, high = port.band()
        return (low + high) / 2

    async def _press(
        self,
        port: DisplayPort,
        target: float,
        start: float,
        direction: Direction,
        forced: float | None,
    ) -> tuple[DeskState, float, bool]:
        """One press from rest towards ``target``: (state at rest, height, whole press made)."""
        clock = port.clock
        model = self.press_model()
        plan = model.held_for(abs(target - start)) if forced is None else forced
        start_band = port.band()
        with port.subscribe() as states:
            await port.press(direction)
            pressed = port.pressed_at if port.pressed_at is not None else clock.now()
            # At top speed by then, as far as the desk has shown: its ramp, and a margin.
            known = self.top_speed_mm_s if self.coast.samples or self._top_seen else 0.0
            watch = _Watch(direction, self.display_step_mm, known)
            watch.not_before = pressed + model.ramp_s + 0.3
            async with repeating(lambda: port.press(direction), port.press_repeat_s, clock):
                while True:
                    due = pressed + plan
                    if forced is None and watch.steady_at is not None:
                        due = watch.release_due(target, self.coast_after)
                    state = await _next_or_due(states, clock, due)
                    if state is None:
                        break  # time to let go
                    if state.link is not Link.CONNECTED:
                        raise ConnectionLost("lost the desk during the move")
                    if state.fault is not None:
                        return state, (sum(port.band()) / 2), False
                    if state.moving:
                        watch.saw(state)
                    elif state.timestamp > pressed:
                        # The digits stopped with the key held: a limit, or the desk will not go.
                        return state, (sum(port.band()) / 2), False
            released = clock.now()
            release_height, release_speed = watch.released = watch.at(released)
            await port.release()
            final = await _until_rest(states, released)
        held = released - pressed
        low, high = port.band()
        closed = forced is None and watch.steady_at is not None and watch.steady_at < released
        if closed:
            self._top_seen = max(self._top_seen, release_speed)
            predicted = release_height + direction * self.coast_after(release_speed)
        else:
            predicted = start + direction * model.distance(held)
        log.debug(
            "press %s from %.1f to %.1f: planned %.3f s, held %.3f s, %s; rests in %.1f-%.1f, "
            "predicted %.1f",
            direction.name,
            start,
            target,
            plan,
            held,
            "watched" if closed else "timed",
            low,
            high,
            predicted,
        )
        if final.fault is None and final.link is Link.CONNECTED:
            self._learn(held, start_band, (low, high), direction, watch if closed else None)
        return final, min(max(predicted, low), high), True

    def _learn(
        self,
        held: float,
        start_band: tuple[float, float],
        end_band: tuple[float, float],
        direction: Direction,
        watched: _Watch | None,
    ) -> None:
        """A press of ``held`` seconds moved the desk between the bands; ``watched`` is the
        watch that let go at top speed, if one did."""
        start, end = sum(start_band) / 2, sum(end_band) / 2
        steps = (start_band[1] - start_band[0], end_band[1] - end_band[0])
        if max(steps) <= FINE_STEP_MM or min(steps) > FINE_STEP_MM:
            self._coarse_only = min(steps) > FINE_STEP_MM and (
                self._coarse_only or not self.coast.presses
            )
            self.coast.learn_press(held, (end - start) * direction)
        if watched is not None and watched.released is not None:
            height, speed = watched.released
            self.coast.learn(speed, (end - height) * direction)
            self.coast.saw_speed(speed)

    # -- calibration (see loctek_calibration) -------------------------------------------------

    async def calibrate(self, desk: Desk) -> CoastModel:
        """Find the desk's travel, then teach both models; refuse what no desk does."""
        from deskctl.drivers.loctek_calibration import calibrate

        return await calibrate(self, desk)

    async def press_for(self, desk: Desk, direction: Direction, held_s: float) -> DeskState:
        """Hold the key for ``held_s`` seconds from rest, through the desk's safety checks."""
        far = desk.limits.max_mm if direction is Direction.UP else desk.limits.min_mm
        self._forced_hold = held_s
        try:
            return await desk.move_to_roughly(far)
        finally:
            self._forced_hold = None

    @property
    def coarse_only(self) -> bool:
        """Every press was read off whole centimetres: the press model knows them roughly."""
        return self._coarse_only


class _Watch:
    """The desk seen while the key is held: its latest fitted height and speed."""

    def __init__(self, direction: Direction, step_mm: float, top_speed_mm_s: float) -> None:
        self.direction = direction
        self.fine = step_mm <= FINE_STEP_MM
        self.top_speed_mm_s = top_speed_mm_s
        """The desk's known top speed (0: not known yet)."""
        self.not_before = 0.0
        self.last: DeskState | None = None
        self.steady_at: float | None = None
        self.released: tuple[float, float] | None = None
        """Height and speed when the key was let go."""
        self._speeds: deque[tuple[float, float]] = deque()

    def saw(self, state: DeskState) -> None:
        speed = max(0.0, state.speed_mm_s * self.direction)
        self.last = state
        self._speeds.append((state.timestamp, speed))
        # The speeds of the last STEADY_FOR_S, and of at least the last three reports (a coarse
        # display that only reports changes reports a few times a second).
        while len(self._speeds) > 3 and self._speeds[1][0] <= state.timestamp - STEADY_FOR_S:
            self._speeds.popleft()
        if self.steady_at is None and self._is_steady(state.timestamp):
            self.steady_at = state.timestamp

    def _is_steady(self, now: float) -> bool:
        if len(self._speeds) < 3 or now - self._speeds[0][0] < STEADY_FOR_S * 0.8:
            return False
        if now < self.not_before:
            return False
        speeds = [speed for _, speed in self._speeds]
        spread = (max(speeds) - min(speeds)) / max(speeds[-1], 1e-6)
        if self.top_speed_mm_s and speeds[-1] < 0.92 * self.top_speed_mm_s:
            return False  # still ramping up
        return speeds[-1] > 5.0 and spread < (0.04 if self.fine else 0.1)

    def at(self, when: float) -> tuple[float, float]:
        """Height and speed (towards the target) at ``when``, from the latest fit."""
        if self.last is None:
            return 0.0, 0.0
        speed = max(0.0, self.last.speed_mm_s * self.direction)
        return self.last.height_mm + self.direction * speed * (when - self.last.timestamp), speed

    def release_due(self, target: float, coast_after: Callable[[float], float]) -> float:
        """When to let go so that the desk coasts to ``target``."""
        assert self.last is not None
        height, speed = self.at(self.last.timestamp)
        ahead = (target - height) * self.direction - coast_after(speed)
        return self.last.timestamp + ahead / max(speed, 1.0)


async def _next_or_due(states: Subscription, clock: Clock, due: float) -> DeskState | None:
    """The next state, or None once ``due`` (a time on ``clock``) has come."""
    wait = due - clock.now()
    if wait <= 0:
        return None
    report = asyncio.ensure_future(states.next(timeout=REST_TIMEOUT_S))
    timer = asyncio.ensure_future(clock.sleep(wait))
    try:
        await asyncio.wait({report, timer}, return_when=asyncio.FIRST_COMPLETED)
        if not report.done():
            return None
        state = report.result()
    finally:
        for task in (report, timer):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    if state is None:
        raise ConnectionLost("the desk stopped reporting its height during the move")
    return state


async def _until_rest(states: Subscription, since: float) -> DeskState:
    """The first state at rest reported after ``since``."""
    while True:
        state = await states.next(timeout=REST_TIMEOUT_S)
        if state is None or state.link is not Link.CONNECTED:
            raise ConnectionLost("the desk stopped reporting its height while stopping")
        if state.fault is not None or (not state.moving and state.timestamp >= since):
            return state
