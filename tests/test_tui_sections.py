"""The interface's sections and its keys in them: fields keep what is typed into them, Esc
stops a moving desk before anything else and otherwise leaves what is open, the exercise
card's key bar, and fields that show what they hold at 80x24."""

from __future__ import annotations

import asyncio

from test_tui import advance_to_prompt, at_rest_near, connected, make_app, until
from textual.color import Color
from textual.command import CommandPalette
from textual.widgets import ContentSwitcher, Input
from textual.widgets._footer import FooterKey

from deskctl.tui.sections.people import PeopleSection
from deskctl.tui.widgets import SectionBar


async def test_digits_typed_in_a_field_go_into_it_and_switch_no_section() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("3")
        name = app.query_one("#new-name", Input)
        name.focus()
        await pilot.press("a", "n", "a", "1", "5", "2")
        assert name.value == "ana152"
        assert app.query_one(SectionBar).active == "people"
        assert app.query_one(ContentSwitcher).current == "people-section"


async def test_escape_leaves_a_field_for_its_section_whose_keys_then_work() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("3")
        app.query_one("#body-input", Input).focus()
        await pilot.press("escape")
        assert isinstance(app.focused, PeopleSection)
        assert not desk.state.moving
        await pilot.press("1")  # a section key works again
        assert app.query_one(ContentSwitcher).current == "desk-section"


async def test_escape_stops_a_moving_desk_whatever_has_the_focus() -> None:
    app = make_app("sim://tui")  # real speed: the move takes seconds
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        # In a field: Esc stops the desk rather than leave the field.
        await pilot.press("3")
        sit = app.query_one("#sit-input", Input)
        sit.focus()
        app.action_posture("stand")
        await until(desk, lambda state: state.moving and state.height_mm > 760.0)
        await pilot.press("escape")
        stopped = await until(desk, lambda state: not state.moving)
        assert 760.0 < stopped.height_mm < 1000.0
        assert app.focused is sit
        # With the command palette open: Esc stops the desk first.
        app.action_posture("sit")
        await until(desk, lambda state: state.moving and state.speed_mm_s < 0)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        stopped = await until(desk, lambda state: not state.moving)
        assert stopped.height_mm > 720.0
        # At rest, Esc closes the palette.
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CommandPalette)


async def test_the_exercise_cards_key_bar_shows_the_exercises_keys() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        card = await advance_to_prompt(app, pilot)
        await pilot.pause()
        shown = {key.description for key in card.query(FooterKey)}
        assert {"Confirm", "Snooze", "Skip"} <= shown
        await pilot.press("y")
        await until(desk, at_rest_near(1100.0))
        async with asyncio.timeout(5):
            while not card.exercising:
                await pilot.pause()
        await pilot.pause()
        shown = {key.description for key in card.query(FooterKey)}
        assert {"Done", "Skip it", "Close", "Stop"} <= shown
        assert not {"Confirm", "Snooze", "Skip"} & shown
        assert app.runner is not None
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is not card


async def test_the_new_persons_field_shows_its_whole_example_at_80x24() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("3")
        await pilot.pause()
        name = app.query_one("#new-name", Input)
        # The cursor takes a cell after the text.
        assert name.content_region.width > len(name.placeholder)


def near(color: Color, other: Color) -> bool:
    """The same colour, but for the rounding of the theme's blending."""
    return all(abs(a - b) <= 2 for a, b in zip(color.rgb, other.rgb, strict=True))


async def test_what_has_the_focus_wears_the_themes_accent_in_every_theme() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("5")
        for theme in ("textual-dark", "textual-light", "nord"):
            app.theme = theme
            chosen = app.get_theme(theme)
            assert chosen is not None
            assert chosen.accent is not None
            accent = Color.parse(chosen.accent)
            for selector in ("#url-input", "#connect", "#auto"):
                app.query_one(selector).focus()
                await pilot.pause()
                border = app.query_one(selector).styles.border_top[1]
                assert near(border, accent), (theme, selector)
            app.query_one("#settings-section").focus()
            await pilot.pause()
            section = app.query_one("#settings-section")
            assert near(section.styles.scrollbar_color, accent), theme


