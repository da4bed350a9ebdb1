"""What users of good terminal apps expect: a header, help, the app's commands in the palette,
a banner for a fault, a move's target and progress, the gauge's limits."""

from __future__ import annotations

import asyncio

from test_tui import at_rest_near, connected, make_app, until
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Label, Static

from deskctl.model import DeskState, Fault
from deskctl.tui.app import DeskUpdate
from deskctl.tui.help import HelpScreen
from deskctl.tui.widgets import Gauge


async def test_the_header_names_the_desk_the_person_and_the_link() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.pause()
        header = str(app.query_one("#header", Label).render())
        assert "sim://tui?speed=50" in header
        assert "nobody's profile" in header
        assert "link connected" in header


async def test_question_mark_shows_every_key_and_esc_closes_it() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_the_command_palette_sits_stands_and_moves_to_a_height() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"stand")
        await hits(pilot)
        await pilot.press("enter")
        await until(desk, at_rest_near(1100.0))
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"move to 95cm")
        await hits(pilot)
        await pilot.press("enter")
        await until(desk, at_rest_near(950.0))


async def hits(pilot: Pilot[None]) -> None:
    """Until the palette lists what it found (its search runs in a worker)."""
    async with asyncio.timeout(5):
        while not pilot.app.screen.query_one(CommandList).option_count:
            await pilot.pause()


async def test_a_collision_shows_a_banner_that_says_what_to_do() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        app.post_message(DeskUpdate(DeskState(height_mm=900.0, fault=Fault.COLLISION)))
        await pilot.pause()
        banner = app.query_one("#banner", Label)
        assert banner.display
        assert banner.region.height > 0
        assert "press Space to re-arm" in str(banner.render())
        app.post_message(DeskUpdate(DeskState(height_mm=900.0)))
        await pilot.pause()
        assert banner.region.height == 0


async def test_a_move_shows_its_target_and_progress_and_the_gauge_its_limits() -> None:
    app = make_app("sim://tui")
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("t")
        await until(desk, lambda state: state.moving and state.height_mm > 800)
        await pilot.pause()
        status = str(app.query_one("#status", Label).render())
        assert "to 110.0 cm (" in status
        await pilot.press("space")
        await until(desk, lambda state: not state.moving)
        gauge = str(app.query_one(Gauge).render())
        lines = gauge.splitlines()
        assert lines[0].strip().endswith(f"{desk.limits.max_mm / 10:.1f}")
        assert lines[-1].strip().endswith(f"{desk.limits.min_mm / 10:.1f}")


async def test_the_exercise_card_plays_its_pictures_step_by_step() -> None:
    from test_tui import advance_to_prompt

    from deskctl.policy.art import frame_at

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        card = await advance_to_prompt(app, pilot)
        await pilot.press("y")
        await until(desk, at_rest_near(1100.0))
        while not card.exercising:
            await pilot.pause()
        exercise = card.exercise
        assert exercise is not None
        art = card.query_one("#art", Static)
        first = str(art.render())
        assert first.split() == frame_at(exercise, 0)[1].split()
        last_step = exercise.duration_s - 1
        assert app.clock.offset is not None
        app.clock.offset += last_step
        card.refresh_countdown()
        assert str(art.render()) != first or len(exercise.steps) == 1
        steps = str(card.query_one("#steps", Static).render())
        assert f"> {len(exercise.steps)}. " in steps
