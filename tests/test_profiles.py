"""Profiles: the model, their files, and heights recommended from body height."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskctl.errors import BadInput, ConfigError
from deskctl.model import Limits
from deskctl.profiles.model import WEEKDAYS, FocusArea, Profile
from deskctl.profiles.recommend import heights_for, recommend
from deskctl.profiles.store import ProfileStore, examples, parse, to_toml
from deskctl.units import Unit

HERE = Path(__file__).parent

# Heights kept to tenths of a millimetre, as the model keeps them.
tenths = st.integers(4500, 14000).map(lambda n: n / 10)
sit_stand = st.tuples(tenths, tenths).filter(lambda pair: pair[0] < pair[1])
bodies = st.integers(10000, 25000).map(lambda n: n / 10)
names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)


@st.composite
def profiles(draw: st.DrawFn) -> Profile:
    sit, stand = draw(sit_stand)
    focus = draw(st.lists(st.sampled_from(list(FocusArea)), unique=True, max_size=4))
    stand_minutes = draw(st.integers(5, 60))
    goal = draw(st.integers(0, 240))
    slot_sit = draw(st.none() | st.integers(1, 4))
    slot_stand = draw(st.none() | st.integers(1, 4).filter(lambda s: s != slot_sit))
    return Profile.model_validate(
        {
            "name": draw(names),
            "display_name": draw(st.text(max_size=60)),
            "body_height": draw(st.none() | bodies),
            "sit": sit,
            "stand": stand,
            "unit": draw(st.none() | st.sampled_from(list(Unit))),
            "desks": draw(st.lists(st.text(min_size=1, max_size=30), max_size=3)),
            "presets": {"sit": slot_sit, "stand": slot_stand},
            "schedule": {
                "hours": draw(
                    st.dictionaries(
                        st.sampled_from(WEEKDAYS),
                        st.sampled_from([[], ["08:00-12:00"], ["09:00-12:30", "13:30-17:30"]]),
                    )
                ),
                "sit_minutes": draw(st.integers(5, 120)),
                "stand_minutes": stand_minutes,
                "move_minutes": draw(st.integers(0, 15)),
                "max_standing_minutes": draw(st.integers(max(5, stand_minutes), 60)),
                "standing_goal_minutes": goal,
                "standing_goal_target_minutes": draw(st.integers(goal, 240)),
                "goal_ramp_weeks": draw(st.integers(0, 52)),
            },
            "exercises": {
                "focus": focus,
                "skip": draw(st.lists(st.from_regex(r"[a-z-]{1,20}", fullmatch=True))),
                "longest_seconds": draw(st.integers(20, 600)),
            },
        }
    )


@settings(max_examples=150, deadline=None)
@given(profiles())
def test_every_field_survives_a_round_trip_through_its_file(profile: Profile) -> None:
    assert parse(to_toml(profile), profile.name, "round-trip.toml") == profile


def test_the_bundled_examples_load() -> None:
    found = examples()
    assert set(found) == {"petite", "tall", "hotdesk"}
    assert found["hotdesk"].presets.sit == 1


# Hand-computed: sit = 0.39 H + shoes - keyboard, stand = 0.63 H + shoes - keyboard, rounded.
@pytest.mark.parametrize(
    ("who", "body", "shoes", "sit", "stand"),
    [
        ("5th-percentile British woman", 1505, 25, 587, 948),  # 586.95, 948.15
        ("median British woman", 1610, 25, 628, 1014),  # 627.9, 1014.3
        ("median British man", 1740, 25, 679, 1096),  # 678.6, 1096.2
        ("95th-percentile British man", 1855, 25, 723, 1169),  # 723.45, 1168.65
        ("95th-percentile US man", 1870, 25, 729, 1178),  # 729.3, 1178.1
        ("median British man, barefoot", 1740, 0, 654, 1071),  # 653.6, 1071.2
    ],
)
def test_recommendation_matches_hand_computed_heights(
    who: str, body: float, shoes: float, sit: float, stand: float
) -> None:
    advice = recommend(body, shoes_mm=shoes)
    assert (advice.sit_mm, advice.stand_mm) == (sit, stand), who
    assert advice.notes == []


def test_a_narrow_desk_clamps_with_a_warning_that_says_what_to_do() -> None:
    narrow = Limits(680.0, 1050.0)
    short = recommend(1505, limits=narrow)
    assert (short.sit_mm, short.ideal_sit_mm) == (680.0, 587.0)
    assert any("below this desk's lowest 68.0 cm" in note for note in short.notes)
    assert any("footrest" in note for note in short.notes)
    tall = recommend(1870, limits=narrow)
    assert (tall.stand_mm, tall.ideal_stand_mm) == (1050.0, 1178.0)
    assert any("above this desk's highest 105.0 cm" in note for note in tall.notes)
    heights = heights_for(Profile(name="x", sit=700.0, stand=1200.0), narrow)
    assert (heights.sit_mm, heights.stand_mm) == (700.0, 1050.0)
    assert len(heights.notes) == 1


def test_the_explanation_shows_the_arithmetic() -> None:
    lines = recommend(1750, limits=Limits(620, 1270)).explain(Unit.CM)
    assert "0.39 x 175.0 cm + 2.5 cm = 70.8 cm" in lines[1]
    assert lines[2].endswith("110.2 cm")


def write(store: ProfileStore, name: str, text: str) -> Path:
    store.folder.mkdir(parents=True, exist_ok=True)
    path = store.path(name)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ('sit = "200mm"\nstand = "110cm"\n', 1, "sit", "no working height"),
        ('sit = "72cm"\nstand = "3000mm"\n', 2, "stand", "no working height"),
        ('sit = "80cm"\nstand = "75cm"\n', 2, "stand", "must be higher than sit"),
        ("body_height = 0\n", 1, "body_height", "positive"),
        ('body_height = "5m"\n', 1, "body_height", "no body height"),
        (
            'sit = "72cm"\nstand = "110cm"\n\n[schedule]\nsit_minutes = 1\n',
            5,
            "schedule.sit_minutes",
            "greater than or equal to 5 (got 1)",
        ),
        ('sit = "72cm"\nstand = "110cm"\nfavourite = "blue"\n', 3, "favourite", "unknown"),
        (
            'sit = "72cm"\nstand = "110cm"\n[schedule]\nstand_minutes = 30\n'
            "max_standing_minutes = 20\n",
            5,
            "schedule.max_standing_minutes",
            "at least stand_minutes (30)",
        ),
        ('display_name = "Ana"\n', None, None, "give sit and stand heights, or body_height"),
        ('sit = "72cm\nstand = 1\n', 1, None, "not valid TOML"),
        ('name = "bob"\nsit = "72cm"\nstand = "110cm"\n', 1, "name", "file name"),
        ('body_height = "160cm"\nstand = "60cm"\n', None, None, "must be higher than sit"),
        ('sit = "72cm"\nstand = "110cm"\n[exercises]\nfocus = ["toes"]\n', 4, None, "'toes'"),
    ],
)
def test_a_bad_file_names_its_line_and_field(
    tmp_path: Path, text: str, line: int | None, field: str | None, words: str
) -> None:
    store = ProfileStore(tmp_path / "profiles")
    path = write(store, "ana", text)
    with pytest.raises(ConfigError) as caught:
        store.load("ana")
    error = caught.value
    assert error.path == str(path)
    assert error.line == line
    if field is not None:
        assert error.field == field
    assert words in str(error)
    assert "\n" not in str(error)


def test_a_file_that_does_not_validate_is_never_overwritten_or_deleted(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles")
    broken = 'sit = "72cm"\nstand = "11O cm"\n'
    path = write(store, "ana", broken)
    with pytest.raises(ConfigError):
        store.save(Profile(name="ana", sit=700.0, stand=1100.0))
    with pytest.raises(ConfigError):
        store.delete("ana")
    with pytest.raises(ConfigError):
        store.use("sim://default", "ana")
    assert path.read_text() == broken
    assert [listed.problem != "" for listed in store.listing()] == [True]


def test_saving_keeps_the_previous_version(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles")
    store.save(Profile(name="ana", sit=700.0, stand=1100.0), new=True)
    with pytest.raises(BadInput, match="exists already"):
        store.save(Profile(name="ana", sit=710.0, stand=1100.0), new=True)
    store.save(Profile(name="ana", sit=720.0, stand=1100.0))
    backup = store.path("ana").with_name("ana.toml~")
    assert parse(backup.read_text(), "ana", "backup").sit == 700.0
    assert store.load("ana").sit == 720.0


def test_two_profiles_on_shared_desks_never_mix(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles")
    store.save(Profile(name="ana", sit=680.0, stand=1050.0))
    store.save(Profile(name="bob", body_height=1900.0))
    store.use("sim://office", "ana")
    store.use("sim://lab", "bob")
    ana_file = store.path("ana").read_bytes()
    assert store.active_for("sim://office") == "ana"
    assert store.active_for("sim://lab") == "bob"
    store.save(store.load("bob").model_copy(update={"stand": 1200.0}))
    store.use("sim://office", "bob")  # the next person sits down at the office desk
    assert store.active() == {"sim://office": "bob", "sim://lab": "bob"}
    assert store.path("ana").read_bytes() == ana_file
    store.delete("bob")
    assert store.active() == {}
    assert store.load("ana").sit == 680.0


SAVER = """
import sys
from pathlib import Path
from deskctl.profiles.model import Profile
from deskctl.profiles.store import ProfileStore

