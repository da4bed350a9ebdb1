"""Motor duty cycle: how long the motor ran within a sliding window.

Desk motors are rated for short runs, typically 2 minutes on within any
20 minutes (10 %).  The physics model uses this to cut the motor out like a
real control box does; desks use it as a guard so that a move which would
trip the cut-out half way is refused before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_WINDOW_S = 1200.0
DEFAULT_ON_S = 120.0


@dataclass
class DutyCycle:
    """Run intervals of one motor, in the seconds of some clock."""

    window_s: float = DEFAULT_WINDOW_S
    on_s: float = DEFAULT_ON_S
    runs: list[tuple[float, float]] = field(default_factory=list)
    running_since: float | None = None

    def start(self, now: float) -> None:
        if self.running_since is None:
            self.running_since = now

    def stop(self, now: float) -> None:
        if self.running_since is not None:
            if now > self.running_since:
                self.runs.append((self.running_since, now))
            self.running_since = None
        self._forget(now)

    def on_time(self, now: float) -> float:
        """Seconds the motor ran within the window ending at ``now``."""
        since = now - self.window_s
        total = sum(max(0.0, end - max(start, since)) for start, end in self.runs)
        if self.running_since is not None:
            total += max(0.0, now - max(self.running_since, since))
        return total

    def remaining(self, now: float) -> float:
        """Seconds the motor may still run right now."""
        return max(0.0, self.on_s - self.on_time(now))

    def wait_for(self, now: float, seconds: float) -> float:
        """How long until the motor may run ``seconds`` without exceeding its share."""
        seconds = min(seconds, self.on_s)
        if self.remaining(now) >= seconds:
            return 0.0
        # on_time only falls while the motor rests, so bisection finds the first moment.
        low, high = 0.0, self.window_s
        for _ in range(40):
            mid = (low + high) / 2
            if self.on_s - self.on_time(now + mid) >= seconds:
                high = mid
            else:
                low = mid
        return high

    def shifted(self, offset: float) -> DutyCycle:
        """The same log with every time moved by ``offset`` (to change clocks)."""
        return DutyCycle(
            self.window_s,
            self.on_s,
            [(start + offset, end + offset) for start, end in self.runs],
            None if self.running_since is None else self.running_since + offset,
        )

    def _forget(self, now: float) -> None:
        since = now - self.window_s
        self.runs = [(start, end) for start, end in self.runs if end > since]
