"""Waits between attempts that double up to a ceiling, with jitter so a fleet spreads out."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, first_s: float, longest_s: float) -> None:
        self.first_s = first_s
        self.longest_s = longest_s
        self._next = first_s

    def next(self) -> float:
        """Seconds to wait before the next attempt (between half and all of the step)."""
        step = self._next
        self._next = min(self.longest_s, step * 2)
        return step * random.uniform(0.5, 1.0)  # noqa: S311 (spreading, not secrecy)

    def reset(self) -> None:
        self._next = self.first_s
