"""The freedesktop screen saver interface (org.freedesktop.ScreenSaver on the session
bus): KDE Plasma, Xfce and others.  Its ActiveChanged signal tells a lock (or a blanked
screen) and its end; the idle time is asked for only when the schedule needs it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deskctl.presence import bus
from deskctl.presence.source import LOCKED_IDLE_S, Sensed, Sign, Source, Tell

if TYPE_CHECKING:
    from dbus_fast.aio import MessageBus

NAME = "org.freedesktop.ScreenSaver"
PATH = "/org/freedesktop/ScreenSaver"
INTERFACE = "org.freedesktop.ScreenSaver"


class ScreenSaver(Source):
    name = "screensaver"

    def __init__(self) -> None:
        self._bus: MessageBus | None = None
        self._tell: Tell = lambda _: None

    async def open(self, tell: Tell, idle_after_s: float) -> bool:
        self._bus = await bus.connect(system=False)
        # GNOME owns this name too (for inhibitors) but answers no idle time: not a source.
        if (
            self._bus is None
            or not await bus.runs(self._bus, NAME)
            or await self._call("GetSessionIdleTime") is None
        ):
            await self.close()
            return False
        self._tell = tell
        await bus.on_signal(self._bus, NAME, PATH, INTERFACE, "ActiveChanged", handle=self._changed)
        return True

    async def idle_s(self) -> float | None:
        active = await self._call("GetActive")
        if active is not None and active[0]:
            return LOCKED_IDLE_S
        answer = await self._call("GetSessionIdleTime")
        return None if answer is None else float(answer[0])

    def _changed(self, body: list[Any]) -> None:
        if body:
            self._tell(Sensed(Sign.LOCKED if body[0] else Sign.ACTIVE))

    async def _call(self, member: str) -> list[Any] | None:
        if self._bus is None:
            return None
        return await bus.call(self._bus, NAME, PATH, INTERFACE, member)

    async def close(self) -> None:
        bus.disconnect(self._bus)
        self._bus = None
