"""The desktop's "do not disturb", as a meeting with no known end.

GNOME keeps it as its notification banners being off (the GSettings key
``org.gnome.desktop.notifications show-banners``).  It is read through the desktop's
settings portal on the session bus (``org.freedesktop.portal.Settings``: ``ReadOne``, or
``Read`` on older portals), which every GNOME session runs and which also serves sandboxed
apps, and followed by the portal's ``SettingChanged`` signal: one read at the start, then
nothing until the person flips it, so it costs no wakes.

Where there is no session bus or no portal (another desktop, a server), it is simply never
on: the schedule goes on with the calendars alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

PORTAL = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SETTINGS = "org.freedesktop.portal.Settings"
NAMESPACE = "org.gnome.desktop.notifications"
KEY = "show-banners"


class DoNotDisturb:
    """``dnd()`` says whether the desktop is set not to disturb; ``on_change`` is called
    when that changes (the schedule then looks again)."""

    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self.on_change = on_change
        self.active = False
        self._bus: Any = None

    def __call__(self) -> bool:
        return self.active

    async def start(self) -> bool:
        """Connect and read the state; False where the desktop does not tell it."""
        from dbus_fast import BusType, Message, MessageType
        from dbus_fast.aio import MessageBus

        try:
            bus = await MessageBus(bus_type=BusType.SESSION).connect()
        except (OSError, ValueError, Exception) as error:  # no session bus: nothing to follow
            log.debug("no session bus for do-not-disturb: %s", error)
            return False
        self._bus = bus
        # Listen first, then read: a change between the two is not lost.
        rule = (
            f"type='signal',interface='{SETTINGS}',member='SettingChanged',"
            f"path='{PORTAL_PATH}',arg0='{NAMESPACE}',arg1='{KEY}'"
        )
        await bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=[rule],
            )
        )
        bus.add_message_handler(self._message)
        for member in ("ReadOne", "Read"):
            reply = await bus.call(
                Message(
                    destination=PORTAL,
                    path=PORTAL_PATH,
                    interface=SETTINGS,
                    member=member,
                    signature="ss",
                    body=[NAMESPACE, KEY],
                )
            )
            if reply is not None and reply.message_type is MessageType.METHOD_RETURN:
                self._set(reply.body[0])
                return True
        log.debug("the desktop does not tell do-not-disturb (no settings portal)")
        return False

    def _message(self, message: Any) -> None:
        from dbus_fast import MessageType

        if (
            message.message_type is MessageType.SIGNAL
            and message.member == "SettingChanged"
            and message.interface == SETTINGS
            and list(message.body[:2]) == [NAMESPACE, KEY]
        ):
            before = self.active
            self._set(message.body[2])
            if self.active != before:
                self.on_change()

    def _set(self, value: Any) -> None:
        # The portal's Read wraps the value in a second variant; ReadOne does not.
        while hasattr(value, "value") and hasattr(value, "signature"):
            value = value.value
        self.active = value is False  # banners off: do not disturb

    def close(self) -> None:
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None


async def followed(on_change: Callable[[], None]) -> DoNotDisturb:
    """Do-not-disturb, read and followed from now on (never on where it cannot be read;
    a desktop that does not answer within seconds is not waited for)."""
    import asyncio

    dnd = DoNotDisturb(on_change)
    try:
        async with asyncio.timeout(5):
            await dnd.start()
    except TimeoutError:
        dnd.close()
    return dnd
