"""Desk URLs and the drivers behind them.

A desk is named by a URL: ``sim://NAME`` today, and one scheme per desk
family as its driver lands.  Drivers are imported only when their scheme is
used, so a command for the simulated desk never loads Bluetooth or serial code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

from deskctl import desk_log, runtime
from deskctl.desk import Desk
from deskctl.errors import UnknownDeskURL
from deskctl.lock import STOP_SIGNAL, DeskLock
from deskctl.paths import Paths
from deskctl.units import Unit

DEFAULT_DESK = "sim://default"


@dataclass(frozen=True)
class DeskURL:
    scheme: str
    address: str
    options: dict[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def key(self) -> str:
        """The desk itself, without options: what active profiles are keyed on."""
        if self.scheme in _NAMED:
            return f"{self.scheme}://{self.address or 'default'}"
        return f"{self.scheme}://{self.address}"


# Schemes whose address is a name, empty meaning "default".
_NAMED = ("sim", "linak-emu")


DeskFactory = Callable[[DeskURL, Paths], Desk]


def _sim(url: DeskURL, paths: Paths) -> Desk:
    from deskctl.drivers import sim

    name = url.address or "default"
    return sim.from_url(name, url.options, paths.state_file("sim", name))


def _linak(url: DeskURL, paths: Paths) -> Desk:
    from deskctl.drivers.linak import LinakDesk

    if not url.address:
        raise UnknownDeskURL("linak:// needs the desk's address, like linak://C2:6D:4A:10:22:33")
    if url.options:
        raise UnknownDeskURL(f"linak:// takes no options, not {', '.join(url.options)}")
    return LinakDesk(url.address, remember=paths.state_file("linak", url.address))


def _linak_emulated(url: DeskURL, paths: Paths) -> Desk:
    from deskctl.drivers import linak_emulated

    name = url.address or "default"
    return linak_emulated.from_url(
        name,
        url.options,
        paths.state_file("linak-emu", name),
        remember=paths.state_file("linak", f"emu-{name}"),
    )


def _move_to_option(url: DeskURL) -> bool | None:
    """``move_to=yes|no`` overrides asking a Jiecang box whether it has move-to-height."""
    options = dict(url.options)
    choice = options.pop("move_to", "auto").lower()
    if options or choice not in _MOVE_TO_CHOICES:
        raise UnknownDeskURL(f"{url.scheme}:// takes one option, move_to=auto, yes or no")
    return _MOVE_TO_CHOICES[choice]


_MOVE_TO_CHOICES: dict[str, bool | None] = {"auto": None, "yes": True, "no": False}


def _jiecang(url: DeskURL, paths: Paths) -> Desk:
    from deskctl.drivers.jiecang import JiecangDesk

    if not url.address:
        raise UnknownDeskURL("jiecang:// needs a serial port, like jiecang:///dev/ttyUSB0")
    return JiecangDesk(
        url.address, move_to=_move_to_option(url), state_file=paths.state_file("jiecang", url.key)
    )


def _jiecang_ble(url: DeskURL, paths: Paths) -> Desk:
    from deskctl.drivers.jiecang_ble import JiecangBleDesk

    if not url.address:
        raise UnknownDeskURL(
            "jiecang-ble:// needs the adapter's address, like jiecang-ble://C4:12:34:56:78:9A"
        )
    return JiecangBleDesk(
        url.address, move_to=_move_to_option(url), state_file=paths.state_file("jiecang", url.key)
    )


def _loctek(url: DeskURL, paths: Paths) -> Desk:
    from deskctl.drivers.loctek import LoctekDesk

    if not url.address:
        raise UnknownDeskURL("loctek:// needs a serial port, like loctek:///dev/ttyUSB0")
    units = url.options.get("units", "cm")
    if units not in ("cm", "in") or set(url.options) - {"units"}:
        raise UnknownDeskURL("loctek:// takes one option, units=cm or units=in")
    return LoctekDesk(url.address, inches=units == "in")


# scheme -> (factory, an example)
DRIVERS: dict[str, tuple[DeskFactory, str]] = {
    "sim": (_sim, "sim://default"),
    "linak": (_linak, "linak://ADDRESS"),
    "linak-emu": (_linak_emulated, "linak-emu://NAME"),
    "jiecang": (_jiecang, "jiecang:///dev/ttyUSB0"),
    "jiecang-ble": (_jiecang_ble, "jiecang-ble://ADDRESS"),
    "loctek": (_loctek, "loctek:///dev/ttyUSB0"),
}


def parse_desk_url(text: str) -> DeskURL:
    """Split ``scheme://address?options``; unknown schemes are a clear error."""
    scheme, separator, rest = text.strip().partition("://")
    known = ", ".join(example for _, example in DRIVERS.values())
    if not separator or not scheme:
        raise UnknownDeskURL(f"{text!r} is not a desk URL; write it like {known}")
    scheme = scheme.lower()
    if scheme not in DRIVERS:
        raise UnknownDeskURL(
            f"unknown desk type {scheme + '://'!r} in {text!r}; deskctl knows {known}"
        )
    address, _, query = rest.partition("?")
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise UnknownDeskURL(f"the options in {text!r} are not key=value pairs") from None
    return DeskURL(scheme, address, options, text.strip())


