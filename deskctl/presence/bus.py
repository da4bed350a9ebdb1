"""The few D-Bus calls the sources make, on dbus-fast's asyncio bus, without proxies
(no introspection round trips) and without starting services that do not run."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbus_fast import Message
    from dbus_fast.aio import MessageBus

log = logging.getLogger(__name__)
CALL_TIMEOUT_S = 5.0
"""A desktop service that does not answer in this long is taken as absent."""


async def connect(system: bool) -> MessageBus | None:
    """The session (or system) bus, or None, quietly, when there is none to reach."""
    try:
        from dbus_fast import BusType
        from dbus_fast.aio import MessageBus
    except ImportError:  # not on this platform
        return None
    kind = BusType.SYSTEM if system else BusType.SESSION
    address = None if system else _session_address()
    try:
        return await MessageBus(address, bus_type=kind).connect()
    except Exception as error:  # no address, no socket, refused: all mean "no bus here"
        log.debug("no %s bus: %s", kind.name.lower(), error)
        return None


def _session_address() -> str | None:
    """$DBUS_SESSION_BUS_ADDRESS, else the user bus systemd keeps in the runtime folder
    (an agent started from a service may have no address in its environment)."""
    import os
    from pathlib import Path

    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return None  # dbus-fast reads it
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and (Path(runtime) / "bus").exists():
        return f"unix:path={Path(runtime) / 'bus'}"
    return None


async def call(
    bus: MessageBus,
    destination: str,
    path: str,
    interface: str,
    member: str,
    *,
    signature: str = "",
    body: list[Any] | None = None,
) -> list[Any] | None:
    """A method's return values, or None when it failed (no such service, no such method)."""
    import asyncio

    from dbus_fast import Message, MessageType

    message = Message(
        destination=destination,
        path=path,
        interface=interface,
        member=member,
        signature=signature,
        body=body or [],
    )
    try:
        async with asyncio.timeout(CALL_TIMEOUT_S):
            reply = await bus.call(message)
    except (TimeoutError, OSError, EOFError) as error:
        log.debug("%s.%s: %s", interface, member, error)
        return None
    if reply is None or reply.message_type is MessageType.ERROR:
        log.debug("%s.%s: %s", interface, member, None if reply is None else reply.body)
        return None
    return list(reply.body)


async def runs(bus: MessageBus, name: str) -> bool:
    """Whether ``name`` has an owner now (asking it directly could start it)."""
    answer = await call(
        bus,
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "NameHasOwner",
        signature="s",
        body=[name],
    )
    return bool(answer and answer[0])


async def on_signal(
    bus: MessageBus,
    sender: str,
    path: str,
    interface: str,
    member: str,
    *,
    handle: Callable[[list[Any]], None],
) -> None:
    """Call ``handle`` with the body of every such signal, from now on."""
    rule = (
        f"type='signal',sender='{sender}',path='{path}',interface='{interface}',member='{member}'"
    )
    await call(
        bus,
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "AddMatch",
        signature="s",
        body=[rule],
    )

    def handler(message: Message) -> None:
        from dbus_fast import MessageType

        if (
            message.message_type is MessageType.SIGNAL
            and message.path == path
            and message.interface == interface
            and message.member == member
        ):
            handle(list(message.body))

    bus.add_message_handler(handler)


def disconnect(bus: MessageBus | None) -> None:
    if bus is not None:
        with contextlib.suppress(Exception):
            bus.disconnect()
