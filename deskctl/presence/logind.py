"""systemd-logind's view of this login session (org.freedesktop.login1 on the system bus):
``LockedHint`` and ``IdleHint``, which the desktop (GNOME, KDE, most Wayland compositors)
keeps up to date, on X11 and Wayland alike.  Their changes come as PropertiesChanged."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from deskctl.presence import bus
from deskctl.presence.source import LOCKED_IDLE_S, Sensed, Sign, Source, Tell

if TYPE_CHECKING:
    from dbus_fast.aio import MessageBus

NAME = "org.freedesktop.login1"
MANAGER_PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"
PROPERTIES = "org.freedesktop.DBus.Properties"


class Logind(Source):
    name = "logind"

    def __init__(self) -> None:
        self._bus: MessageBus | None = None
        self._path = ""
        self._tell: Tell = lambda _: None
        self._locked = False
        self._idle = False

    async def open(self, tell: Tell, idle_after_s: float) -> bool:
        # DBUS_SYSTEM_BUS_ADDRESS, when set, names the bus (dbus-fast honours it).
        self._bus = await bus.connect(system=True)
        if self._bus is None or not await bus.runs(self._bus, NAME):
            return await self._give_up()
        path = await self._session_path(self._bus)
        if path is None:
            return await self._give_up()
        self._path, self._tell = path, tell
        await bus.on_signal(
            self._bus, NAME, path, PROPERTIES, "PropertiesChanged", handle=self._changed
        )
        hints = await self._hints()
        if hints is None:
            return await self._give_up()
        return True

    async def _session_path(self, system: MessageBus) -> str | None:
        """This login session's object: by $XDG_SESSION_ID, else the one this process is in."""
        session_id = os.environ.get("XDG_SESSION_ID")
        if session_id:
            found = await bus.call(
                system, NAME, MANAGER_PATH, MANAGER, "GetSession", signature="s", body=[session_id]
            )
            if found:
                return str(found[0])
        found = await bus.call(
            system,
            NAME,
            MANAGER_PATH,
            MANAGER,
            "GetSessionByPID",
            signature="u",
            body=[os.getpid()],
        )
        return None if not found else str(found[0])

    async def _hints(self) -> dict[str, Any] | None:
        if self._bus is None:
            return None
        answer = await bus.call(
            self._bus, NAME, self._path, PROPERTIES, "GetAll", signature="s", body=[SESSION]
        )
        if answer is None:
            return None
        hints = {key: variant.value for key, variant in answer[0].items()}
        self._locked = bool(hints.get("LockedHint", False))
        self._idle = bool(hints.get("IdleHint", False))
        return hints

    async def idle_s(self) -> float | None:
        hints = await self._hints()
        if hints is None:
            return None
        if self._locked:
            return LOCKED_IDLE_S
        if not self._idle:
            return 0.0  # active, as far as the desktop's idle delay can tell
        since_us = int(hints.get("IdleSinceHint", 0))
        return LOCKED_IDLE_S if since_us <= 0 else max(0.0, time.time() - since_us / 1e6)

    def _changed(self, body: list[Any]) -> None:
        if len(body) < 2 or body[0] != SESSION:
            return
        changed = {key: variant.value for key, variant in body[1].items()}
        if "LockedHint" in changed and bool(changed["LockedHint"]) != self._locked:
            self._locked = bool(changed["LockedHint"])
            self._tell(Sensed(Sign.LOCKED if self._locked else Sign.ACTIVE))
        if "IdleHint" in changed and bool(changed["IdleHint"]) != self._idle:
            self._idle = bool(changed["IdleHint"])
            if not self._locked:
                self._tell(Sensed(Sign.IDLE if self._idle else Sign.ACTIVE))

    async def _give_up(self) -> bool:
        await self.close()
        return False

    async def close(self) -> None:
        bus.disconnect(self._bus)
        self._bus = None
