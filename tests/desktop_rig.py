"""Fake desktop services on the test's own D-Bus (see dbus_rig): logind's manager and
session, GNOME's idle monitor and the freedesktop screen saver, each a real service
that the presence sources talk to as they would to the real ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dbus_fast import BusType
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusBool, DBusObjectPath, DBusStr, DBusUInt32, DBusUInt64
from dbus_fast.constants import PropertyAccess
from dbus_fast.errors import DBusError
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property, dbus_signal

SESSION_ID = "c2"
SESSION_PATH = "/org/freedesktop/login1/session/c2"


class LogindManager(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.login1.Manager")
        self.asked: list[str] = []

    @dbus_method()
    def GetSession(self, session_id: DBusStr) -> DBusObjectPath:
        self.asked.append(f"GetSession {session_id}")
        if session_id != SESSION_ID:
            raise DBusError("org.freedesktop.login1.NoSuchSession", f"no session {session_id}")
        return SESSION_PATH

    @dbus_method()
    def GetSessionByPID(self, pid: DBusUInt32) -> DBusObjectPath:
        self.asked.append("GetSessionByPID")
        return SESSION_PATH


class LogindSession(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.login1.Session")
        self.idle = False
        self.idle_since_us = 0
        self.locked = False

    @dbus_property(access=PropertyAccess.READ)
    def IdleHint(self) -> DBusBool:
        return self.idle

    @dbus_property(access=PropertyAccess.READ)
    def IdleSinceHint(self) -> DBusUInt64:
        return self.idle_since_us

    @dbus_property(access=PropertyAccess.READ)
    def LockedHint(self) -> DBusBool:
        return self.locked

    def lock(self, locked: bool = True) -> None:
        self.locked = locked
        self.emit_properties_changed({"LockedHint": locked})

    def set_idle(self, idle: bool, since_us: int = 0) -> None:
        self.idle, self.idle_since_us = idle, since_us
        self.emit_properties_changed({"IdleHint": idle, "IdleSinceHint": since_us})


class MutterIdleMonitor(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.gnome.Mutter.IdleMonitor")
        self.idle_ms = 0
        self.idle_watches: dict[int, int] = {}
        self.active_watches: set[int] = set()
        self.asked = 0
        """How many times the idle time was asked for."""
        self.return_watched = asyncio.Event()
        """Set when a client asks to hear of the person's return."""
        self._next = 1

    @dbus_method()
    def GetIdletime(self) -> DBusUInt64:
        self.asked += 1
        return self.idle_ms

    @dbus_method()
    def AddIdleWatch(self, interval: DBusUInt64) -> DBusUInt32:
        self._next += 1
        self.idle_watches[self._next] = interval
        return self._next

    @dbus_method()
    def AddUserActiveWatch(self) -> DBusUInt32:
        self._next += 1
        self.active_watches.add(self._next)
        self.return_watched.set()
        return self._next

    @dbus_signal()
    def WatchFired(self, watch: int) -> DBusUInt32:
        return watch

    def leave(self, idle_ms: int) -> None:
        """Nobody touches anything for ``idle_ms``: the idle watches that covers fire."""
        self.idle_ms = idle_ms
        for watch, interval in self.idle_watches.items():
            if interval <= idle_ms:
                self.WatchFired(watch)

    def come_back(self) -> None:
        self.idle_ms = 0
        fired, self.active_watches = self.active_watches, set()
        for watch in fired:
            self.WatchFired(watch)


class ScreenSaver(ServiceInterface):
    def __init__(self, *, tells_idle_time: bool = True) -> None:
        super().__init__("org.freedesktop.ScreenSaver")
        self.tells_idle_time = tells_idle_time
        self.active = False
        self.idle_s = 0

    @dbus_method()
    def GetActive(self) -> DBusBool:
        return self.active

    @dbus_method()
    def GetSessionIdleTime(self) -> DBusUInt32:
        if not self.tells_idle_time:  # as GNOME's own answers
            raise DBusError("org.freedesktop.DBus.Error.NotSupported", "not supported")
        return self.idle_s

    @dbus_signal()
    def ActiveChanged(self, active: bool) -> DBusBool:
        return active

    def lock(self, active: bool = True) -> None:
        self.active = active
        self.ActiveChanged(active)


@asynccontextmanager
async def serving(
    address: str, name: str, *objects: tuple[str, ServiceInterface]
) -> AsyncIterator[MessageBus]:
    """Own ``name`` on the bus at ``address`` with ``objects`` exported, while inside."""
    bus = await MessageBus(address, bus_type=BusType.SESSION).connect()
    for path, interface in objects:
        bus.export(path, interface)
    await bus.request_name(name)
    try:
        yield bus
    finally:
        bus.disconnect()


@asynccontextmanager
async def fake_logind(address: str) -> AsyncIterator[tuple[LogindManager, LogindSession]]:
    manager, session = LogindManager(), LogindSession()
    async with serving(
        address,
        "org.freedesktop.login1",
        ("/org/freedesktop/login1", manager),
        (SESSION_PATH, session),
    ):
        yield manager, session


@asynccontextmanager
async def fake_mutter(address: str) -> AsyncIterator[MutterIdleMonitor]:
    monitor = MutterIdleMonitor()
    path = "/org/gnome/Mutter/IdleMonitor/Core"
    async with serving(address, "org.gnome.Mutter.IdleMonitor", (path, monitor)):
        yield monitor


@asynccontextmanager
async def fake_screensaver(
    address: str, *, tells_idle_time: bool = True
) -> AsyncIterator[ScreenSaver]:
    saver = ScreenSaver(tells_idle_time=tells_idle_time)
    async with serving(
        address, "org.freedesktop.ScreenSaver", ("/org/freedesktop/ScreenSaver", saver)
    ):
        yield saver
