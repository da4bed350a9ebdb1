"""``deskctl profile`` and profile-aware sit/stand, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DESKCTL = str(Path(sys.executable).with_name("deskctl"))
FAST = "sim://shared?speed=200"


def deskctl(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKCTL, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


def ok(*args: str, **env: str) -> str:
    result = deskctl(*args, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def as_json(*args: str, **env: str) -> Any:
    return json.loads(ok("--json", *args, **env))


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stderr.startswith("deskctl: ")
    assert result.stderr.count("\n") == 1
    return result.stderr


def profiles_dir(home: Path) -> Path:
    return home / "config" / "deskctl" / "profiles"


def test_people_take_turns_at_a_shared_desk() -> None:
    ok("--desk", FAST, "profile", "new", "ana", "--body-height", "165cm", "--use")
    ok("profile", "new", "bob", "--sit", "75cm", "--stand", "118cm")
    # Ana's heights come from her body height: 0.39 x 1650 and 0.63 x 1650, rounded.
    assert as_json("--desk", FAST, "sit")["height_mm"] == 644.0
    assert as_json("--desk", FAST, "stand")["height_mm"] == 1040.0
    switched = ok("--desk", FAST, "profile", "use", "bob")  # one command to switch
    assert "bob is now at sim://shared" in switched
    assert as_json("--desk", FAST, "stand")["height_mm"] == 1180.0
    assert as_json("--desk", FAST, "--profile", "ana", "sit")["height_mm"] == 644.0
    listed = ok("--desk", FAST, "profile", "list")
    assert "* bob" in listed
    assert "  ana" in listed
    # Another desk has nobody active: the config's heights apply there.
    assert as_json("--desk", "sim://other?speed=200", "stand")["height_mm"] == 1100.0


def test_recommend_explains_and_warns_about_a_narrow_desk() -> None:
    out = ok("profile", "recommend", "175cm", "--any-desk")
    assert "0.63 x 175.0 cm + 2.5 cm = 112.8 cm" in out
    assert out.strip().endswith("recommended: sit 68.2 cm, stand 110.2 cm")
    narrow = deskctl("--desk", "sim://narrow?min=70cm&max=105cm", "profile", "recommend", "150cm")
    assert narrow.returncode == 0, narrow.stderr
    assert "below this desk's lowest 70.0 cm" in narrow.stdout
    assert "recommended: sit 70.0 cm, stand 94.5 cm" in narrow.stdout
    one_line_error(deskctl("profile", "recommend", "5m"))
    one_line_error(deskctl("profile", "recommend", "0"))


def test_heights_beyond_the_desk_are_clamped_with_a_warning() -> None:
    desk = "sim://low?speed=200&max=100cm"
    ok("--desk", desk, "profile", "new", "tall", "--body-height", "190cm", "--use")
    result = deskctl("--desk", desk, "--json", "stand")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["height_mm"] == 1000.0
    assert "above this desk's highest 100.0 cm" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["new", "x", "--sit", "200mm", "--stand", "110cm"], "sit: "),
        (["new", "x", "--sit", "80cm", "--stand", "70cm"], "must be higher than sit"),
        (["new", "x", "--body-height", "5m"], "no body height"),
        (["new", "x"], "give sit and stand heights, or body_height"),
        (["new", "Bad Name", "--body-height", "170cm"], "not a profile name"),
        (["new", "active", "--body-height", "170cm"], "'active' is reserved"),
        (["show", "nobody"], "no profile 'nobody'"),
        (["use"], "name the profile to use"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], words: str) -> None:
    assert words in one_line_error(deskctl("profile", *args))


def test_set_checks_every_change_and_keeps_the_file_whole(isolated_home: Path) -> None:
    ok("profile", "new", "ana", "--sit", "70cm", "--stand", "108cm")
    path = profiles_dir(isolated_home) / "ana.toml"
    ok(
        "profile",
        "set",
        "ana",
        "stand=110cm",
        "schedule.sit_minutes=25",
        "exercises.focus=neck,hips",
    )
    before = path.read_text()
    assert 'stand = "110cm"' in before
    assert "sit_minutes = 25" in before
    for bad, words in (
        ("stand=60cm", "must be higher than sit"),
        ("schedule.sit_minutes=abc", "schedule.sit_minutes"),
        ("exercises.focus=toes", "exercises.focus"),
        ("colour=blue", "no such setting"),
    ):
        assert words in one_line_error(deskctl("profile", "set", "ana", bad))
    assert path.read_text() == before


def test_a_reserved_name_leaves_the_store_working(isolated_home: Path) -> None:
    ok("profile", "new", "ana", "--sit", "70cm", "--stand", "108cm", "--use")
    who = (profiles_dir(isolated_home) / "active.toml").read_text()
    made = deskctl("profile", "new", "active", "--sit", "70cm", "--stand", "108cm")
    assert "reserved" in one_line_error(made)
    assert (profiles_dir(isolated_home) / "active.toml").read_text() == who
    assert "ana" in ok("profile", "list")
    ok("--desk", FAST, "stand")


def test_working_hours_are_set_per_day_from_the_command_line() -> None:
    ok("profile", "new", "ana", "--sit", "70cm", "--stand", "108cm")
    ok(
        "profile",
        "set",
        "ana",
        "schedule.hours.wed=08:00-12:00,13:00-17:00",
        "schedule.hours.sat=10:00-12:00",
        "schedule.hours.fri=off",
    )
    hours = as_json("profile", "show", "ana")["schedule"]["hours"]
    assert hours["wed"] == ["08:00-12:00", "13:00-17:00"]
    assert hours["sat"] == ["10:00-12:00"]
    assert "fri" not in hours
    assert "12:00-10:00" in one_line_error(
        deskctl("profile", "set", "ana", "schedule.hours.sun=12:00-10:00")
    )
    assert "no such setting" in one_line_error(
        deskctl("profile", "set", "ana", "schedule.hours.someday=10:00-12:00")
    )


def test_a_broken_profile_is_reported_with_file_and_line_and_left_alone(
    isolated_home: Path,
) -> None:
    ok("--desk", FAST, "profile", "new", "ana", "--sit", "70cm", "--stand", "108cm", "--use")
    path = profiles_dir(isolated_home) / "ana.toml"
    broken = path.read_text().replace('stand = "108cm"', 'stand = "1O8cm"')
    path.write_text(broken)
    error = one_line_error(deskctl("--desk", FAST, "stand"))
    assert f"{path}, line 3: stand: " in error
    assert deskctl("--desk", FAST, "status").returncode == 0  # the desk still answers
    one_line_error(deskctl("profile", "set", "ana", "sit=71cm"))
    one_line_error(deskctl("profile", "delete", "ana"))
    assert path.read_text() == broken
    assert "broken:" in ok("profile", "list")


def test_edit_saves_only_what_validates(isolated_home: Path, tmp_path: Path) -> None:
    ok("profile", "new", "ana", "--sit", "70cm", "--stand", "108cm")
    path = profiles_dir(isolated_home) / "ana.toml"
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import re, sys\nfrom pathlib import Path\n"
        "draft = Path(sys.argv[2])\n"
        "draft.write_text(re.sub('stand = .*', f'stand = {sys.argv[1]!r}', draft.read_text()))\n"
    )
    ok("profile", "edit", "ana", EDITOR=f"{sys.executable} {editor} 111cm")
    assert 'stand = "111cm"' in path.read_text()
    before = path.read_text()
    error = one_line_error(
        deskctl("profile", "edit", "ana", EDITOR=f"{sys.executable} {editor} 50cm")
    )
    assert "the profile is unchanged" in error
    assert path.read_text() == before
    one_line_error(deskctl("profile", "edit", "ana"))  # no $EDITOR: says how else to edit


def test_capture_stores_where_the_desk_is() -> None:
    ok("--desk", FAST, "profile", "new", "ana", "--body-height", "170cm", "--use")
    ok("--desk", FAST, "move", "113cm")
    captured = as_json("--desk", FAST, "profile", "capture", "stand")
    assert captured["height_mm"] == 1130.0
    assert as_json("profile", "show", "ana")["stand"] == "113cm"


def test_presets_carry_a_profile_into_the_desk_and_sit_recalls_them() -> None:
    ok("--desk", FAST, "profile", "new", "kim", "--example", "hotdesk", "--use")
    written = ok("--desk", FAST, "profile", "presets")
    assert "preset 1 = sit 71.0 cm" in written
    assert as_json("--desk", FAST, "preset")["presets_mm"] == {
        "1": 710.0,
        "2": 1080.0,
        "3": None,
        "4": None,
    }
    assert as_json("--desk", FAST, "sit")["height_mm"] == 710.0
    assert as_json("--desk", FAST, "stand")["height_mm"] == 1080.0


def test_export_import_and_schema(tmp_path: Path) -> None:
    ok("profile", "new", "ana", "--body-height", "168cm", "--display-name", "Ana")
    exported = ok("profile", "export", "ana")
    assert 'body_height = "168cm"' in exported
    copy = tmp_path / "ana-laptop.toml"
    copy.write_text(exported)
    ok("profile", "import", str(copy))
    assert as_json("profile", "show", "ana-laptop")["display_name"] == "Ana"
    one_line_error(deskctl("profile", "import", str(copy)))  # exists already
    ok("profile", "import", str(copy), "--force")
    schema = json.loads(ok("profile", "schema"))
    assert "name" not in schema["properties"]
    assert {"sit", "stand", "body_height", "schedule", "exercises"} <= set(schema["properties"])


def test_the_active_profiles_unit_shapes_every_command() -> None:
    ok("--desk", FAST, "profile", "new", "lee", "--body-height", "180cm", "--use")
    ok("profile", "set", "lee", "unit=in")
    assert ok("--desk", FAST, "status").split(": ")[1].startswith("28.3 in")
    assert "cm" in ok("--desk", FAST, "--unit", "cm", "status")  # --unit still wins
    assert "cm" in ok("--desk", "sim://elsewhere", "status")  # nobody active there


def test_show_gives_the_heights_in_use_even_from_body_height() -> None:
    ok("profile", "new", "bo", "--body-height", "180cm")
    shown = as_json("profile", "show", "bo")
    assert shown["sit"] is None  # the file gives none ...
    assert shown["heights"] == {  # ... so they are recommended: 0.39 and 0.63 of 180 cm
        "sit_mm": 702.0,
        "stand_mm": 1134.0,
        "sit": "70.2 cm",
        "stand": "113.4 cm",
    }
