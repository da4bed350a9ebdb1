"""macOS: the HID system's idle time, as ``ioreg -c IOHIDSystem`` prints it (in
nanoseconds).  macOS has no idle signal for a command-line program, so it is asked only
when the schedule needs to know (a change due, a prompt running out)."""

from __future__ import annotations

import re
import shutil
import sys

from deskctl.presence.command import output_of
from deskctl.presence.source import Source, Tell

HID_IDLE = re.compile(r'"HIDIdleTime"\s*=\s*(\d+)')


def hid_idle_s(ioreg_output: str) -> float | None:
    """The idle time in seconds in ``ioreg -c IOHIDSystem``'s output, if it has one."""
    found = HID_IDLE.search(ioreg_output)
    return None if found is None else int(found.group(1)) / 1e9


class MacHidIdle(Source):
    name = "macos"

    def __init__(self) -> None:
        self._tool: str | None = None

    async def open(self, tell: Tell, idle_after_s: float) -> bool:
        if sys.platform != "darwin":
            return False
        self._tool = shutil.which("ioreg")
        return self._tool is not None and await self.idle_s() is not None

    async def idle_s(self) -> float | None:
        if self._tool is None:
            return None
        output = await output_of([self._tool, "-c", "IOHIDSystem", "-d", "4"])
        return None if output is None else hid_idle_s(output)

    async def close(self) -> None:
        """Nothing held between questions."""
