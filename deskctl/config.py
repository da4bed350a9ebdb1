"""The config file: which desk to use, the unit to show, sit and stand heights.

A TOML file in the platform's config folder (``deskctl config path`` prints
it), for example::

    desk = "office"          # a desk URL, or the name of a desk below
    unit = "cm"              # mm, cm or in
    sit = "72cm"
    stand = "110cm"
    notify = true            # the schedule's prompts as desktop notifications

    [desks.office]
    url = "sim://office"
    stand = "112cm"          # overrides the heights above for this desk

    [mqtt]                   # for 'deskctl serve' (see MqttConfig)
    host = "broker.local"

    [presence]               # where the schedule learns whether the person is there
    source = "auto"          # or logind, gnome, screensaver, macos, xprintidle, none

Every problem is reported with the file, the line and the field.
"""

from __future__ import annotations

import re
import socket
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


TOPIC_WORD = re.compile(r"^[A-Za-z0-9_-]+$")


def default_node() -> str:
    """This machine's name, as a topic word: what tells one bridge from another."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", socket.gethostname()).strip("_") or "deskctl"


@dataclass(frozen=True)
class MqttConfig:
    """The ``[mqtt]`` table: how ``deskctl serve`` reaches the broker, and what it allows."""

    host: str = "localhost"
    port: int | None = None
    """None: 1883, or 8883 with TLS."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: Path | None = None
    """A CA certificate to trust (implies TLS); the system's CAs otherwise."""
    cert_file: Path | None = None
    key_file: Path | None = None
    base: str = "deskctl"
    """The first topic level of everything the bridge publishes and takes commands on."""
    discovery_prefix: str = "homeassistant"
    node: str = field(default_factory=default_node)
    """This bridge among others on the broker (the machine's name by default)."""
    keepalive_s: int = 30
    remote_moves: bool = False
    """Whether commands from the broker may move the desks (stop always works)."""
    moves_per_minute: int = 20
    """Remote move commands a desk takes in a minute (a burst of 3, then steady)."""

    @property
    def broker_port(self) -> int:
        return self.port or (8883 if self.tls else 1883)


@dataclass(frozen=True)
class AgentConfig:
    """The ``[agent]`` table: whether commands go through ``deskctl agent``, and its timing."""

    enabled: bool = True
    """False: every command opens the desk itself (direct mode, as ``--no-agent``)."""
    idle_exit_s: int = 300
    """A started agent exits after this many seconds with no client, desk or schedule."""
    keep_open_s: int = 60
    """A desk stays connected this long after its last client, for the next command."""


@dataclass(frozen=True)
class Config:
    desk: str = DEFAULT_DESK
    unit: Unit = Unit.CM
    sit_mm: float = DEFAULT_SIT_MM
    stand_mm: float = DEFAULT_STAND_MM
    desks: dict[str, DeskEntry] = field(default_factory=dict)
    path: Path | None = None
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    presence: str = "auto"
    """``[presence] source``: which of the desktop's presence sources the schedule asks."""
    notify: bool = True
    """Whether the schedule's prompts show as desktop notifications (where there are any)."""

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


_SECRET_KEYS = {"password"}
_TOP_KEYS = {"desk", "unit", "sit", "stand", "notify", "desks", "mqtt", "agent", "presence"}
_AGENT_KEYS = {"enabled", "idle_exit", "keep_open"}
_PRESENCE_KEYS = {"source"}
_DESK_KEYS = {"url", "sit", "stand"}
_MQTT_KEYS = {
    "host",
    "port",
    "username",
    "password",
    "tls",
    "ca_file",
    "cert_file",
    "key_file",
    "base",
    "discovery_prefix",
    "node",
    "keepalive",
    "remote_moves",
    "moves_per_minute",
}