async def test_the_theme_chosen_is_the_one_the_next_start_opens_with() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "textual-dark"
        app.theme = "nord"  # what the palette's "Change theme" does
        await pilot.pause()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "nord"


async def test_tab_brings_every_control_of_settings_and_people_into_view_at_80x24() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        for key, last in (("5", "save-schedule"), ("3", "add-person")):
            await pilot.press("escape", key)  # out of a field first: there 3 is a digit
            section = app.query_one(ContentSwitcher).visible_content
            assert section is not None
            seen = []
            for _ in range(20):
                await pilot.press("tab")
                await pilot.wait_for_scheduled_animations()
                focused = app.focused
                assert focused is not None
                if focused is section or section not in focused.ancestors:
                    continue  # the section itself, or the section bar
                seen.append(focused.id)
                assert section.region.contains_region(focused.region), (focused, section)
            assert last in seen


async def test_the_unit_dropdown_offers_the_units_and_no_blank() -> None:
    from textual.widgets._select import SelectOverlay

    from deskctl.units import Unit

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("5")
        app.query_one("#unit").focus()
        await pilot.press("enter")
        await pilot.pause()
        overlay = app.query_one("#unit").query_one(SelectOverlay)
        assert overlay.option_count == len(Unit)


async def test_a_moves_status_line_fits_the_desk_section_at_80x24() -> None:
    from textual.widgets import Label

    from deskctl.tui.sections.desk import DeskSection

    app = make_app("sim://a-long-desk-name?speed=1")  # the header names the desk
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("t")
        await until(desk, lambda state: state.moving and state.speed_mm_s > 0)
        await pilot.pause()
        status = app.query_one("#status", Label)
        shown = str(status.render())
        assert "to 110.0 cm" in shown
        main = app.query_one(DeskSection).query_one("#main")
        assert status.region.right <= main.content_region.right, shown
        await pilot.press("space")


async def test_the_collision_banner_is_read_whole_at_80x24() -> None:
    from textual.widgets import Label

    from deskctl.model import DeskState, Fault
    from deskctl.tui.app import DeskUpdate

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        fault = DeskState(height_mm=900.0, fault=Fault.COLLISION, detail="something was in the way")
        app.post_message(DeskUpdate(fault))
        await pilot.pause()
        banner = app.query_one("#banner", Label)
        assert "nothing moves until then" in str(banner.render())
        assert banner.region.right <= 80
        assert banner.region.height >= 2  # wrapped, not cut


async def test_the_prompt_row_of_who_is_at_the_desk_keeps_the_person_shown() -> None:
    from textual.widgets import Select

    from deskctl.paths import Paths
    from deskctl.profiles.model import Profile
    from deskctl.profiles.store import ProfileStore

    store = ProfileStore(Paths.from_env().profiles_dir)
    store.save(Profile(name="ana", sit=680.0, stand=1050.0))
    store.save(Profile(name="bob", sit=750.0, stand=1180.0))
    app = make_app(profile="bob")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("3")
        await pilot.pause()
        who = app.query_one("#who", Select)
        assert who.value == "bob"
        who.focus()
        await pilot.press("enter", "down", "enter")  # from bob, down wraps to the prompt
        await pilot.pause()
        assert app.profile_name == "bob"
        assert who.value == "bob"


async def test_pause_and_resume_hand_the_focus_to_each_other() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("2")
        app.query_one("#pause").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app._paused
        assert app.focused is app.query_one("#resume")
        await pilot.press("enter")  # the keyboard's way back
        await pilot.pause()
        assert not app._paused
        assert app.focused is app.query_one("#pause")
