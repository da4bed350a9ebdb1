"""The terminal interface, driven with Textual's Pilot against emulated desks."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, ContentSwitcher, Digits, Label, Select, Static

from deskctl.clock import EpochClock
from deskctl.desk import Desk
from deskctl.drivers.ble_bumble import use_virtual_radio
from deskctl.drivers.linak_emulator import LinakEmulator
from deskctl.history import History
from deskctl.model import DeskState, Link
from deskctl.paths import Paths
from deskctl.policy.engine import Settings
from deskctl.policy.schedule import Rhythm
from deskctl.profiles.model import WEEKDAYS, Profile, SchedulePrefs
from deskctl.profiles.store import ProfileStore
from deskctl.tui.app import KEY_HOLD_S, DeskApp, DeskUpdate, Options
from deskctl.tui.presets import PresetScreen
from deskctl.tui.transition import TransitionScreen
from deskctl.tui.widgets import SectionBar
from deskctl.units import Unit

MONDAY_0915 = dt.datetime(2026, 11, 23, 9, 15, tzinfo=dt.UTC).timestamp()
FAST = "sim://tui?speed=50"


def make_app(url: str = FAST, profile: str | None = None) -> DeskApp:
    settings = Settings(rhythm=Rhythm(started=dt.date(2026, 11, 23)))
    options = Options(
        url=url,
        paths=Paths.from_env(),
        unit=Unit.CM,
        sit_mm=720.0,
        stand_mm=1100.0,
        profile=profile,
        settings=lambda _: settings,
    )
    clock = EpochClock(starting_at=MONDAY_0915)
    return DeskApp(options, history=History(":memory:"), clock=clock)


async def connected(app: DeskApp) -> Desk:
    """The app's desk, once the connecting worker has it."""
    async with asyncio.timeout(10):
        await app.built.wait()
        await app.ready.wait()
        assert app.runner is not None
        await app.runner.started.wait()
    assert app.desk is not None
    return app.desk


async def until(desk: Desk, done: Callable[[DeskState], bool], within_s: float = 10.0) -> DeskState:
    """The first state of ``desk`` for which ``done`` holds."""
    async with asyncio.timeout(within_s):
        with desk.subscribe() as states:
            state = desk.state
            while not done(state):
                state = await anext(states)
    return state


def at_rest_near(height: float) -> Callable[[DeskState], bool]:
    return lambda state: not state.moving and abs(state.height_mm - height) <= 1.0


def notified(app: DeskApp) -> list[str]:
    """What the app has told the person so far (Textual keeps no public list of it)."""
    return [notification.message for notification in app._notifications]


async def test_sit_and_stand_keys_move_the_desk_and_the_digits_follow() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("t")
        await until(desk, at_rest_near(1100.0))
        await pilot.pause()
        assert str(app.query_one("#height", Digits).value) == "110.0"
        await pilot.click("#sit")
        await until(desk, at_rest_near(720.0))
        await pilot.pause()
        assert "72.0 cm  stopped" in str(app.query_one("#status", Label).render())
        app.query_one("#stand").focus()  # the buttons work from the keyboard too
        await pilot.press("enter")
        await until(desk, at_rest_near(1100.0))


async def test_space_stops_a_move_at_once() -> None:
    app = make_app("sim://tui")  # real speed: the move takes seconds
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("t")
        await until(desk, lambda state: state.moving)
        await pilot.press("space")
        stopped = await until(desk, lambda state: not state.moving)
        assert 720.0 < stopped.height_mm < 900.0


async def test_holding_a_key_moves_and_letting_go_stops() -> None:
    app = make_app("sim://tui")
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("up")
        await until(desk, lambda state: state.moving and state.speed_mm_s > 0)
        for _ in range(3):
            await pilot.press("up")  # the key repeats while it is held
        rested = await until(desk, lambda state: not state.moving, within_s=KEY_HOLD_S + 5)
        assert 720.0 < rested.height_mm < 800.0


