"""Desk URLs and the drivers behind them.

A desk is named by a URL: ``sim://NAME`` today, and one scheme per desk
family as its driver lands.  Drivers are imported only when their scheme is
used, so a command for the simulated desk never loads Bluetooth or serial code.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from deskctl import desk_log
from deskctl.desk import Desk
from deskctl.errors import UnknownDeskURL
from deskctl.lock import DeskLock
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
        """The desk itself, without options: what locks and remembered state are keyed on."""
        return f"{self.scheme}://{self.address}"


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
    return LinakDesk(url.address)


def _linak_emulated(url: DeskURL, paths: Paths) -> Desk:
    from deskctl.drivers import linak_emulated

    name = url.address or "default"
    return linak_emulated.from_url(name, url.options, paths.state_file("linak-emu", name))


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


def create_desk(url: DeskURL, paths: Paths) -> Desk:
    factory, _ = DRIVERS[url.scheme]
    return factory(url, paths)


@contextlib.asynccontextmanager
async def open_desk(url_text: str, paths: Paths, unit: Unit = Unit.CM) -> AsyncIterator[Desk]:
    """Lock, connect and yield the desk; on the way out stop it, disconnect and remember it."""
    url = parse_desk_url(url_text)
    with DeskLock(paths.lock_file(url.key), url.key):
        desk = create_desk(url, paths)
        desk.unit = unit
        log_file = paths.state_file("desks", url.key)
        desk_log.restore(desk, log_file)
        try:
            async with desk:
                yield desk
        finally:
            desk_log.remember(desk, log_file)
