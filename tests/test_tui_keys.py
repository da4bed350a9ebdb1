"""The interface as a new user tries it: prompts that never stick, every control reachable at
80x24, keys that go where they say, and figures that add up."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from test_tui import (
    advance_to_prompt,
    at_rest_near,
    connected,
    make_app,
    notified,
    picker,
    press,
    until,
)
from textual.command import CommandPalette
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, Select, Static
from textual.widgets._footer import FooterKey

from deskctl.model import DeskState
from deskctl.paths import Paths
from deskctl.policy.engine import Phase, Tick
from deskctl.profiles.model import Profile
from deskctl.profiles.store import ProfileStore
from deskctl.tui.app import KEY_HOLD_S, DeskApp, DeskUpdate
from deskctl.units import Unit


def auto_app() -> DeskApp:
    app = make_app()
    make = app.options.settings
    assert make is not None
    app.options.settings = lambda name: dataclasses.replace(make(name), auto_move=True)
    app.options.auto_move = True
    return app


def label(app: DeskApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Label).render())


# -- 1. the change card follows the engine and always has a way out -----------------------------


async def test_the_card_counts_down_on_the_schedules_clock_and_closes_when_the_prompt_lapses() -> (
    None
):
    app = auto_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        card = await advance_to_prompt(app, pilot)
        assert "The desk moves in 30 s" in label(app, "#countdown")
        assert app.clock.offset is not None
        app.clock.offset += 12
        card.refresh_countdown()
        assert "The desk moves in 18 s" in label(app, "#countdown")
        # Nobody has been active: when the countdown runs out the engine gives up.
        app.clock.offset += 20
        app.tell(Tick())
        async with asyncio.timeout(5):
            while app.screen is card:
                await pilot.pause()
        assert app.runner is not None
        assert app.runner.state.phase is Phase.AWAY
        assert not desk.state.moving
        # The schedule names no change for the end of the day: it waits for the person.
        await pilot.press("2")
        assert "away: sitting, the next change comes when you are back" in label(app, "#phase")


async def test_escape_closes_the_card_and_q_quits_from_it() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        card = await advance_to_prompt(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not card
        assert not desk.state.moving
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await advance_to_prompt(app, pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_a_confirm_on_a_card_the_engine_has_left_closes_it_and_moves_nothing() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        card = await advance_to_prompt(app, pilot)
        assert app.runner is not None
        # The engine moved on without the card hearing of it (a lost step, a slow link).
        app.runner.state = dataclasses.replace(app.runner.state, phase=Phase.AWAY)
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is not card
        assert not desk.state.moving
        assert "that change is no longer asked for" in notified(app)


# -- 2. every control is reachable at 80x24 ---------------------------------------------------


async def test_settings_and_people_scroll_to_their_last_control_at_80x24() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("5")
        scroll = app.query_one("#settings-section", VerticalScroll)
        assert scroll.max_scroll_y > 0
        save = app.query_one("#save-schedule")
        save.focus()
        await pilot.pause()
        assert save.region.height > 0
        assert scroll.region.contains_region(save.region)
        await pilot.press("3")
        people = app.query_one("#people-section", VerticalScroll)
        await press(pilot, "#recommend")  # the advice grows the section
        add = app.query_one("#add-person")
        add.focus()
        await pilot.pause()
        assert add.region.height > 0
        assert people.region.contains_region(add.region)


# -- 3. switching section moves the focus into it -----------------------------------------------


async def test_keys_after_a_section_switch_never_go_into_a_hidden_field() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("3")
        app.query_one("#new-name", Input).focus()
        await pilot.press("a", "n", "a", "tab", "enter")
        assert "ana" in ProfileStore(Paths.from_env().profiles_dir).names()
        await pilot.press("1")
        await pilot.press("t")
        await until(desk, at_rest_near(1100.0))
        await pilot.press("3")
        assert app.query_one("#new-name", Input).value == ""
        assert app.screen.focused is not None
        assert app.screen.focused.display


# -- 4. arrows in a field stay in it; Enter submits its form ----------------------------------


async def test_arrows_in_a_field_do_not_move_the_desk_and_enter_submits() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("3")
        sit = app.query_one("#sit-input", Input)
        sit.focus()
        await pilot.press("up", "up", "down")
        await pilot.pause()
        assert not desk.state.moving
        assert desk.state.height_mm == 720.0
        app.query_one("#new-name", Input).focus()
        await pilot.press("c", "a", "r", "o", "l", "enter")
        assert "carol" in ProfileStore(Paths.from_env().profiles_dir).names()


# -- 5. Esc closes what is open before it stops ----------------------------------------------


async def test_escape_closes_the_command_palette_and_a_dropdown() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CommandPalette)
        await pilot.press("5")
        unit = app.query_one("#unit", Select)
        unit.focus()
        await pilot.press("enter")
        assert unit.expanded
        await pilot.press("escape")
        assert not unit.expanded


# -- 6. a held key moves without a stutter -----------------------------------------------------


async def test_one_key_press_holds_past_the_first_key_repeat_delay() -> None:
    app = make_app("sim://tui")
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("up")
        await until(desk, lambda state: state.moving)
        began = time.monotonic()
        await until(desk, lambda state: not state.moving, within_s=5)
        # X11 and KDE wait 600-660 ms before a held key's first repeat.
        assert time.monotonic() - began >= 0.66
        assert KEY_HOLD_S >= 0.7


# -- 7. an upward move's first frame -------------------------------------------------------------


async def test_the_first_frame_of_a_move_names_its_way() -> None:
    app = make_app("sim://tui")
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("t")
        # The moment the desk says it moves, before it reports a speed:
        app.on_desk_update(DeskUpdate(DeskState(height_mm=720.0, moving=True, speed_mm_s=0.0)))
        status = label(app, "#status")
        assert "moving up" in status
        assert "0 mm/s" not in status
        await pilot.press("space")
        await until(desk, lambda state: not state.moving)


# -- 8. the figures add up and a settings change never restarts the schedule --------------------


async def test_stats_count_a_sitting_bout_and_a_change_and_settings_keep_the_schedule() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        desk = await connected(app)
        runner = app.runner
        card = await advance_to_prompt(app, pilot)
        await pilot.press("y")
        await until(desk, at_rest_near(1100.0))
        while not card.exercising:
            await pilot.pause()
        await pilot.press("y")
        await pilot.press("4")
        today = str(app.query_one("#today").render())
        assert "sitting 21 min" in today
        assert "1 change (" in today  # the confirmed change, and no more
        # Saving the schedule, a new unit and auto-move: the same schedule goes on.
        await pilot.press("5")
        app.query_one("#sit-minutes", Input).value = "30"
        await press(pilot, "#save-schedule")
        app.query_one("#auto").toggle()  # type: ignore[attr-defined]
        await pilot.pause()
        assert app.runner is runner
        assert runner is not None
        assert runner.engine.settings.auto_move
        assert runner.engine.settings.rhythm.sit_s == 30 * 60
        postures = [what for _, _, what, _ in app.history.events(0, 2e9, "posture")]
        assert "off" not in postures


async def test_the_done_timeline_stops_at_now() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        await pilot.press("2")
        done = str(app.query_one("#timeline", Static).render()).splitlines()[-2]
        marks = done.removeprefix("  done ")
        # 09:15: 08:00-09:10 are seven marks of nothing, then the one under way; no more.
        assert marks[8:].strip() == ""


# -- 9. the session's heights are checked -----------------------------------------------------


async def test_heights_outside_the_desk_or_upside_down_are_refused() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("3")
        for sit, stand, said in (
            ("72cm", "300cm", "300.0 cm is outside this desk's range"),
            ("10cm", "110cm", "10.0 cm is outside this desk's range"),
            ("110cm", "80cm", "stand 80.0 cm must be higher than sit 110.0 cm"),
        ):
            app.query_one("#sit-input", Input).value = sit
            app.query_one("#stand-input", Input).value = stand
            await press(pilot, "#save-heights")
            assert any(said in line for line in notified(app)), notified(app)
            assert (app.sit_mm, app.stand_mm) == (720.0, 1100.0)


# -- 10. fields wide enough for what they hold ---------------------------------------------


async def test_fields_are_as_wide_as_what_they_hold() -> None:
    app = make_app("sim://lab?speed=50")
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        await pilot.press("5")
        await pilot.pause()
        hours = app.query_one("#hours-input", Input)
        assert hours.outer_size.width >= 32
        url = app.query_one("#url-input", Input)
        assert url.outer_size.width >= len("sim://lab?speed=50") + 4
        assert app.query_one("#unit", Select).outer_size.width <= 20


# -- 11. the unit chosen in Settings is the person's ------------------------------------------


async def test_the_unit_chosen_in_settings_is_saved_to_the_profile() -> None:
    store = ProfileStore(Paths.from_env().profiles_dir)
    store.save(Profile(name="ana", sit=680.0, stand=1050.0))
    app = make_app(profile="ana")
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        await pilot.press("5")
        app.query_one("#unit", Select).value = "in"
        await pilot.pause()
        assert store.load("ana").unit is Unit.IN


# -- 12. the small ones -----------------------------------------------------------------------


async def test_pause_shows_at_once_and_the_countdown_agrees_with_itself() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        await pilot.press("2")
        assert app.clock.offset is not None
        app.clock.offset += 4 * 60 + 49  # 09:19:49: 09:19 on the clock, the change at 09:35
        await pilot.press("1", "2")
        assert "next change in 16 min, at 09:35" in label(app, "#phase")
        await press(pilot, "#pause")
        async with asyncio.timeout(5):
            while "away (paused)" not in label(app, "#phase"):
                await pilot.pause()
        # A paused schedule names no change to come: it waits for Resume.
        assert "no change until you resume" in label(app, "#phase")
        assert "next change" not in label(app, "#phase")


async def test_a_bout_shorter_than_the_engines_shortest_is_refused() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        await pilot.press("5")
        app.query_one("#stand-minutes", Input).value = "2"
        await press(pilot, "#save-schedule")
        assert "stand minutes: at least 5 (the shortest bout)" in notified(app)
        assert app.runner is not None
        assert app.runner.engine.settings.rhythm.sit_s == 20 * 60


async def test_the_exercise_timer_rings_and_asks_at_zero() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        rings: list[None] = []
        app.bell = lambda: rings.append(None)  # type: ignore[method-assign]
        card = await advance_to_prompt(app, pilot)
        assert len(rings) == 1  # the prompt rings
        await pilot.press("y")
        await until(desk, at_rest_near(1100.0))
        while not card.exercising:
            await pilot.pause()
        assert card.exercise is not None
        assert app.clock.offset is not None
        app.clock.offset += card.exercise.duration_s
        card.refresh_countdown()
        assert "time is up: done (y) or skip it (n)?" in label(app, "#countdown").lower()
        assert len(rings) == 2


async def test_a_linak_preset_picker_offers_no_storing() -> None:
    app = make_app("linak-emu://tui-presets")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("p")
        screen = await picker(pilot)
        assert "store" not in str(screen.query_one("#picker-hint", Label).render())


async def test_a_dialog_shows_its_own_keys_and_not_the_desks() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        card = await advance_to_prompt(app, pilot)
        await pilot.pause()
        shown = {key.key for key in card.query(FooterKey)}
        assert {"y", "s", "n", "escape", "space"} <= shown
        assert not {"up", "t", "p"} & shown
