"""A desktop's notification service for tests: a real ``org.freedesktop.Notifications``
on the test's private session bus, which keeps what it was sent and clicks as a person
would (the action's signal, then the notification closed, as desktops do)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusInt32, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
CLOSED_EXPIRED, CLOSED_DISMISSED, CLOSED_BY_CALL = 1, 2, 3


@dataclass
class Shown:
    id: int
    summary: str
    body: str
    actions: dict[str, str]
    """Each action's key and label."""
    hints: dict[str, Any] = field(default_factory=dict)
    timeout_ms: int = -1


class FakeNotifications(ServiceInterface):
    def __init__(self, capabilities: tuple[str, ...] = ("actions", "body")) -> None:
        super().__init__(NAME)
        self.capabilities = list(capabilities)
        self.sent: list[Shown] = []
        self.open: dict[int, Shown] = {}
        self.closed_by_call: list[int] = []
        self.changed = asyncio.Event()
        """Set on every Notify and CloseNotification; tests clear it and await the next."""

    @dbus_method()
    def Notify(  # noqa: PLR0917 - the specification's method
        self,
        app_name: DBusStr,
        replaces_id: DBusUInt32,
        app_icon: DBusStr,
        summary: DBusStr,
        body: DBusStr,
        actions: Annotated[list[str], DBusSignature("as")],
        hints: Annotated[dict[str, Any], DBusSignature("a{sv}")],
        expire_timeout: DBusInt32,
    ) -> DBusUInt32:
        shown = Shown(
            replaces_id or len(self.sent) + 1,
            summary,
            body,
            dict(zip(actions[::2], actions[1::2], strict=True)),
            hints,
            expire_timeout,
        )
        self.sent.append(shown)
        self.open[shown.id] = shown
        self.changed.set()
        return shown.id

    @dbus_method()
    def CloseNotification(self, id: DBusUInt32) -> Annotated[None, DBusSignature("")]:
        self.closed_by_call.append(id)
        if self.open.pop(id, None) is not None:
            self.NotificationClosed(id, CLOSED_BY_CALL)
        self.changed.set()

    @dbus_method()
    def GetCapabilities(self) -> Annotated[list[str], DBusSignature("as")]:
        return self.capabilities

    @dbus_method()
    def GetServerInformation(
        self,
    ) -> Annotated[list[str], DBusSignature("ssss")]:
        return ["fake", "deskctl tests", "1.0", "1.2"]

    @dbus_signal()
    def ActionInvoked(
        self,
        id: int,
        key: str,
    ) -> Annotated[list[Any], DBusSignature("us")]:
        return [id, key]

    @dbus_signal()
    def NotificationClosed(
        self,
        id: int,
        reason: int,
    ) -> Annotated[list[int], DBusSignature("uu")]:
        return [id, reason]

    # -- for the tests ------------------------------------------------------------------------

    def click(self, key: str) -> None:
        """Press the button ``key`` of the notification open now."""
        (shown,) = self.open.values()
        assert key in shown.actions, shown.actions
        del self.open[shown.id]
        self.ActionInvoked(shown.id, key)
        self.NotificationClosed(shown.id, CLOSED_DISMISSED)

    async def next_change(self) -> None:
        """The next Notify or CloseNotification (from after the last call to this)."""
        async with asyncio.timeout(10):
            await self.changed.wait()
        self.changed.clear()

    async def until_open(self, count: int) -> Shown | None:
        """Wait until ``count`` notifications are open; the last one sent."""
        async with asyncio.timeout(10):
            while len(self.open) != count:
                await self.next_change()
        return self.sent[-1] if count else None


@asynccontextmanager
async def notification_service(
    capabilities: tuple[str, ...] = ("actions", "body"),
) -> AsyncIterator[FakeNotifications]:
    """The fake service on the session bus of ``DBUS_SESSION_BUS_ADDRESS`` (the test's)."""
    bus = await MessageBus().connect()
    service = FakeNotifications(capabilities)
    bus.export(PATH, service)
    await bus.request_name(NAME)
    try:
        yield service
    finally:
        bus.disconnect()