store = ProfileStore(Path(sys.argv[1]))
versions = [Profile(name="ana", sit=700.0, stand=1100.0, display_name="A" * 60),
            Profile(name="ana", sit=720.0, stand=1150.0, desks=["sim://office"] * 40)]
n = 0
while True:
    store.save(versions[n % 2])
    print("saved", flush=True)
    n += 1
"""


def test_a_save_killed_halfway_leaves_a_whole_profile(tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    store = ProfileStore(folder)
    store.save(Profile(name="ana", sit=700.0, stand=1100.0, display_name="A" * 60))
    wanted = {700.0, 720.0}
    for saves in (1, 7, 20, 33, 50):
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(folder)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE,  # the checkout's top folder would shadow the installed package
        )
        assert saver.stdout is not None
        for _ in range(saves):
            assert saver.stdout.readline() == "saved\n"
        os.kill(saver.pid, signal.SIGKILL)  # most likely in the middle of the next save
        saver.wait()
        assert store.load("ana").sit in wanted  # whole, old or new, never half


def test_the_schema_and_the_schedule_keep_one_set_of_bounds() -> None:
    from pydantic import ValidationError

    from deskctl.policy.engine import Settings
    from deskctl.policy.schedule import BOUNDS
    from deskctl.profiles.model import SchedulePrefs

    schema = SchedulePrefs.model_json_schema()["properties"]
    for name, (low, high) in BOUNDS.items():
        assert (schema[name]["minimum"], schema[name]["maximum"]) == (low, high)
    # The engine's shortest bout is the schema's shortest sitting or standing.
    assert Settings().min_bout_s == 60 * schema["stand_minutes"]["minimum"]
    with pytest.raises(ValidationError):
        SchedulePrefs(stand_minutes=2)
