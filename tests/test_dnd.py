"""The desktop's do-not-disturb, read from a settings portal on a private session bus and
followed by its signal: a fake GNOME portal on a real ``dbus-daemon``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import pytest
from dbus_fast import BusType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusSignature, DBusStr
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal

from deskctl.policy.dnd import KEY, NAMESPACE, PORTAL, PORTAL_PATH, SETTINGS, DoNotDisturb

Changed = Annotated[tuple[str, str, Variant], DBusSignature("ssv")]
Value = Annotated[Variant, DBusSignature("v")]


class FakePortal(ServiceInterface):
    """GNOME's settings portal, as far as notification banners go."""

    def __init__(self, *, read_one: bool = True) -> None:
        super().__init__(SETTINGS)
        self.banners = True
        self.read_one = read_one

    @dbus_method(name="ReadOne")
    def read_one_(self, namespace: DBusStr, key: DBusStr) -> Value:
        if not self.read_one:
            raise NotImplementedError  # an older portal: an error answer
        return Variant("b", self._value(namespace, key))

    @dbus_method(name="Read")
    def read(self, namespace: DBusStr, key: DBusStr) -> Value:
        return Variant("v", Variant("b", self._value(namespace, key)))

    def _value(self, namespace: str, key: str) -> bool:
        assert (namespace, key) == (NAMESPACE, KEY)
        return self.banners

    @dbus_signal(name="SettingChanged")
    def setting_changed(self) -> Changed:
        return (NAMESPACE, KEY, Variant("b", self.banners))

    def flip(self, banners: bool) -> None:
        self.banners = banners
        self.setting_changed()


async def portal_on(address: str, portal: FakePortal) -> MessageBus:
    bus = await MessageBus(bus_address=address, bus_type=BusType.SESSION).connect()
    bus.export(PORTAL_PATH, portal)
    await bus.request_name(PORTAL)
    return bus


@pytest.fixture
async def portal(session_bus: str) -> AsyncIterator[FakePortal]:
    fake = FakePortal()
    bus = await portal_on(session_bus, fake)
    yield fake
    bus.disconnect()


async def test_do_not_disturb_is_read_then_followed_without_polling(portal: FakePortal) -> None:
    changed = asyncio.Event()
    dnd = DoNotDisturb(on_change=changed.set)
    assert await dnd.start()
    assert not dnd()
    portal.flip(banners=False)  # the person turns on do not disturb
    async with asyncio.timeout(10):  # bounded: a signal not followed fails, not hangs
        await changed.wait()
    assert dnd()
    changed.clear()
    portal.flip(banners=True)
    async with asyncio.timeout(10):
        await changed.wait()
    assert not dnd()
    dnd.close()


async def test_an_older_portal_and_do_not_disturb_already_on(session_bus: str) -> None:
    fake = FakePortal(read_one=False)
    fake.banners = False
    bus = await portal_on(session_bus, fake)
    dnd = DoNotDisturb()
    assert await dnd.start()
    assert dnd()
    dnd.close()
    bus.disconnect()


async def test_no_portal_or_no_bus_is_never_disturbed(
    session_bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dnd = DoNotDisturb()
    assert not await dnd.start()  # a bus with no portal on it
    assert not dnd()
    dnd.close()
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    monkeypatch.delenv("DISPLAY", raising=False)
    assert not await DoNotDisturb().start()
