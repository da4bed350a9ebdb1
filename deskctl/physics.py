"""The desk motor: a kinematic model shared by the simulated desk and every emulator.

The model is pure: it never reads a clock.  Callers pass ``now`` (seconds of
whatever clock they run on) to every method, and the model integrates its
motion up to that instant.  Defaults follow real desks: an IKEA IDÅSEN's
620-1270 mm travel, about 38 mm/s top speed, a ramp of about a second, a soft
stop of half a second and a 10 % motor duty cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

from deskctl.duty import DEFAULT_ON_S, DEFAULT_WINDOW_S, DutyCycle
from deskctl.model import Direction, Fault, Limits

_EPS = 1e-6


@dataclass(frozen=True)
class MotorParams:
    """Everything that makes one desk's motion different from another's."""

    min_mm: float = 620.0
    max_mm: float = 1270.0
    top_speed_mm_s: float = 38.0
    ramp_s: float = 1.0
    """Time from rest to top speed."""
    coast_s: float = 0.5
    """Time from top speed to rest on a soft stop."""
    landing_s: float | None = None
    """Time from top speed to rest when the controller brakes onto its own target
    (None: ``coast_s``).  Shorter than ``coast_s``, a stop during that braking runs past."""
    stop_latency_s: float = 0.0
    """Delay between a stop or release and the motor starting to brake."""
    report_interval_s: float = 0.1
    """How often the controller reports its height while moving."""
    backoff_mm: float = 10.0
    """How far the desk reverses after hitting an obstacle."""
    duty_window_s: float = DEFAULT_WINDOW_S
    duty_on_s: float = DEFAULT_ON_S
    step_s: float = 0.005
    """Integration step; motion between steps is exact constant-acceleration motion."""

    def __post_init__(self) -> None:
        Limits(self.min_mm, self.max_mm)  # validates the range
        for name in ("top_speed_mm_s", "ramp_s", "coast_s", "report_interval_s", "step_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.landing_s is not None and self.landing_s <= 0:
            raise ValueError("landing_s must be positive")
        if self.stop_latency_s < 0 or self.backoff_mm < 0:
            raise ValueError("stop_latency_s and backoff_mm must not be negative")

    @property
    def limits(self) -> Limits:
        return Limits(self.min_mm, self.max_mm)

    @property
    def accel(self) -> float:
        return self.top_speed_mm_s / self.ramp_s

    @property
    def decel(self) -> float:
        return self.top_speed_mm_s / self.coast_s

    @property
    def landing_decel(self) -> float:
        return self.top_speed_mm_s / (self.coast_s if self.landing_s is None else self.landing_s)

    @property
    def rest_s(self) -> float:
        """How long the motor must rest after a thermal cut-out."""
        return self.duty_window_s - self.duty_on_s

    def coast_distance(self, speed_mm_s: float) -> float:
        """Distance travelled after a release at ``speed_mm_s`` (latency plus braking)."""
        speed = abs(speed_mm_s)
        return speed * self.stop_latency_s + speed * speed / (2 * self.decel)

    def minimum_move_time(self, distance_mm: float) -> float:
        """The shortest time the motor can cover ``distance_mm`` from rest to rest."""
        distance = abs(distance_mm)
        top, accel, decel = self.top_speed_mm_s, self.accel, self.decel
        ramps = top * top / (2 * accel) + top * top / (2 * decel)
        if distance >= ramps:
            return top / accel + top / decel + (distance - ramps) / top
        peak = math.sqrt(2 * distance * accel * decel / (accel + decel))
        return peak / accel + peak / decel


class _Mode(Enum):
    IDLE = "idle"
    DRIVE = "drive"  # a held button: run towards a limit until released
    TARGET = "target"  # the controller's own closed loop towards a height
    STOP = "stop"  # braking to rest


@dataclass
class MotorModel:
    """One desk motor and its controller's safety logic."""

    params: MotorParams = field(default_factory=MotorParams)
    height_mm: float = 720.0
    now: float = 0.0
    obstacle_mm: float | None = None
    """Something in the way: crossing this height is a collision."""
    speed_mm_s: float = 0.0
    fault: Fault | None = None
    duty: DutyCycle = field(init=False)

    _mode: _Mode = field(default=_Mode.IDLE, init=False)
    _goal: float = field(default=0.0, init=False)
    _drive_until: float | None = field(default=None, init=False)
    _stop_at: float | None = field(default=None, init=False)
    _fault_until: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.height_mm = self.params.limits.clamp(self.height_mm)
        self.duty = DutyCycle(self.params.duty_window_s, self.params.duty_on_s)

    # -- commands -----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while the motor runs or has a command it has not finished."""
        return self._mode is not _Mode.IDLE or self.speed_mm_s != 0.0

    @property
    def fault_clears_at(self) -> float | None:
        """When a thermal cut-out ends; None for faults that wait for a stop."""
        return self._fault_until

    def latch(self, fault: Fault, clears_at: float | None = None) -> None:
        """Put the controller into a fault state, as restored from a saved desk."""
        self.fault, self._fault_until = fault, clears_at

    def settles_in(self) -> float | None:
        """Seconds until the motor rests, if it is already braking towards rest; else None.

        Controllers report the moment they stop, not only at their report rate.
        """
        speed = abs(self.speed_mm_s)
        if self._mode is _Mode.STOP:
            return speed / self.params.decel
        if self._mode in (_Mode.DRIVE, _Mode.TARGET) and speed > 0:
            distance = abs(self._goal - self.height_mm)
            if distance <= speed * speed / (2 * self._landing_decel) + _EPS:
                return 2 * distance / speed
        if self._stop_at is not None:
            return max(0.0, self._stop_at - self.now) + speed / self.params.decel
        return None

    def accepts_moves(self, now: float) -> bool:
        self.advance(now)
        return self.fault is None

    def drive(self, direction: Direction, now: float, hold_s: float | None = None) -> bool:
        """Run towards ``direction``'s limit, for ``hold_s`` seconds or until released.

        Returns False when the controller ignores the command (after a
        collision until a stop, or while the motor cools down).
        """
        if not self.accepts_moves(now):
            return False
        limit = self.params.max_mm if direction is Direction.UP else self.params.min_mm
        self._mode, self._goal = _Mode.DRIVE, limit
        self._drive_until = None if hold_s is None else now + hold_s
        self._stop_at = None
        return True

    def move_to(self, target_mm: float, now: float) -> bool:
        """Let the controller close the loop on ``target_mm`` (clamped to its limits)."""
        if not self.accepts_moves(now):
            return False
        self._mode, self._goal = _Mode.TARGET, self.params.limits.clamp(target_mm)
        self._drive_until = self._stop_at = None
        return True

    def release(self, now: float) -> None:
        """Let go of a held button: brake after the controller's stop latency."""
        self.advance(now)
        if self._mode is not _Mode.IDLE and self._stop_at is None:
            # From here the controller's reaction time decides, not a held key's timeout.
            self._stop_at = now + self.params.stop_latency_s
            self._drive_until = None
            self.advance(now)

    def stop(self, now: float) -> None:
        """A stop command: brake, and re-arm a controller that stopped on a collision."""
        self.release(now)
        if self.fault is Fault.COLLISION:
            self.fault = None

    # -- integration --------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Integrate the motion up to ``now``."""
        if now <= self.now:
            return
        if self._mode is _Mode.IDLE and self.speed_mm_s == 0.0:
            self.now = now
            self._expire_fault()
            return
        while self.now < now - _EPS:
            self._step(min(self.params.step_s, now - self.now))
        self.now = now
        self._expire_fault()

    def _expire_fault(self) -> None:
        if self._fault_until is not None and self.now >= self._fault_until:
            self.fault, self._fault_until = None, None

    def _step(self, dt: float) -> None:
        if self._stop_at is not None and self.now >= self._stop_at - _EPS:
            self._mode, self._stop_at = _Mode.STOP, None
        if (
            self._mode is _Mode.DRIVE
            and self._drive_until is not None
            and self.now >= self._drive_until - _EPS
        ):
            self._mode = _Mode.STOP
        start = self.height_mm
        if self._mode in (_Mode.DRIVE, _Mode.TARGET):
            self._approach(self._goal, dt)
        else:
            self._brake(dt)
        self.now += dt
        self._check_obstacle(start)
        self._track_duty()

    def _approach(self, goal: float, dt: float) -> None:
        x, v, p = self.height_mm, self.speed_mm_s, self.params
        distance = goal - x
        if abs(distance) < _EPS and abs(v) < _EPS:
            self._arrive(goal)
            return
        sign = 1.0 if distance > 0 else -1.0
        if v * sign < 0:  # heading away from the goal (a reversal): brake first
            self._brake(dt)
            return
        speed = abs(v)
        if abs(distance) <= speed * speed / (2 * self._landing_decel) + _EPS:
            # Brake with exactly the deceleration that lands on the goal.
            if speed < _EPS or dt >= 2 * abs(distance) / speed:
                self._arrive(goal)
                return
            decel = speed * speed / (2 * abs(distance))
            self.height_mm = x + sign * (speed * dt - decel * dt * dt / 2)
            self.speed_mm_s = sign * (speed - decel * dt)
            return
        new_speed = min(speed + p.accel * dt, p.top_speed_mm_s)
        self.height_mm = x + sign * (speed + new_speed) / 2 * dt
        self.speed_mm_s = sign * new_speed

    @property
    def _landing_decel(self) -> float:
        # A held button's drive ends at a limit with the soft stop; a target has its own brake.
        return self.params.landing_decel if self._mode is _Mode.TARGET else self.params.decel

    def _brake(self, dt: float) -> None:
        v = self.speed_mm_s
        speed = abs(v)
        decel = self.params.decel
        if speed <= decel * dt:
            self.height_mm += v * (speed / decel) / 2
            self.speed_mm_s = 0.0
            if self._mode not in (_Mode.DRIVE, _Mode.TARGET):
                self._mode = _Mode.IDLE  # a reversal brakes too, and then sets off again
        else:
            sign = 1.0 if v > 0 else -1.0
            self.height_mm += sign * (speed * dt - decel * dt * dt / 2)
            self.speed_mm_s = sign * (speed - decel * dt)
        self.height_mm = self.params.limits.clamp(self.height_mm)

    def _arrive(self, goal: float) -> None:
        self.height_mm, self.speed_mm_s = goal, 0.0
        self._mode, self._stop_at, self._drive_until = _Mode.IDLE, None, None

    def _check_obstacle(self, start: float) -> None:
        obstacle = self.obstacle_mm
        if obstacle is None or self.fault is Fault.COLLISION:
            return
        before, after = start - obstacle, self.height_mm - obstacle
        if before == 0 or before * after > 0:
            return
        # Stopped dead by the obstacle: latch the fault and reverse a little.
        direction = -1.0 if before > 0 else 1.0
        self.height_mm, self.speed_mm_s = obstacle, 0.0
        self.fault = Fault.COLLISION
        self._mode = _Mode.TARGET
        self._goal = self.params.limits.clamp(obstacle - direction * self.params.backoff_mm)
        self._stop_at = self._drive_until = None

    def _track_duty(self) -> None:
        if self.speed_mm_s == 0.0:
            self.duty.stop(self.now)
            return
        self.duty.start(self.now)
        if self.fault is None and self.duty.on_time(self.now) >= self.params.duty_on_s:
            # Thermal cut-out, as a control box does after about 2 minutes of running.
            self.fault = Fault.OVERHEATED
            self._fault_until = self.now + self.params.rest_s
            self._mode, self._stop_at = _Mode.STOP, None