async def test_holding_the_mouse_on_a_hold_button_moves_until_released() -> None:
    app = make_app("sim://tui")
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.mouse_down("#hold-up")
        await until(desk, lambda state: state.moving and state.speed_mm_s > 0)
        await pilot.mouse_up("#hold-up")
        rested = await until(desk, lambda state: not state.moving)
        assert rested.height_mm > 720.0


async def test_presets_are_stored_and_gone_to_from_a_picker() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await pilot.press("p")  # nothing stored yet: nothing to go to
        going = await picker(pilot)
        assert not going.choices
        await pilot.press("3")  # not offered: the picker stays
        assert app.screen is going
        await pilot.press("P")  # store instead: every slot is offered
        assert (await picker(pilot, instead_of=going)).choices == [1, 2, 3, 4]
        assert len(app.screen_stack) == 2  # the one picker took the other's place
        await pilot.press("2")
        async with asyncio.timeout(5):
            while (await desk.presets())[2] is None:
                await pilot.pause()
        assert (await desk.presets())[2] == 720.0
        await pilot.press("t")
        await until(desk, at_rest_near(1100.0))
        await pilot.pause()
        assert "2: 72.0 cm" in str(app.query_one("#presets", Label).render())
        await pilot.press("p")
        assert (await picker(pilot)).choices == [2]
        assert await pilot.click("#preset-2")
        await until(desk, at_rest_near(720.0))
        await pilot.press("p")
        await picker(pilot)
        await pilot.press("space")  # stop closes the picker too; nothing moves
        await pilot.pause()
        assert not isinstance(app.screen, PresetScreen)
        assert not desk.state.moving


async def test_a_desk_that_stores_presets_from_its_keypad_only_says_so() -> None:
    app = make_app("linak-emu://tui-presets")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press("P")
        await pilot.pause()
        assert not isinstance(app.screen, PresetScreen)
        said = notified(app)
        assert "linak desks store presets from their own keypad only" in said
        await pilot.press("p")  # going to one is fine: none is stored on this one
        assert (await picker(pilot)).choices == []


async def picker(pilot: Pilot[None], instead_of: object = None) -> PresetScreen:
    """The preset picker, once the worker that reads the presets has put it up."""
    async with asyncio.timeout(5):
        while not isinstance(screen := pilot.app.screen, PresetScreen) or screen is instead_of:
            await pilot.pause()
    return screen


async def test_switching_people_switches_heights() -> None:
    store = ProfileStore(Paths.from_env().profiles_dir)
    store.save(Profile(name="ana", sit=680.0, stand=1050.0))
    store.save(Profile(name="bob", sit=750.0, stand=1180.0))
    app = make_app(profile="ana")
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        assert "sit 68.0 cm, stand 105.0 cm" in str(app.query_one("#profile-line", Label).render())
        app.query_one("#who", Select).value = "bob"
        await pilot.pause()
        assert app.profile_name == "bob"
        assert store.active_for("sim://tui") == "bob"
        await pilot.press("t")
        await until(desk, at_rest_near(1180.0))


async def test_a_new_person_gets_the_heights_shown_and_the_desk() -> None:
    store = ProfileStore(Paths.from_env().profiles_dir)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        app.action_section("people")
        await pilot.pause()
        app._input("new-name").value = "Ana Maria"
        await press(pilot, "#add-person")
        assert notified(app)[-1].startswith("name: ")
        assert store.names() == []
        app._input("new-name").value = "ana"
        app._input("stand-input").value = "105cm"
        await press(pilot, "#add-person")
        assert (store.load("ana").sit, store.load("ana").stand) == (720.0, 1050.0)
        assert app.profile_name == "ana"
        assert store.active_for("sim://tui") == "ana"
        app._input("new-name").value = "ana"
        await press(pilot, "#add-person")  # nothing is replaced
        assert "a profile 'ana' exists already" in notified(app)[-1]


async def press(pilot: Pilot[None], button: str) -> None:
    """Presses a button the way a click does. Not a click: the last error's toast may
    cover it, and a button ignores clicks while it still shows the last one."""
    pilot.app.query_one(button, Button).press()
    await pilot.pause()


