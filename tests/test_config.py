from __future__ import annotations

from pathlib import Path

import pytest

from deskctl.config import DEFAULT_DESK, load_config
from deskctl.errors import ConfigError, UnknownDeskURL
from deskctl.units import Unit


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "nope.toml")
    assert config.desk == DEFAULT_DESK
    assert config.resolve().url == DEFAULT_DESK
    assert config.sit_mm < config.stand_mm


def test_full_config(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            'desk = "office"\nunit = "in"\nsit = "70cm"\nstand = 1120\n\n'
            '[desks.office]\nurl = "sim://office"\nstand = "45in"\n\n'
            '[desks.home]\nurl = "sim://home?speed=2"\n',
        )
    )
    assert config.unit is Unit.IN
    office = config.resolve()
    assert (office.url, office.sit_mm, office.stand_mm) == ("sim://office", 700.0, 1143.0)
    assert config.resolve("home").stand_mm == 1120.0
    assert config.resolve("sim://elsewhere").url == "sim://elsewhere"
    with pytest.raises(UnknownDeskURL, match="configured: home, office"):
        config.resolve("attic")


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ('sit = "72cm"\nstand = "110 cmm"\n', 2, "stand", "unknown unit"),
        ('sit = "72cm"\nstnad = "110cm"\n', 2, "stnad", "unknown setting"),
        ('sit = "110cm"\nstand = "72cm"\n', 2, "stand", "higher than sit"),
        ('unit = "furlong"\n', 1, "unit", "mm, cm or in"),
        ('desk = "nowhere"\n', 1, "desk", "no [desks.nowhere]"),
        ('desk = "ftp://x"\n', 1, "desk", "unknown desk type"),
        ('\n[desks.a]\nurl = "sim://a"\nsit = -5\n', 4, "desks.a.sit", "positive"),
        ('\n[desks.a]\nsit = "70cm"\n', 2, "desks.a", "needs a url"),
        ("sit = true\n", 1, "sit", "not a height"),
        ('sit = "72cm\n', 1, None, "not valid TOML"),
    ],
)
def test_errors_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str | None, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert (error.path, error.line, error.field) == (str(path), line, field)
    assert words in str(error)
    assert str(error).startswith(f"{path}, line {line}: ")
    assert "\n" not in str(error)
    assert path.read_text() == text  # never rewritten


def test_the_mqtt_table(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[mqtt]\nhost = "broker.local"\nca_file = "~/ca.crt"\nusername = "desks"\n'
            'node = "office-2f"\nremote_moves = true\nmoves_per_minute = 6\n',
        )
    )
    mqtt = config.mqtt
    assert (mqtt.host, mqtt.broker_port, mqtt.tls) == ("broker.local", 8883, True)
    assert mqtt.ca_file == Path("~/ca.crt").expanduser()
    assert (mqtt.node, mqtt.remote_moves, mqtt.moves_per_minute) == ("office-2f", True, 6)
    assert (mqtt.base, mqtt.keepalive_s, mqtt.password) == ("deskctl", 30, None)
    defaults = load_config(tmp_path / "none.toml").mqtt
    assert (defaults.broker_port, defaults.remote_moves, defaults.tls) == (1883, False, False)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[mqtt]\nport = 0\n", 2, "mqtt.port: must be a whole number from 1 to 65535"),
        ("[mqtt]\nremote_moves = 1\n", 2, "mqtt.remote_moves: must be true or false"),
        ('[mqtt]\nbase = "a/b"\n', 2, "mqtt.base: must be one topic word"),
        ("[mqtt]\nsecret = 1\n", 2, "mqtt.secret: unknown setting"),
        ('mqtt = "broker"\n', 1, "mqtt: must be a table"),
    ],
)
def test_mqtt_mistakes_name_their_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=f"line {line}: {message}"):
        load_config(path)
