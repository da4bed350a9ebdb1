"""Prompts as desktop notifications, against a real notification service on a private
session bus: the buttons answer, and a prompt that ends any other way leaves the desktop.

These run on the real loop with the schedule's clock injected (and moved on by hand),
not on virtual time: the bus is another process, whose answers virtual time would race.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from notify_rig import notification_service
from test_tui import advance_to_prompt, at_rest_near, connected, make_app, until

from deskctl.cli import build_parser
from deskctl.cli_policy import Shown, _answers, _desktop, _view, answers_here
from deskctl.clock import EpochClock
from deskctl.context import Context
from deskctl.desk import Desk
from deskctl.drivers.registry import open_desk
from deskctl.history import History
from deskctl.notify import PromptNotifications, has_notification_service, prompt_words
from deskctl.paths import Paths
from deskctl.policy.engine import Engine, Prompt, Settings, Tick
from deskctl.policy.exercises import Posture
from deskctl.policy.runner import Heights, Runner
from deskctl.policy.schedule import Rhythm
from deskctl.run_view import RunView
from deskctl.tui.transition import TransitionScreen
from deskctl.units import Unit

DESKCTL = str(Path(sys.executable).with_name("deskctl"))
MONDAY_0915 = dt.datetime(2026, 11, 23, 9, 15, tzinfo=dt.UTC).timestamp()
PROMPT = Prompt(Posture.STAND, "calf-raises", 300.0, auto=False, snoozes_left=2)


# -- the interface ----------------------------------------------------------------------------


@pytest.mark.usefixtures("session_bus")
async def test_the_interfaces_prompt_shows_with_three_buttons_and_confirm_moves_the_desk() -> None:
    async with notification_service() as service:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            desk = await connected(app)
            card = await advance_to_prompt(app, pilot)
            shown = await service.until_open(1)
            assert shown is not None
            assert shown.summary == "Time to stand up"
            assert "110.0 cm" in shown.body
            exercise = app.runner.engine.settings.library.get(card.prompt.exercise_id or "")  # type: ignore[union-attr]
            assert exercise is not None
            assert exercise.name in shown.body
            buttons = {key: label for key, label in shown.actions.items() if key != "default"}
            assert buttons == {"confirm": "Confirm", "snooze": "Snooze", "skip": "Skip"}
            assert app.desktop is not None
            await app.desktop.idle.wait()  # it knows the notification it sent
            service.click("confirm")
            await until(desk, at_rest_near(1100.0))
            while not card.exercising:  # the card follows the answer given on the desktop
                await pilot.pause()
            assert service.open == {}


@pytest.mark.usefixtures("session_bus")
@pytest.mark.parametrize(("key", "outcome"), [("s", "snoozed"), ("n", "skipped")])
async def test_an_answer_in_the_interface_withdraws_the_notification(
    key: str, outcome: str
) -> None:
    async with notification_service() as service:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await connected(app)
            await advance_to_prompt(app, pilot)
            shown = await service.until_open(1)
            assert shown is not None
            await pilot.press(key)
            await service.until_open(0)
            assert service.closed_by_call == [shown.id]
            assert app.history.events(0, 2e9, "transition")[-1][2] == outcome


@pytest.mark.usefixtures("session_bus")
async def test_a_lapsed_prompt_withdraws_the_notification() -> None:
    async with notification_service() as service:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await connected(app)
            await advance_to_prompt(app, pilot)
            shown = await service.until_open(1)
            assert shown is not None
            assert app.clock.offset is not None
            app.clock.offset += 6 * 60  # the answer window is five minutes
            app.tell(Tick())
            await service.until_open(0)
            assert service.closed_by_call == [shown.id]
            while isinstance(app.screen, TransitionScreen):
                await pilot.pause()


@pytest.mark.usefixtures("session_bus")
async def test_a_prompt_on_the_desktop_is_withdrawn_when_the_interface_quits() -> None:
    async with notification_service() as service:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await connected(app)
            await advance_to_prompt(app, pilot)
            shown = await service.until_open(1)
        assert shown is not None
        assert service.closed_by_call == [shown.id]


async def test_with_no_session_bus_the_interface_prompts_as_before() -> None:
    assert not has_notification_service()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await advance_to_prompt(app, pilot)
        assert app.desktop is not None
        assert not app.desktop.enabled
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, TransitionScreen)


# -- the notifications on their own -----------------------------------------------------------


def words(prompt: Prompt) -> tuple[str, str]:
    return prompt_words(prompt, "Calf raises", "110.0 cm")


@pytest.mark.usefixtures("session_bus")
async def test_a_bus_without_a_notification_service_turns_them_off_quietly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    desktop = PromptNotifications(lambda _: None, words)
    assert desktop.enabled
    desktop.action(PROMPT)
    await desktop.idle.wait()
    assert not desktop.enabled
    await desktop.aclose()
    assert capsys.readouterr() == ("", "")


@pytest.mark.usefixtures("session_bus")
async def test_a_desktop_without_buttons_gets_the_prompt_as_text() -> None:
    async with notification_service(capabilities=("body",)) as service:
        desktop = PromptNotifications(lambda _: None, words)
        desktop.action(PROMPT)
        shown = await service.until_open(1)
        assert shown is not None
        assert set(shown.actions) <= {"default"}
        assert shown.body.startswith("The desk goes to 110.0 cm, then: Calf raises.")
        await desktop.aclose()
        await service.until_open(0)


@pytest.mark.usefixtures("session_bus")
async def test_a_new_prompt_replaces_the_last_and_a_spent_snooze_has_no_button() -> None:
    async with notification_service() as service:
        clicked: list[str] = []
        answered = asyncio.Event()

        def answer(word: str) -> None:
            clicked.append(word)
            answered.set()

        desktop = PromptNotifications(answer, words)
        desktop.action(PROMPT)
        first = await service.until_open(1)
        desktop.action(dataclasses.replace(PROMPT, snoozes_left=0))
        await desktop.idle.wait()
        second = await service.until_open(1)
        assert first is not None
        assert second is not None
        assert service.closed_by_call == [first.id]
        assert "snooze" not in second.actions
        await desktop.idle.wait()
        service.click("skip")
        async with asyncio.timeout(10):
            await answered.wait()
        assert clicked == ["skip"]
        await desktop.aclose()


# -- deskctl run ------------------------------------------------------------------------------


class Said(list[str]):
    """What ``deskctl run`` printed; ``line`` is set on each new line."""

    def __init__(self) -> None:
        super().__init__()
        self.line = asyncio.Event()

    def __call__(self, text: str, _urgent: bool) -> None:
        self.append(text)
        self.line.set()

    async def until(self, words: str) -> None:
        async with asyncio.timeout(10):
            while not any(words in line for line in self):
                self.line.clear()
                await self.line.wait()


@asynccontextmanager
async def run_here(said: Said) -> AsyncIterator[tuple[Runner, Desk, EpochClock, Shown]]:
    """``deskctl run``'s terminal and desktop, around a runner in this process."""
    heights = Heights(720.0, 1100.0)
    settings = Settings(rhythm=Rhythm(started=dt.date(2026, 11, 23)))
    clock = EpochClock(starting_at=MONDAY_0915)
    view = RunView(settings.library, said, dt.UTC, clock.now)
    show = Shown(view, PromptNotifications(lambda _: None, words))
    async with open_desk("sim://notify?speed=50", Paths.from_env(), Unit.CM) as desk:
        runner = Runner(
            desk,
            Engine(settings),
            History(":memory:"),
            heights=heights,
            show=show,
            stepped=show.stepped,
            clock=clock,
        )
        show.answers_to(answers_here(runner))
        task = asyncio.create_task(runner.run())
        await runner.started.wait()
        try:
            yield runner, desk, clock, show
        finally:
            await show.desktop.aclose()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