async def advance_to_prompt(app: DeskApp, pilot: Pilot[None]) -> TransitionScreen:
    """Move the schedule's clock past the first sitting bout and wake the engine."""
    assert app.runner is not None
    assert app.clock.offset is not None
    app.clock.offset += 21 * 60
    from deskctl.policy.engine import Tick

    app.tell(Tick())
    await pilot.pause()
    while not isinstance(app.screen, TransitionScreen):
        await pilot.pause()
    return app.screen


async def test_a_confirmed_change_moves_the_desk_and_the_card_follows_the_exercise() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        screen = await advance_to_prompt(app, pilot)
        assert screen.prompt.target.value == "stand"
        await pilot.press("y")
        await until(desk, at_rest_near(1100.0))
        while not screen.exercising:
            await pilot.pause()
        await pilot.press("y")  # done
        await pilot.pause()
        assert not isinstance(app.screen, TransitionScreen)
        done = app.history.events(0, 2e9, "exercise")
        assert [what for _, _, what, _ in done] == ["shown", "done"]


@pytest.mark.parametrize(("key", "outcome"), [("s", "snoozed"), ("n", "skipped")])
async def test_snooze_and_skip_leave_the_desk_where_it_is(key: str, outcome: str) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        await advance_to_prompt(app, pilot)
        await pilot.press(key)
        await pilot.pause()
        assert not isinstance(app.screen, TransitionScreen)
        transitions = app.history.events(0, 2e9, "transition")
        assert transitions[-1][2] == outcome
        assert not desk.state.moving
        assert desk.state.height_mm == 720.0


async def test_a_lost_link_shows_and_the_desk_comes_back() -> None:
    app = make_app("linak-emu://tui")
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await connected(app)
        emulator = desk.emulator  # type: ignore[attr-defined]
        await emulator.out_of_range()
        await until(desk, lambda state: state.link is not Link.CONNECTED)
        await pilot.pause()
        assert "reconnecting" in str(app.query_one("#status", Label).render())
        await emulator.back_in_range()
        await until(desk, lambda state: state.link is Link.CONNECTED, within_s=30)
        await pilot.pause()
        assert "stopped" in str(app.query_one("#status", Label).render())


# -- snapshots ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_dashboard_snapshot(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    async def ready(pilot: Pilot[None]) -> None:
        assert isinstance(pilot.app, DeskApp)
        await connected(pilot.app)
        await pilot.pause()

    assert snap_compare(make_app("sim://snapshot"), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_transition_snapshot(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    async def prompted(pilot: Pilot[None]) -> None:
        assert isinstance(pilot.app, DeskApp)
        await connected(pilot.app)
        await advance_to_prompt(pilot.app, pilot)

    assert snap_compare(make_app("sim://snapshot"), terminal_size=size, run_before=prompted)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_preset_picker_snapshot(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    async def storing(pilot: Pilot[None]) -> None:
        assert isinstance(pilot.app, DeskApp)
        await connected(pilot.app)
        await pilot.press("P")
        await picker(pilot)

    assert snap_compare(make_app("sim://snapshot"), terminal_size=size, run_before=storing)


# -- the real program in a real terminal ------------------------------------------------------


class Terminal:
    """``deskctl`` in a detached tmux session; its output streams through a FIFO, so
    waiting for the screen to change is waiting for bytes, not sleeping."""

    def __init__(self, folder: Path, command: str) -> None:
        self.session = f"deskctl-test-{os.getpid()}"
        self.fifo = folder / "screen"
        os.mkfifo(self.fifo)
        env = [arg for key in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME")
               for arg in ("-e", f"{key}={os.environ[key]}")]  # fmt: skip
        # The program waits for a line, so that the pipe is attached before its first paint.
        self.tmux("new-session", "-d", "-s", self.session, "-x", "80", "-y", "24", *env,
                  f"read _ && exec {command}")  # fmt: skip
        self.reader = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.tmux("pipe-pane", "-t", self.session, "-o", f"cat > {self.fifo}")
        self.keys("Enter")

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", *args], capture_output=True, text=True, check=True)
        return done.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def wait_for(self, text: str, within_s: float = 20.0) -> str:
        deadline = time.monotonic() + within_s
        while text not in (shown := self.screen()):
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never showed; the screen:\\n{shown}"
            ready, _, _ = select.select([self.reader], [], [], left)
            if ready:
                os.read(self.reader, 65536)  # new output: look again
        return shown

    def wait_for_exit(self, within_s: float = 20.0) -> None:
        """Until the program has ended: the pane's pipe closes."""
        deadline = time.monotonic() + within_s
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.reader], [], [], left)
            if ready and not os.read(self.reader, 65536):
                return
        raise AssertionError("deskctl did not quit")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], check=False)
        os.close(self.reader)


