"""GNOME's idle monitor (org.gnome.Mutter.IdleMonitor on the session bus), on X11 and
Wayland alike.  Nothing polls: an idle watch fires once the person has been away long
enough, and then a user-active watch (one-shot) fires when they are back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deskctl.presence import bus
from deskctl.presence.source import Sensed, Sign, Source, Tell

if TYPE_CHECKING:
    from dbus_fast.aio import MessageBus

NAME = "org.gnome.Mutter.IdleMonitor"
PATH = "/org/gnome/Mutter/IdleMonitor/Core"
INTERFACE = "org.gnome.Mutter.IdleMonitor"


class GnomeIdleMonitor(Source):
    name = "gnome"

    def __init__(self) -> None:
        self._bus: MessageBus | None = None
        self._tell: Tell = lambda _: None
        self._idle_watch: int | None = None
        self._active_watch: int | None = None
        self._idle_after_s = 0.0
        self._away = False

    async def open(self, tell: Tell, idle_after_s: float) -> bool:
        self._bus = await bus.connect(system=False)
        if self._bus is None or not await bus.runs(self._bus, NAME):
            return await self._give_up()
        if await self.idle_s() is None:
            return await self._give_up()
        self._tell, self._idle_after_s = tell, idle_after_s
        await bus.on_signal(self._bus, NAME, PATH, INTERFACE, "WatchFired", handle=self._fired)
        watch = await self._call("AddIdleWatch", "t", [round(idle_after_s * 1000)])
        if watch is None:
            return await self._give_up()
        self._idle_watch = watch[0]
        return True

    async def idle_s(self) -> float | None:
        answer = await self._call("GetIdletime")
        return None if answer is None else answer[0] / 1000

    def _fired(self, body: list[Any]) -> None:
        import asyncio

        if not body:
            return
        if body[0] == self._idle_watch and not self._away:
            self._away = True
            self._tell(Sensed(Sign.IDLE, self._idle_after_s))
            asyncio.get_running_loop().create_task(self._watch_for_return())
        elif self._away and self._active_watch in (body[0], None):
            # None: the watch's id is still on its way back (the signal can overtake it).
            self._away, self._active_watch = False, None  # one-shot: gone once fired
            self._tell(Sensed(Sign.ACTIVE))

    async def _watch_for_return(self) -> None:
        answer = await self._call("AddUserActiveWatch")
        if answer is not None and self._away:
            self._active_watch = answer[0]

    async def _call(
        self, member: str, signature: str = "", body: list[Any] | None = None
    ) -> list[Any] | None:
        if self._bus is None:
            return None
        return await bus.call(
            self._bus, NAME, PATH, INTERFACE, member, signature=signature, body=body
        )

    async def _give_up(self) -> bool:
        await self.close()
        return False

    async def close(self) -> None:
        bus.disconnect(self._bus)
        self._bus = None
