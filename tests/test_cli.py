"""The installed ``deskctl`` command, run as a subprocess the way people and scripts run it."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deskctl import runtime
from deskctl.lock import DeskLock

DESKCTL = str(Path(sys.executable).with_name("deskctl"))
FAST = "sim://default?speed=200"


def deskctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKCTL, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def status() -> dict[str, Any]:
    result = deskctl("--json", "status")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_with_no_desk_configured_the_simulated_desk_answers() -> None:
    result = deskctl("status")
    assert result.returncode == 0, result.stderr
    assert "sim://default" in result.stdout
    assert "72.0 cm" in result.stdout


def test_consecutive_commands_see_the_same_desk() -> None:
    assert deskctl("--desk", FAST, "stand").returncode == 0
    assert status()["height_mm"] == 1100.0
    assert deskctl("--desk", FAST, "move", "95.5cm").returncode == 0
    assert status()["height_mm"] == 955.0
    assert deskctl("--desk", FAST, "down", "25mm").returncode == 0
    assert status()["height_mm"] == 930.0
    assert deskctl("--desk", FAST, "sit").returncode == 0
    assert status() | {"speed_mm_s": 0} == status() | {"height_mm": 720.0, "moving": False}


def test_json_output_of_a_move() -> None:
    result = deskctl("--desk", FAST, "move", "1.05m", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["height_mm"] == 1050.0
    assert data["moving"] is False
    assert data["fault"] is None


def test_units_follow_the_user() -> None:
    deskctl("--desk", FAST, "move", "110")  # a bare number is in the user's unit: cm here
    assert "43.3 in" in deskctl("--unit", "in", "status").stdout
    assert "1100 mm" in deskctl("status", "--unit", "mm").stdout


def test_a_bare_number_is_in_the_users_unit_everywhere() -> None:
    assert deskctl("--desk", FAST, "--unit", "mm", "move", "1050").returncode == 0
    assert status()["height_mm"] == 1050.0
    assert deskctl("--desk", FAST, "--unit", "in", "move", "40").returncode == 0
    assert status()["height_mm"] == 1016.0
    assert deskctl("--desk", FAST, "down", "2").returncode == 0  # 2 cm
    assert status()["height_mm"] == 996.0
    for unit, typed, hint in (
        ("mm", "110", "did you mean 110 cm?"),
        ("cm", "1100", "did you mean 1100 mm?"),
        ("cm", "43", "did you mean 43 in?"),
    ):
        result = deskctl("--desk", FAST, "--unit", unit, "move", typed)
        assert result.returncode == 2, result.stderr
        assert result.stderr == f"deskctl: {typed} {unit} is no desk height; {hint}\n"
    assert status()["height_mm"] == 996.0  # nothing moved
    made = deskctl("--unit", "mm", "profile", "new", "ana", "--body-height", "175")
    assert made.returncode == 2
    assert "did you mean 175 cm?" in made.stderr
    assert deskctl("profile", "new", "ana", "--sit", "70", "--stand", "108").returncode == 0
    shown = json.loads(deskctl("--json", "profile", "show", "ana").stdout)
    assert (shown["sit"], shown["stand"]) == ("70cm", "108cm")


def test_presets_from_the_command_line() -> None:
    deskctl("--desk", FAST, "move", "101cm")
    assert deskctl("preset", "3", "--save").returncode == 0
    deskctl("--desk", FAST, "sit")
    assert deskctl("--desk", FAST, "preset", "3").returncode == 0
    assert status()["height_mm"] == 1010.0
    listing = deskctl("preset").stdout
    assert "3  101.0 cm" in listing
    assert "1  (empty)" in listing


def test_hold_up_for_some_seconds() -> None:
    result = deskctl("--desk", FAST, "--json", "up", "--hold", "3")
    assert result.returncode == 0, result.stderr
    assert 750.0 < json.loads(result.stdout)["height_mm"] < 850.0


def test_configured_desks_are_listed(isolated_home: Path) -> None:
    config = isolated_home / "config" / "deskctl" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('desk = "lab"\n[desks.lab]\nurl = "sim://lab"\nsit = "68cm"\n')
    result = deskctl("desks")
    assert result.returncode == 0, result.stderr
    assert "* lab" in result.stdout
    assert "sit 68.0 cm" in result.stdout
    assert "sim://lab" in deskctl("status").stdout


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("move", "abc"), 2, "'abc' is not a height"),
        (("move", "-5cm"), 2, "is not a height"),
        (("move", "1e9"), 2, "'1e9' is not a height"),
        (("move", "3000mm"), 2, "outside this desk's range"),
        (("move", "20cm"), 2, "outside this desk's range"),
        (("move",), 2, "arguments are required: height"),
        (("--desk", "bluetooth://desk", "status"), 2, "unknown desk type 'bluetooth://'"),
        (("--desk", "kitchen", "status"), 2, "neither a desk URL nor a desk in the config"),
        (("--desk", "sim://x?warp=9", "status"), 2, "no option 'warp'"),
        (("up", "90cm"), 2, "outside this desk's range"),
        (("up", "900cm"), 2, "not a plausible desk height"),
        (("preset", "7"), 2, "presets 1 to 4"),
    ],
)
def test_bad_input_is_one_line_and_a_nonzero_exit(
    args: tuple[str, ...], code: int, words: str
) -> None:
    result = deskctl(*args)
    assert result.returncode == code
    assert words in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("deskctl: ")
    assert result.stdout == ""


def test_broken_config_names_file_line_and_field_and_is_kept(isolated_home: Path) -> None:
    config = isolated_home / "config" / "deskctl" / "config.toml"
    config.parent.mkdir(parents=True)
    text = 'unit = "cm"\nsit = "72cm"\nstand = "11O cm"\n'
    config.write_text(text)
    result = deskctl("status")
    assert result.returncode == 2
    assert f"{config}, line 3: stand:" in result.stderr
    assert result.stderr.count("\n") == 1
    assert config.read_text() == text


def test_config_file_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('desk = "sim://from-env"\n')
    result = deskctl("status", env={**os.environ, "DESKCTL_CONFIG": str(config)})
    assert "sim://from-env" in result.stdout
    result = deskctl("status", env={**os.environ, "DESKCTL_DESK": "sim://chosen"})
    assert "sim://chosen" in result.stdout


def test_missing_state_directory_is_created(tmp_path: Path) -> None:
    state = tmp_path / "not" / "yet" / "there"
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    assert deskctl("status", env=env).returncode == 0
    assert (state / "deskctl").is_dir()


def test_unusable_state_directory_is_one_line_and_exit_6(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = deskctl("status", env={**os.environ, "XDG_STATE_HOME": str(blocker)})
    assert result.returncode == 6
    assert result.stderr.startswith("deskctl: cannot create the folder")
    assert result.stderr.count("\n") == 1
    assert blocker.read_text() == "not a folder"


def test_a_second_process_gets_desk_busy_naming_the_holder(isolated_home: Path) -> None:
    with DeskLock(runtime.lock_file("sim://default"), "sim://default"):
        result = deskctl("--desk", FAST, "stand")
    assert result.returncode == 4
    assert "sim://default is busy" in result.stderr
    assert f"pid {os.getpid()}" in result.stderr
    assert status()["height_mm"] == 720.0  # nothing moved


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_move_stops_the_desk_and_exits_130(stop_signal: signal.Signals) -> None:
    # stderr on a terminal, so that the progress bar tells us the move is under way.
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [DESKCTL, "move", "125cm"], stdout=subprocess.PIPE, stderr=terminal, text=True
    )
    os.close(terminal)
    seen = b""
    while not re.search(rb"to 125\.0 cm.*(7[3-9]|[89]\d|1[01]\d)\.\d cm", seen, re.DOTALL):
        ready, _, _ = select.select([controller], [], [], 30)
        assert ready, f"the progress bar never showed the desk moving: {seen!r}"
        seen += os.read(controller, 4096)
    process.send_signal(stop_signal)
    assert process.wait(timeout=30) == 130
    os.close(controller)
    after = status()
    assert not after["moving"]
    assert 720.0 < after["height_mm"] < 1250.0


def test_help_lists_exit_codes() -> None:
    result = deskctl("--help")
    assert result.returncode == 0
    assert "130  interrupted" in result.stdout


def test_emulated_linak_desk_from_the_command_line() -> None:
    # The real Linak driver, over a virtual radio, to an emulated desk in the same process.
    desk = "linak-emu://lab?speed=50"
    assert deskctl("--desk", desk, "stand").returncode == 0
    result = deskctl("--desk", "linak-emu://lab", "--json", "status")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["height_mm"] == 1100.0
    assert "linak" in json.loads(result.stdout)["family"]
    assert result.stderr == ""


def test_unreachable_bluetooth_is_one_line() -> None:
    # Whether this machine has Bluetooth or not, the answer is one line, never a traceback.
    result = deskctl("--desk", "linak://C2:DE:AD:BE:EF:00", "status")
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("deskctl: ")


@contextlib.contextmanager
def emulator(*args: str, url: str) -> Iterator[str]:
    """Run ``deskctl emulate ARGS`` until the block ends; yields the desk URL it announces."""
    process = subprocess.Popen(
        [DESKCTL, "emulate", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        announced = process.stdout.readline()  # the emulator says where it listens
        found = re.search(url, announced)
        assert found, announced
        yield found.group(0)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_emulate_a_jiecang_box_and_drive_it_over_its_serial_port() -> None:
    with emulator("jiecang", "--options", "speed=50", url=r"jiecang:///dev/\S+(?= )") as desk:
        assert deskctl("--desk", desk, "stand").returncode == 0
        result = deskctl("--desk", desk, "--json", "status")
        assert json.loads(result.stdout)["height_mm"] == 1100.0
        assert json.loads(result.stdout)["moving"] is False


def test_emulate_a_loctek_box_and_move_it_by_holding_its_keys() -> None:
    with emulator("loctek", url=r"loctek:///dev/\S+(?= )") as desk:
        moved = deskctl("--desk", desk, "--json", "move", "78cm")
        assert moved.returncode == 0, moved.stderr
        # Not calibrated yet: within what the driver promises before it has learned the desk.
        assert json.loads(moved.stdout)["height_mm"] == pytest.approx(780.0, abs=5.0)


def test_emulate_a_box_behind_a_network_serial_bridge() -> None:
    with emulator("loctek", "--tcp", "0", url=r"loctek://socket://127\.0\.0\.1:\d+") as desk:
        moved = deskctl("--desk", desk, "--json", "move", "77cm")
        assert moved.returncode == 0, moved.stderr
        assert json.loads(moved.stdout)["height_mm"] == pytest.approx(770.0, abs=5.0)


@pytest.mark.parametrize("seconds", ["-1", "0", "nan", "1e309", "inf", "soon"])
def test_a_hold_outside_a_sensible_range_is_refused(seconds: str) -> None:
    result = deskctl("--desk", FAST, "up", "--hold", seconds)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("deskctl: argument --hold: ")
    assert result.stderr.count("\n") == 1
    assert status()["height_mm"] == 720.0


def test_a_config_named_by_deskctl_config_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    result = deskctl("status", env={**os.environ, "DESKCTL_CONFIG": str(missing)})
    assert result.returncode == 2
    assert (
        result.stderr == f"deskctl: {missing}: no such file ($DESKCTL_CONFIG names it; "
        "unset it for the default config)\n"
    )


def test_move_says_in_json_what_status_says() -> None:
    moved = json.loads(deskctl("--desk", FAST, "--json", "move", "100cm").stdout)
    assert set(status()) <= set(moved)
    assert moved["family"] == "simulated"
    assert moved["limits_mm"] == [620.0, 1270.0]


def test_on_a_terminal_the_result_line_stands_on_its_own() -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [DESKCTL, "--desk", "sim://default?speed=20", "move", "80cm"],
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    seen = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 30)
        assert ready, seen
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=30) == 0
    os.close(controller)
    assert b"to 80.0 cm" in seen  # the bar was shown
    # What is left on the screen once the bar erased itself: the result line alone.
    last = seen.rstrip(b"\r\n").rsplit(b"\r", 1)[-1]
    assert re.sub(rb"\x1b\[[0-9;?]*[a-zA-Z]", b"", last) == b"at 80.0 cm", seen