def test_the_real_program_in_a_terminal(tmp_path: Path) -> None:
    deskctl = Path(sys.executable).with_name("deskctl")
    terminal = Terminal(tmp_path, f"{deskctl} --desk 'sim://tmux?speed=40'")
    try:
        terminal.wait_for("72.0 cm  stopped")
        terminal.keys("t")
        shown = terminal.wait_for("110.0 cm  stopped")
        assert "Stand (t)" in shown
        terminal.keys("s")
        terminal.wait_for("72.0 cm  stopped")
        terminal.keys("4")  # the Stats section, then back to the desk
        terminal.wait_for("this week")
        terminal.keys("1")
        terminal.wait_for("Stop (space)")
        terminal.keys("q")
        terminal.wait_for_exit()
    finally:
        terminal.close()
    status = subprocess.run(
        [str(deskctl), "--desk", "sim://tmux", "status"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert "72.0 cm" in status.stdout


async def test_stats_and_settings() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        desk = await connected(app)
        await pilot.press("t")
        await until(desk, at_rest_near(1100.0))
        app.action_section("stats")
        # The charts draw once laid out in the section that came into view.
        async with asyncio.timeout(10):
            while "standing" not in str(app.query_one("#today").render()):
                await pilot.pause()
        assert "this week" in str(app.query_one("#week").render())
        app.action_section("settings")
        app.query_one("#unit", Select).value = "in"
        await pilot.pause()
        assert "43.3 in" in str(app.query_one("#status", Label).render())


async def test_sections_switch_by_number_by_click_and_by_arrows() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        switcher = app.query_one(ContentSwitcher)
        assert switcher.current == "desk-section"
        await pilot.press("4")
        assert switcher.current == "stats-section"
        assert "this week" in str(app.query_one("#week").render())
        # " 1 Desk  2 Schedule  3 People  4 Stats  5 Settings ": column 45 is Settings.
        assert await pilot.click("#sections", offset=(45, 0))
        assert switcher.current == "settings-section"
        app.query_one(SectionBar).focus()
        await pilot.press("right")  # past the last: round to the first
        assert switcher.current == "desk-section"
        await pilot.press("left", "left")
        assert switcher.current == "stats-section"
        await pilot.press("1")
        assert switcher.current == "desk-section"
        assert app.query_one("#stand").region.height > 0


async def test_the_schedule_section_shows_done_and_planned() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        app.action_section("schedule")
        await pilot.pause()
        shown = str(app.query_one("#timeline", Static).render())
        done, plan = shown.splitlines()[-2:]
        assert done.startswith("  done ")
        assert plan.startswith("  plan ")
        # 09:15 now: the plan starts there (the 8th mark) with sitting, then standing comes.
        marks = plan.removeprefix("  plan ")
        assert marks[:7].strip() == ""
        assert marks[8] == "-"
        assert "#" in marks
        phase = app.query_one("#phase", Label)
        assert "sitting, next change in 20 min, at 09:35" in str(phase.render())
        assert app.clock.offset is not None
        app.clock.offset += 19.5 * 60  # shown again when the section is
        await pilot.press("1", "2")
        assert "next change in 1 min, at 09:35" in str(phase.render())


async def schedule_form(app: DeskApp, pilot: Pilot[None], **typed: str) -> None:
    """Types into the Settings section's schedule form and presses Save."""
    app.action_section("settings")
    await pilot.pause()
    for field, value in typed.items():
        app._input(field.replace("_", "-")).value = value
    await press(pilot, "#save-schedule")


async def test_the_schedule_is_set_in_settings_for_the_session_or_the_person() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        assert app._input("sit-minutes").value == "20"
        await schedule_form(
            app, pilot, sit_minutes="25", stand_minutes="10", hours_input="08:00-12:00, 13:00-17"
        )
        said = notified(app)
        assert "working hours: '13:00-17' is no time range: write it like 09:00-12:30" in said
        assert app.runner is not None
        assert app.runner.engine.settings.rhythm.sit_s == 20 * 60  # nothing changed
        await schedule_form(app, pilot, stand_minutes="1", hours_input="08:00-12:00 13:00-17:00")
        said = notified(app)
        assert "stand minutes: at least 5 (the shortest bout)" in said
        await schedule_form(app, pilot, stand_minutes="10")
        assert "the schedule is set for this session" in notified(app)
        settings = app.runner.engine.settings
        assert (settings.rhythm.sit_s, settings.rhythm.stand_s) == (25 * 60, 10 * 60)
        assert settings.hours.days[0] == ((8 * 60, 12 * 60), (13 * 60, 17 * 60))
        assert 5 not in settings.hours.days  # Saturday stays off

    store = ProfileStore(Paths.from_env().profiles_dir)
    no_hours = SchedulePrefs(hours={})  # no working day at all
    store.save(Profile(name="ana", sit=680.0, stand=1050.0, schedule=no_hours))
    app = make_app(profile="ana")
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(app)
        assert app._input("hours-input").value == ""
        await schedule_form(app, pilot, sit_minutes="30", hours_input="09:00-17:00")
        schedule = store.load("ana").schedule
        assert schedule.sit_minutes == 30
        assert schedule.hours == {day: ["09:00-17:00"] for day in WEEKDAYS[:5]}
        assert app._input("sit-minutes").value == "30"


async def test_settings_find_a_desk_by_scanning_and_connect_to_it() -> None:
    emulator = LinakEmulator()
    with use_virtual_radio():
        app = make_app()
        app.options.scan_s = 0.5
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(app)
            await emulator.start("C2:00:00:00:00:42")
            app.action_section("settings")
            await pilot.pause()
            assert await pilot.click("#scan")
            # The scan may start after the click returns and end before a pause does:
            # wait for what it tells the person.
            async with asyncio.timeout(10):
                while "found 1 desk" not in notified(app):
                    await pilot.pause()
            found = app.query_one("#found", Select)
            found.value = "linak://C2:00:00:00:00:42"
            await pilot.pause()
            assert app._input("url-input").value == "linak://C2:00:00:00:00:42"
            app.ready.clear()
            await pilot.click("#connect")
            await connected(app)
            assert app.desk is not None
            assert app.desk.info.family == "linak"
        await emulator.power_cut()


@pytest.mark.parametrize(
    ("answer", "then"), [("skip", "closed"), ("snooze", "closed"), ("confirm", "moving")]
)
async def test_an_answer_from_another_face_closes_the_card_or_shows_the_move(
    answer: str, then: str
) -> None:
    from deskctl.policy.engine import Confirm, Event, Skip, Snooze

    app = make_app("sim://tui")  # real speed: the move is still under way when looked at
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        screen = await advance_to_prompt(app, pilot)
        answers: dict[str, Event] = {"skip": Skip(), "snooze": Snooze(), "confirm": Confirm()}
        elsewhere = answers[answer]
        assert app.runner is not None
        app.runner.tell(elsewhere)  # as a terminal or MQTT would, not through the card
        async with asyncio.timeout(10):
            while isinstance(app.screen, TransitionScreen) and not screen.moving:
                await pilot.pause()
        if then == "closed":
            assert not isinstance(app.screen, TransitionScreen)
        else:
            assert app.screen is screen
            assert "Moving the desk" in str(screen.query_one("#countdown", Label).render())
            assert all(button.disabled for button in screen.query(Button))


async def test_a_desk_state_arriving_while_the_screen_is_taken_down_is_let_go() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        # Closing removes the widgets one by one while the desk may still report.
        await app.query_one("#banner").remove()
        app.post_message(DeskUpdate(DeskState(height_mm=900.0, moving=True, speed_mm_s=20.0)))
        await pilot.pause()
    assert app.return_code in (0, None)