async def prompted(runner: Runner, clock: EpochClock, said: Said) -> None:
    assert clock.offset is not None
    clock.offset += 21 * 60
    runner.tell(Tick())
    await said.until("time to stand up")


@pytest.mark.usefixtures("session_bus")
async def test_run_takes_a_click_on_confirm_as_its_y() -> None:
    said = Said()
    async with (
        notification_service() as service,
        run_here(said) as (
            runner,
            desk,
            clock,
            show,
        ),
    ):
        await prompted(runner, clock, said)
        shown = await service.until_open(1)
        assert shown is not None
        assert {"confirm", "snooze", "skip"} <= set(shown.actions)
        await show.desktop.idle.wait()  # it knows the notification it sent
        service.click("confirm")
        await until(desk, at_rest_near(1100.0))
        assert any(line.endswith("moving the desk to stand") for line in said)


@pytest.mark.usefixtures("session_bus")
async def test_run_withdraws_the_notification_when_answered_in_the_terminal() -> None:
    said = Said()
    async with (
        notification_service() as service,
        run_here(said) as (
            runner,
            desk,
            clock,
            show,
        ),
    ):
        await prompted(runner, clock, said)
        shown = await service.until_open(1)
        assert shown is not None
        _answers(show.view, answers_here(runner))("n\n")  # the terminal's n and Enter
        await service.until_open(0)
        assert service.closed_by_call == [shown.id]
        assert desk.state.height_mm == 720.0


def test_run_with_no_session_bus_says_nothing_of_notifications() -> None:
    runner = subprocess.Popen(
        [DESKCTL, "--desk", "sim://quiet?speed=50", "run"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert runner.stdout is not None
    assert runner.stdout.readline().startswith("following the schedule at sim://quiet")
    runner.send_signal(signal.SIGINT)
    assert runner.wait(timeout=30) == 0
    assert runner.stderr is not None
    assert runner.stderr.read() == ""


@pytest.mark.usefixtures("session_bus")
@pytest.mark.parametrize(
    ("config", "options", "enabled"),
    [("", [], True), ("notify = false\n", [], False), ("", ["--no-notify"], False)],
)
def test_notify_false_in_the_config_or_no_notify_turns_them_off(
    config: str, options: list[str], enabled: bool
) -> None:
    Paths.from_env().config_file.parent.mkdir(parents=True, exist_ok=True)
    Paths.from_env().config_file.write_text(config)
    words = ["--desk", "sim://switch", "run", *options]
    ctx = Context(build_parser(words).parse_args(words))
    assert _desktop(ctx, _view(), Heights(720.0, 1100.0)).enabled is enabled


def test_a_notify_setting_that_is_not_true_or_false_is_refused() -> None:
    config = Paths.from_env().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('notify = "no"\n')
    result = subprocess.run(
        [DESKCTL, "status"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stderr == f"deskctl: {config}, line 1: notify: must be true or false, not 'no'\n"
