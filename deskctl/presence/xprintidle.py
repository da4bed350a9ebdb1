"""``xprintidle``: milliseconds since the last input on an X11 display.  The fallback
where no desktop service answers; asked only when the schedule needs to know."""

from __future__ import annotations

import os
import shutil

from deskctl.presence.command import output_of
from deskctl.presence.source import Source, Tell


class XPrintIdle(Source):
    name = "xprintidle"

    def __init__(self) -> None:
        self._tool: str | None = None

    async def open(self, tell: Tell, idle_after_s: float) -> bool:
        if not os.environ.get("DISPLAY"):
            return False
        self._tool = shutil.which("xprintidle")
        return self._tool is not None and await self.idle_s() is not None

    async def idle_s(self) -> float | None:
        if self._tool is None:
            return None
        output = await output_of([self._tool])
        try:
            return None if output is None else int(output.strip()) / 1000
        except ValueError:
            return None

    async def close(self) -> None:
        """Nothing held between questions."""
