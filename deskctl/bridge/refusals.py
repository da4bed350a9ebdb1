"""Refused commands in the log: the first at once, then one summary a minute while they go on.

A flood of junk on the broker must not flood the log (each refusal still has its own
event on the desk's event topic).  The timer runs only while refusals keep coming.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

log = logging.getLogger("deskctl.serve")


class RefusalLog:
    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._counts: Counter[str] = Counter()
        self._last = ""
        self._timer: asyncio.TimerHandle | None = None

    def refused(self, desk: str, what: str, reason: str) -> None:
        line = f"{desk}: refused {what}: {reason}"
        if self._timer is None:
            log.warning("%s", line)
            self._timer = asyncio.get_running_loop().call_later(self.window_s, self._summarise)
        else:
            self._counts[desk] += 1
            self._last = line

    def _summarise(self) -> None:
        if not self._counts:
            self._timer = None  # quiet again: the next refusal is logged at once
            return
        total = sum(self._counts.values())
        per_desk = ", ".join(f"{desk}: {n}" for desk, n in self._counts.most_common())
        log.warning(
            "refused %d more commands in the last %.0f s (%s); the last: %s",
            total,
            self.window_s,
            per_desk,
            self._last,
        )
        self._counts.clear()
        self._timer = asyncio.get_running_loop().call_later(self.window_s, self._summarise)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
