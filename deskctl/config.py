"""The config file: which desk to use, the unit to show, sit and stand heights.

A TOML file in the platform's config folder (``deskctl config path`` prints
it), for example::

    desk = "office"          # a desk URL, or the name of a desk below
    unit = "cm"              # mm, cm or in
    sit = "72cm"
    stand = "110cm"

    [desks.office]
    url = "sim://office"
    stand = "112cm"          # overrides the heights above for this desk

Every problem is reported with the file, the line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deskctl.errors import ConfigError, DeskctlError, UnknownDeskURL
from deskctl.toml_lines import line_of, toml_error_line
from deskctl.units import Unit, parse_height

DEFAULT_DESK = "sim://default"
# A seated and a standing working height for a person of about 1.75 m.
DEFAULT_SIT_MM = 720.0
DEFAULT_STAND_MM = 1100.0


@dataclass(frozen=True)
class DeskEntry:
    """A desk the config knows, with the heights to use at it."""

    name: str
    url: str
    sit_mm: float
    stand_mm: float


@dataclass(frozen=True)
class Config:
    desk: str = DEFAULT_DESK
    unit: Unit = Unit.CM
    sit_mm: float = DEFAULT_SIT_MM
    stand_mm: float = DEFAULT_STAND_MM
    desks: dict[str, DeskEntry] = field(default_factory=dict)
    path: Path | None = None

    def resolve(self, desk: str | None = None) -> DeskEntry:
        """The desk named by ``desk`` (a URL or a configured name), else the default one."""
        choice = desk or self.desk
        if "://" in choice:
            for entry in self.desks.values():
                if entry.url == choice:
                    return entry
            return DeskEntry(choice, choice, self.sit_mm, self.stand_mm)
        if choice in self.desks:
            return self.desks[choice]
        known = ", ".join(sorted(self.desks)) or "none"
        raise UnknownDeskURL(
            f"{choice!r} is neither a desk URL nor a desk in the config (configured: {known})"
        )


_TOP_KEYS = {"desk", "unit", "sit", "stand", "desks"}
_DESK_KEYS = {"url", "sit", "stand"}


def load_config(path: Path) -> Config:
    """Read the config at ``path``; a missing file gives the defaults."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(path=None)
    except OSError as error:
        raise ConfigError(str(path), None, None, f"cannot read it: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), None, None, "it is not UTF-8 text") from None
    import tomllib  # only when there is a file to read: status with no config starts faster

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = toml_error_line(str(error))
        raise ConfigError(str(path), line, None, f"not valid TOML ({error})") from None
    return _Reader(path, text).config(data)


class _Reader:
    """Validates parsed TOML, pointing each error at its line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def config(self, data: dict[str, Any]) -> Config:
        self._no_unknown(data, _TOP_KEYS, ())
        unit_text = self._string(data, "unit", (), Unit.CM.value)
        try:
            unit = Unit(unit_text)
        except ValueError:
            raise self._error(("unit",), f"must be mm, cm or in, not {unit_text!r}") from None
        sit = self._height(data, "sit", (), DEFAULT_SIT_MM)
        stand = self._height(data, "stand", (), DEFAULT_STAND_MM)
        self._ordered(sit, stand, ())
        desks_table = data.get("desks", {})
        if not isinstance(desks_table, dict):
            raise self._error(("desks",), "must be a table of desks, like [desks.office]")
        desks: dict[str, DeskEntry] = {}
        for name, table in desks_table.items():
            where = ("desks", name)
            if not isinstance(table, dict):
                raise self._error(where, "must be a table with a url")
            self._no_unknown(table, _DESK_KEYS, where)
            if "url" not in table:
                raise self._error(where, 'needs a url, like url = "sim://office"')
            url = self._string(table, "url", where, "")
            self._check_url(url, (*where, "url"))
            desk_sit = self._height(table, "sit", where, sit)
            desk_stand = self._height(table, "stand", where, stand)
            self._ordered(desk_sit, desk_stand, where)
            desks[name] = DeskEntry(name, url, desk_sit, desk_stand)
        desk = self._string(data, "desk", (), DEFAULT_DESK)
        if "://" in desk:
            self._check_url(desk, ("desk",))
        elif desk not in desks:
            raise self._error(("desk",), f"names no desk: there is no [desks.{desk}] table")
        return Config(desk, unit, sit, stand, desks, self.path)

    def _no_unknown(self, table: dict[str, Any], known: set[str], where: tuple[str, ...]) -> None:
        for key in table:
            if key not in known:
                raise self._error(
                    (*where, key), f"unknown setting (known here: {', '.join(sorted(known))})"
                )

    def _string(self, table: dict[str, Any], key: str, where: tuple[str, ...], default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self._error((*where, key), f"must be a string in quotes, not {value!r}")
        return value

    def _height(
        self, table: dict[str, Any], key: str, where: tuple[str, ...], default: float
    ) -> float:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, str | int | float):
            raise self._error((*where, key), f"{value!r} is not a height")
        try:
            return parse_height(value)
        except DeskctlError as error:
            raise self._error((*where, key), str(error)) from None

    def _ordered(self, sit: float, stand: float, where: tuple[str, ...]) -> None:
        if stand <= sit:
            raise self._error((*where, "stand"), "must be higher than sit")

    def _check_url(self, url: str, where: tuple[str, ...]) -> None:
        from deskctl.drivers.registry import parse_desk_url

        try:
            parse_desk_url(url)
        except DeskctlError as error:
            raise self._error(where, str(error)) from None

    def _error(self, where: tuple[str, ...], problem: str) -> ConfigError:
        return ConfigError(str(self.path), line_of(self.lines, where), ".".join(where), problem)
