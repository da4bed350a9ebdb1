"""Every section, and the dialogs, as a terminal shows them at 80x24 and 120x40."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from test_tui import advance_to_prompt, at_rest_near, connected, make_app, until
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Label

from deskctl.model import DeskState, Fault
from deskctl.tui.app import DeskApp, DeskUpdate

SIZES = [(80, 24), (120, 40)]
Before = Callable[[Pilot[None]], Awaitable[None]]


def section(key: str) -> Before:
    async def shown(pilot: Pilot[None]) -> None:
        assert isinstance(pilot.app, DeskApp)
        await connected(pilot.app)
        await pilot.press(key)
        await pilot.pause()

    return shown


async def settings_bottom(pilot: Pilot[None]) -> None:
    await section("5")(pilot)
    pilot.app.query_one("#settings-section", VerticalScroll).scroll_end(animate=False)
    await pilot.pause()


async def help_screen(pilot: Pilot[None]) -> None:
    await section("1")(pilot)
    await pilot.press("question_mark")
    await pilot.pause()


async def collision(pilot: Pilot[None]) -> None:
    await section("1")(pilot)
    fault = DeskState(height_mm=900.0, fault=Fault.COLLISION, detail="something was in the way")
    pilot.app.post_message(DeskUpdate(fault))
    await pilot.pause()


async def exercise_card(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, DeskApp)
    desk = await connected(app)
    card = await advance_to_prompt(app, pilot)
    await pilot.press("y")
    await until(desk, at_rest_near(1100.0))
    while not card.exercising:
        await pilot.pause()
    # Behind the card, the dashboard shows the desk at rest (its last states all taken in).
    async with asyncio.timeout(10):
        while "110.0 cm  stopped" not in str(app.query_one("#status", Label).render()):
            await pilot.pause()
    # The dashboard behind the card repaints on its screen's own frame timer, which a
    # snapshot may beat: run that repaint now.
    app.screen_stack[0]._on_timer_update()
    await pilot.pause()
    # The card's clock held at the exercise's start: the picture shows no passing second.
    assert card.exercise is not None
    start = card.deadline - card.exercise.duration_s
    card.now = lambda: start
    card.refresh_countdown()
    # The dashboard behind the card reaches the card's screen through the background
    # screen's own refresh, which may still be pending: the whole card's screen repaints.
    app.screen_stack[0].refresh()
    await pilot.pause()
    app.screen.refresh()
    await pilot.pause()


VIEWS: dict[str, Before] = {
    "desk": section("1"),
    "schedule": section("2"),
    "people": section("3"),
    "stats": section("4"),
    "settings": section("5"),
    "settings-bottom": settings_bottom,
    "help": help_screen,
    "collision": collision,
    "exercise-card": exercise_card,
}


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("view", list(VIEWS))
def test_view(snap_compare: Callable[..., bool], view: str, size: tuple[int, int]) -> None:
    url = "sim://tui?speed=50" if view == "exercise-card" else "sim://snapshot"
    assert snap_compare(make_app(url), terminal_size=size, run_before=VIEWS[view])
