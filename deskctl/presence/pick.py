"""Picking the sources once, at the start, and asking them as one."""

from __future__ import annotations

import logging
from collections.abc import Callable

from deskctl.presence.gnome import GnomeIdleMonitor
from deskctl.presence.logind import Logind
from deskctl.presence.macos import MacHidIdle
from deskctl.presence.screensaver import ScreenSaver
from deskctl.presence.source import Source, Tell
from deskctl.presence.xprintidle import XPrintIdle

log = logging.getLogger(__name__)

SOURCES: dict[str, Callable[[], Source]] = {
    "logind": Logind,
    "gnome": GnomeIdleMonitor,
    "screensaver": ScreenSaver,
    "macos": MacHidIdle,
    "xprintidle": XPrintIdle,
}

IDLE_TIMES = ("gnome", "screensaver", "macos", "xprintidle")
"""Sources of an exact idle time, best first: auto takes the first that answers, and
logind besides (locks and idle hints, on any desktop) when it answers too."""


class Presence:
    """The sources picked for this session, asked as one."""

    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources

    @property
    def names(self) -> list[str]:
        return [source.name for source in self.sources]

    async def idle_s(self) -> float | None:
        """The longest idle time any source reports (a lock anywhere is away); None: unknown."""
        answers = [await source.idle_s() for source in self.sources]
        known = [answer for answer in answers if answer is not None]
        return max(known) if known else None

    async def close(self) -> None:
        for source in self.sources:
            await source.close()
        self.sources = []


async def open_presence(choice: str, tell: Tell, idle_after_s: float) -> Presence:
    """The sources ``choice`` allows that answer here; none at all is quiet, not an error."""
    if choice == "none":
        return Presence([])
    wanted = list(SOURCES) if choice == "auto" else [choice]
    picked: list[Source] = []
    for name in wanted:
        if (
            choice == "auto"
            and name in IDLE_TIMES
            and any(source.name in IDLE_TIMES for source in picked)
        ):
            continue  # one exact idle time is enough
        source = SOURCES[name]()
        if await source.open(tell, idle_after_s):
            picked.append(source)
    log.info("presence from %s", ", ".join(s.name for s in picked) or "nothing on this desktop")
    return Presence(picked)