def desk_key(text: str) -> str:
    """The desk a URL names, without its options (see :attr:`DeskURL.key`)."""
    return parse_desk_url(text).key


def physical_key(url: DeskURL) -> str:
    """The physical desk behind a URL, whatever the URL's spelling: what locks, the agent
    and remembered state are keyed on.  One Bluetooth address is one desk whichever driver
    names it, and one serial port is one line however it is reached."""
    if url.scheme in _NAMED:
        return url.key
    if url.scheme in ("linak", "jiecang-ble"):
        return f"ble://{url.address.upper()}"
    if url.address.lower().startswith("socket://"):
        host, _, port = url.address[len("socket://") :].lower().rpartition(":")
        return f"socket://{'127.0.0.1' if host == 'localhost' else host}:{port}"
    return f"serial://{os.path.realpath(url.address)}"


def create_desk(url: DeskURL, paths: Paths) -> Desk:
    factory, _ = DRIVERS[url.scheme]
    return factory(url, paths)


@contextlib.asynccontextmanager
async def open_desk(
    url_text: str,
    paths: Paths,
    unit: Unit = Unit.CM,
    *,
    holder: str | None = None,
    stoppable: bool = True,
) -> AsyncIterator[Desk]:
    """Lock, connect and yield the desk; on the way out stop it, disconnect and remember it.

    While it is open, a fault latch is remembered as soon as it changes, so a killed
    process keeps it, and (``stoppable``) ``deskctl stop`` from any other process stops
    it by a signal.
    """
    url = parse_desk_url(url_text)
    identity = physical_key(url)
    with DeskLock(runtime.lock_file(identity), url.key, holder):
        desk = create_desk(url, paths)
        desk.unit = unit
        log_file = paths.state_file("desks", identity)
        desk_log.restore(desk, log_file)
        try:
            async with desk, _latch_remembered(desk, log_file):
                if not stoppable:
                    yield desk
                    return
                async with _stoppable(desk):
                    yield desk
        finally:
            desk_log.remember(desk, log_file)


_OPEN_DESKS: set[Desk] = set()
_STOPS: set[asyncio.Task[object]] = set()


@contextlib.asynccontextmanager
async def _stoppable(desk: Desk) -> AsyncIterator[None]:
    """``deskctl stop`` from another process sends STOP_SIGNAL: stop every desk open here."""
    loop = asyncio.get_running_loop()

    def stop_all() -> None:
        for each in _OPEN_DESKS:
            task: asyncio.Task[object] = asyncio.create_task(each.stop())
            _STOPS.add(task)
            task.add_done_callback(_STOPS.discard)

    if not _OPEN_DESKS:
        with contextlib.suppress(ValueError, RuntimeError):  # not the main thread
            loop.add_signal_handler(STOP_SIGNAL, stop_all)
    _OPEN_DESKS.add(desk)
    try:
        yield
    finally:
        _OPEN_DESKS.discard(desk)
        if not _OPEN_DESKS:
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(STOP_SIGNAL)


@contextlib.asynccontextmanager
async def _latch_remembered(desk: Desk, log_file: Path) -> AsyncIterator[None]:
    async def follow() -> None:
        latched = desk.latched is not None
        with desk.subscribe() as states:
            async for _ in states:
                if (desk.latched is not None) != latched:
                    latched = desk.latched is not None
                    desk_log.remember(desk, log_file)

    task = asyncio.create_task(follow())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