def load_config(path: Path, *, named: bool = False) -> Config:
    """Read the config at ``path``; a missing file gives the defaults, unless the person
    ``named`` that file ($DESKCTL_CONFIG): then its absence is a mistake worth saying."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:
            raise ConfigError(
                str(path),
                None,
                None,
                "no such file ($DESKCTL_CONFIG names it; unset it for the default config)",
            ) from None
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
        return Config(
            desk,
            unit,
            sit,
            stand,
            desks,
            self.path,
            self._mqtt(data.get("mqtt", {})),
            self._agent(data.get("agent", {})),
            self._presence(data.get("presence", {})),
            self._bool(data, "notify", (), True),
        )

    def _presence(self, table: object) -> str:
        from deskctl.presence import CHOICES

        where = ("presence",)
        if not isinstance(table, dict):
            raise self._error(where, 'must be a table, like [presence] source = "auto"')
        self._no_unknown(table, _PRESENCE_KEYS, where)
        source = self._string(table, "source", where, "auto")
        if source not in CHOICES:
            raise self._error((*where, "source"), f"must be one of {', '.join(CHOICES)}")
        return source

    def _agent(self, table: object) -> AgentConfig:
        where = ("agent",)
        if not isinstance(table, dict):
            raise self._error(where, "must be a table, like [agent] idle_exit = 300")
        self._no_unknown(table, _AGENT_KEYS, where)
        defaults = AgentConfig()
        return AgentConfig(
            enabled=self._bool(table, "enabled", where, defaults.enabled),
            idle_exit_s=self._int(
                table, "idle_exit", where, defaults.idle_exit_s, low=1, high=7 * 86400
            ),
            keep_open_s=self._int(
                table, "keep_open", where, defaults.keep_open_s, low=0, high=86400
            ),
        )

    def _mqtt(self, table: object) -> MqttConfig:
        where = ("mqtt",)
        if not isinstance(table, dict):
            raise self._error(where, 'must be a table, like [mqtt] host = "broker.local"')
        self._no_unknown(table, _MQTT_KEYS, where)
        defaults = MqttConfig()

        def text(key: str) -> str | None:
            return self._string(table, key, where, "") or None

        def path(key: str) -> Path | None:
            value = text(key)
            return None if value is None else Path(value).expanduser()

        for key in ("base", "discovery_prefix", "node"):
            value = table.get(key)
            if value is not None and not (isinstance(value, str) and TOPIC_WORD.match(value)):
                raise self._error(
                    (*where, key), "must be one topic word: letters, digits, '_' and '-'"
                )
        ca_file = path("ca_file")
        port = self._int(table, "port", where, 1883, low=1, high=65535) if "port" in table else None
        return MqttConfig(
            host=text("host") or defaults.host,
            port=port,
            username=text("username"),
            password=text("password"),
            tls=self._bool(table, "tls", where, ca_file is not None),
            ca_file=ca_file,
            cert_file=path("cert_file"),
            key_file=path("key_file"),
            base=table.get("base", defaults.base),
            discovery_prefix=table.get("discovery_prefix", defaults.discovery_prefix),
            node=table.get("node") or defaults.node,
            keepalive_s=self._int(
                table, "keepalive", where, defaults.keepalive_s, low=5, high=3600
            ),
            remote_moves=self._bool(table, "remote_moves", where, False),
            moves_per_minute=self._int(
                table, "moves_per_minute", where, defaults.moves_per_minute, low=1, high=600
            ),
        )

    def _int(
        self,
        table: dict[str, Any],
        key: str,
        where: tuple[str, ...],
        default: int,
        *,
        low: int,
        high: int,
    ) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._error((*where, key), f"must be a whole number from {low} to {high}")
        return value

    def _bool(self, table: dict[str, Any], key: str, where: tuple[str, ...], default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self._error((*where, key), f"must be true or false, not {value!r}")
        return value

    def _no_unknown(self, table: dict[str, Any], known: set[str], where: tuple[str, ...]) -> None:
        for key in table:
            if key not in known:
                raise self._error(
                    (*where, key), f"unknown setting (known here: {', '.join(sorted(known))})"
                )

    def _string(self, table: dict[str, Any], key: str, where: tuple[str, ...], default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            # A secret typed without quotes is still a secret: never shown back.
            shown = " (its value is not shown)" if key in _SECRET_KEYS else f", not {value!r}"
            raise self._error((*where, key), f"must be a string in quotes{shown}")
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
