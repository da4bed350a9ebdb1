"""Heights that learn from the hands, in the interface: its own moves say what they are for
(so the fine-tunes after them are recorded, here and through the agent), and a suggested
height shows with its evidence, Apply and Dismiss."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest
from test_tui import MONDAY_0915, at_rest_near, connected, make_app, notified, until
from textual.pilot import Pilot
from textual.widgets import Input, Label, Static

from deskctl.agent.launch import open_remote_desk
from deskctl.history import History
from deskctl.paths import Paths
from deskctl.policy.engine import Settings
from deskctl.profiles.model import Profile
from deskctl.profiles.store import ProfileStore
from deskctl.purpose import Purpose
from deskctl.tui.app import DeskApp, Options
from deskctl.tui.fine_tunes import desk_key
from deskctl.tui.widgets import Gauge
from deskctl.units import Unit

DAY_S = 24 * 3600.0


def seed(
    history: History, url: str, profile: str | None, count: int = 3, now: float = MONDAY_0915
) -> None:
    """``count`` stands fine-tuned 15 mm up, a day apart, the last a day before ``now``."""
    key = desk_key(url)
    for n in range(count):
        t = now - (count - n) * DAY_S
        history.note_followed(t, key, Purpose("stand", "stand", 1100.0, profile), 1100.0)
        move = history.last_followed(key)
        assert move is not None
        history.note_adjustment(move, t + 60.0, 1115.0)


def shown(app: DeskApp, selector: str) -> bool:
    return app.query_one(selector).has_class("-shown")


def text(app: DeskApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def tab_to(pilot: Pilot[None], widget_id: str, most: int = 30) -> None:
    """Tab (as a person would) until ``widget_id`` has the focus."""
    for _ in range(most):
        await pilot.press("tab")
        focused = pilot.app.focused
        if focused is not None and focused.id == widget_id:
            return
    raise AssertionError(f"tab never reached #{widget_id}")


async def test_a_suggestion_shows_with_its_evidence_and_apply_writes_the_profile() -> None:
    store = ProfileStore(Paths.from_env().profiles_dir)
    store.save(Profile(name="ana", sit=720.0, stand=1100.0))
    app = make_app(profile="ana")
    seed(app.history, "sim://tui", "ana")
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.pause()
        line = str(app.query_one("#suggested-line", Label).render())
        assert shown(app, "#suggested-line")
        assert "stand 111.5 cm (now 110.0 cm)" in line
        await pilot.press("3")
        await pilot.pause()
        assert shown(app, "#suggested-stand")
        assert not shown(app, "#suggested-sit")
        why = text(app, "#why-stand")
        assert "stand at 111.5 cm instead of 110.0 cm: you raised it by about 1.5 cm" in why
        assert why.count("110.0 cm -> 111.5 cm (+1.5 cm, after stand)") == 3
        # From the keyboard, at 80x24: Tab reaches Apply, which comes into view.
        await tab_to(pilot, "apply-stand")
        apply = app.query_one("#apply-stand")
        await pilot.pause()
        assert app.query_one("#people-section").region.contains_region(apply.region)
        await pilot.press("enter")
        await pilot.pause()
        assert store.load("ana").stand == 1115.0
        assert app.stand_mm == 1115.0
        assert app.query_one(Gauge).stand_mm == 1115.0
        assert app.query_one("#stand-input", Input).value == "111.5 cm"
        assert "stand 111.5 cm" in str(app.query_one("#profile-line", Label).render())
        assert "ana: stand = 111.5 cm (was 110.0 cm)" in notified(app)[-1]
        assert not shown(app, "#suggested")
        assert not shown(app, "#suggested-line")
        await pilot.press("escape", "t")  # the heights follow at once
        await until(desk, at_rest_near(1115.0))


async def test_dismiss_hides_a_suggestion_for_good_and_apply_needs_a_profile() -> None:
    app = make_app()  # nobody's profile: the config's heights
    seed(app.history, "sim://tui", None)
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("3")
        await pilot.pause()
        assert shown(app, "#suggested-stand")
        # As profile suggest --apply: with nobody's profile there is none to write to.
        app.query_one("#apply-stand").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "nobody's profile is active" in notified(app)[-1]
        assert app.stand_mm == 1100.0
        assert shown(app, "#suggested-stand")
        # Dismissed from the command palette.
        await pilot.press("ctrl+p")
        await pilot.press(*"dismiss the suggested stand")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert "stand stays at 110.0 cm" in notified(app)[-1]
        assert not shown(app, "#suggested")
        assert not shown(app, "#suggested-line")
        answers = json.loads((Paths.from_env().state_dir / "suggestions.json").read_text())
        assert [a["answer"] for a in answers["answered"]] == ["dismissed"]
        # A rest (the next look for suggestions) does not bring it back.
        await pilot.press("escape", "t")
        await until(desk, at_rest_near(1100.0))
        await pilot.pause()
        assert not shown(app, "#suggested")
        assert not shown(app, "#suggested-line")
    app = make_app()  # nor does the next start
    seed(app.history, "sim://tui", None)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.pause()
        assert not shown(app, "#suggested-line")


async def test_a_hand_move_after_the_interfaces_stand_is_recorded() -> None:
    app = make_app("sim://tune?height=109cm")  # real speed: a short stand, a short hold
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("t")
        await until(desk, at_rest_near(1100.0))
        await pilot.press("up")  # one press: held for a moment, as a hand on the key
        await until(desk, lambda state: state.moving)
        rest = await until(desk, lambda state: not state.moving)
        await pilot.pause()
        [adjustment] = app.history.adjustments()
        assert (adjustment.kind, adjustment.posture, adjustment.target_mm) == (
            "stand",
            "stand",
            1100.0,
        )
        assert adjustment.settled_mm == pytest.approx(rest.height_mm)
        assert adjustment.settled_mm > 1105.0


async def test_a_hand_move_after_a_preset_that_holds_the_stand_height_is_recorded() -> None:
    from deskctl.profiles.model import PresetSlots

    store = ProfileStore(Paths.from_env().profiles_dir)
    store.save(Profile(name="ana", sit=720.0, stand=1100.0, presets=PresetSlots(stand=2)))
    app = make_app("sim://preset-tune?height=110cm", profile="ana")
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await desk.save_preset(2)  # the desk's preset 2 holds ana's standing height
        await desk.move_to(1080.0)  # elsewhere, by no purpose of the person's
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("2")
        await until(desk, lambda state: state.moving)
        await until(desk, at_rest_near(1100.0))
        await pilot.press("up")
        await until(desk, lambda state: state.moving)
        rest = await until(desk, lambda state: not state.moving)
        await pilot.pause()
        [adjustment] = app.history.adjustments()
        assert (adjustment.kind, adjustment.posture, adjustment.profile) == (
            "preset",
            "stand",
            "ana",
        )
        assert adjustment.settled_mm == pytest.approx(rest.height_mm)


async def test_through_the_agent_a_nudge_from_another_face_is_recorded_and_suggested() -> None:
    url = "sim://agent-tune?height=109cm"
    paths = Paths.from_env()
    history = History(paths.data_dir / "history.sqlite3")
    seed(history, url, None, count=2, now=time.time())  # two stands nudged up before
    history.close()
    options = Options(
        url=url,
        paths=paths,
        unit=Unit.CM,
        sit_mm=720.0,
        stand_mm=1100.0,
        settings=lambda _: Settings(),
    )
    app = DeskApp(options, open_desk=open_remote_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        async with asyncio.timeout(30):
            await app.ready.wait()
        desk = app.desk
        assert desk is not None
        await pilot.press("t")
        await until(desk, at_rest_near(1100.0), within_s=30)
        assert not shown(app, "#suggested-line")
        async with open_remote_desk(url, paths) as other:  # a second face nudges it
            await other.move_to(1115.0)
        await until(desk, at_rest_near(1115.0), within_s=30)
        # Looked for when the desk came to rest: no polling, no other step.
        async with asyncio.timeout(10):
            while not shown(app, "#suggested-line"):
                await pilot.pause()
        assert "stand 111.5 cm (now 110.0 cm)" in str(
            app.query_one("#suggested-line", Label).render()
        )
    history = History(paths.data_dir / "history.sqlite3")
    last = history.adjustments()[-1]
    history.close()
    assert (last.kind, last.settled_mm) == ("stand", 1115.0)


# -- snapshots ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_suggested_height_snapshot(
    snap_compare: Callable[..., bool], size: tuple[int, int]
) -> None:
    app = make_app("sim://snapshot")
    seed(app.history, "sim://snapshot", None)

    async def people(pilot: Pilot[None]) -> None:
        assert isinstance(pilot.app, DeskApp)
        await connected(pilot.app)
        await pilot.press("3")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=people)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_suggested_line_snapshot(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    app = make_app("sim://snapshot")
    seed(app.history, "sim://snapshot", None)

    async def desk(pilot: Pilot[None]) -> None:
        assert isinstance(pilot.app, DeskApp)
        await connected(pilot.app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=desk)
