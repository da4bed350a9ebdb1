"""``deskctl`` with no command: the desk, the schedule, the people and the day, in a terminal.

Desk I/O runs in workers on the app's loop, so nothing a desk does (or fails
to do) blocks the interface; errors become notifications.  The schedule's
engine runs here too, through the same runner as ``deskctl run``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, Digits, Label, Static

from deskctl.clock import EpochClock
from deskctl.errors import DeskctlError
from deskctl.model import DeskState, Direction, Link
from deskctl.paths import Paths
from deskctl.tui.presets import PresetScreen, presets_line
from deskctl.tui.widgets import Gauge, HoldButton, PressButton, SectionBar
from deskctl.units import Unit, format_height, format_speed, parse_height

if TYPE_CHECKING:
    # The schedule, the history and the profiles load after the first paint.
    from textual.command import Provider
    from textual.timer import Timer
    from textual.widgets import Input, Select, Switch

    from deskctl.agent.followed import FollowedSchedule
    from deskctl.chart_data import StatsView
    from deskctl.desk import Desk
    from deskctl.history import History
    from deskctl.notify import PromptNotifications
    from deskctl.policy.engine import Action, Event, Prompt, Settings, State
    from deskctl.policy.runner import Runner
    from deskctl.profiles.model import SchedulePrefs
    from deskctl.profiles.store import ProfileStore
    from deskctl.tui.schedule_form import ScheduleForm
    from deskctl.tui.transition import TransitionScreen

    DeskOpener = Callable[[str, Paths, Unit], AbstractAsyncContextManager[Desk]]

# Each section's name and title, in the bar's order; a section's number is its key.
SECTIONS = {
    "desk": "Desk",
    "schedule": "Schedule",
    "people": "People",
    "stats": "Stats",
    "settings": "Settings",
}
# How often the Schedule section redraws its countdown (only while it is shown).
COUNTDOWN_TICK_S = 15.0
# A held key repeats every ~30-50 ms, but only after a first delay of up to 660 ms (X11,
# KDE); without a repeat for longer than that it has been let go.
KEY_HOLD_S = 0.7


@dataclass
class Options:
    url: str
    paths: Paths
    unit: Unit
    sit_mm: float
    stand_mm: float
    profile: str | None = None
    auto_move: bool = False
    settings: Callable[[str | None], Settings] | None = None
    """The engine's settings for a profile name (None: the defaults)."""
    scan_s: float = 5.0
    """How long Settings listens for Bluetooth desks."""
    notify: bool = True
    """Prompts also as desktop notifications, with their buttons (where there are any)."""


class DeskUpdate(Message):
    def __init__(self, state: DeskState) -> None:
        super().__init__()
        self.state = state


class EngineAction(Message):
    def __init__(self, action: Action) -> None:
        super().__init__()
        self.action = action


def _desk_commands() -> type[Provider]:
    # Loaded when the palette first opens, not with the first paint.
    from deskctl.tui.commands import DeskCommands

    return DeskCommands


class DeskApp(App[None]):
    TITLE = "deskctl"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {
        *App.COMMANDS,
        _desk_commands,
    }
    CSS = """
    #header { height: 1; width: 1fr; background: $panel; color: $text-muted; padding: 0 1; }
    #banner { display: none; height: auto; padding: 0 1; text-style: bold; }
    #banner.-fault { display: block; background: $error; color: $text; }
    #banner.-link { display: block; background: $warning; color: $text; }
    #section { height: 1fr; }
    #section > VerticalScroll > Vertical { height: auto; }
    #desk-section { height: 1fr; }
    #left { width: 14; }
    #main { width: 1fr; padding: 0 1; }
    #height { width: auto; }
    #status, #profile-line, #presets { height: auto; color: $text-muted; }
    #moves { height: 3; }
    #moves PressButton { margin-right: 1; }
    #holds { height: 3; }
    .row { height: auto; margin-bottom: 1; }
    .row Label { width: 16; padding-top: 1; }
    .row Input { width: 18; }
    .row #url-input { width: 1fr; min-width: 30; }
    .row #hours-input { width: 32; }
    .row Select { width: 16; }
    #found { width: 1fr; max-width: 60; }
    #timeline { height: auto; }
    #week { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        # Space stops from anywhere (but types a space in a field); Esc closes what is open
        # (a dialog, the command palette, a dropdown) and stops when nothing is.
        Binding("space", "stop", "Stop", priority=True),
        Binding("escape", "escape", "Stop", show=False),
        Binding("up,k", "hold('up')", "Up"),
        Binding("down,j", "hold('down')", "Down"),
        Binding("s", "posture('sit')", "Sit"),
        Binding("t", "posture('stand')", "Stand"),
        Binding("p", "presets('go')", "Presets"),
        Binding("P", "presets('store')", "Store preset", show=False),
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        *(
            Binding(str(number), f"section('{name}')", title, show=False)
            for number, (name, title) in enumerate(SECTIONS.items(), start=1)
        ),
    ]

    def __init__(
        self,
        options: Options,
        *,
        open_desk: DeskOpener | None = None,
        history: History | None = None,
        clock: EpochClock | None = None,
    ) -> None:
        super().__init__()
        self.options = options
        self.unit = options.unit
        self.url = options.url
        self.open_desk = open_desk or _registry_opener
        self._history = history
        self.clock = clock or EpochClock()
        self._profiles: ProfileStore | None = None
        self.profile_name = options.profile
        self.desk: Desk | None = None
        self.runner: Runner | FollowedSchedule | None = None
        self.sit_mm, self.stand_mm = options.sit_mm, options.stand_mm
        self._hold_direction: Direction | None = None
        self._heading = ""
        self._target: tuple[float, float] | None = None
        """(from, to) of the move under way that this face sent."""
        """The way the last move was sent ("up", "down"), for the moment before it shows."""
        self._hold_until = 0.0
        self._hold_wake = asyncio.Event()
        self._transition: TransitionScreen | None = None
        self._paused = False
        self._session_schedule: SchedulePrefs | None = None
        """The schedule set in Settings while nobody's profile is at the desk."""
        self._countdown: Timer | None = None
        self.desktop: PromptNotifications | None = None
        """The prompts on the desktop, from the first prompt on."""
        self.ready = asyncio.Event()
        """Set while the desk is connected and the schedule runs."""
        self.built = asyncio.Event()
        """Set once every section has been built (after the first paint)."""

    @property
    def history(self) -> History:
        if self._history is None:
            from deskctl.history import History

            self._history = History(self.options.paths.data_dir / "history.sqlite3")
        return self._history

    @property
    def profiles(self) -> ProfileStore:
        if self._profiles is None:
            from deskctl.profiles.store import ProfileStore

            self._profiles = ProfileStore(self.options.paths.profiles_dir)
        return self._profiles

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Label(self._header_text(), id="header")
        yield SectionBar(SECTIONS, id="sections")
        yield Label("", id="banner")
        # The other sections are built after the first paint (see _build_sections).
        with ContentSwitcher(id="section", initial="desk-section"):
            yield from self._desk_pane()

    def _desk_pane(self) -> ComposeResult:
        with Horizontal(id="desk-section"):
            yield Gauge(id="gauge")
            with Vertical(id="main"):
                yield Digits("--.-", id="height")
                yield Label("connecting...", id="status")
                yield Label("", id="profile-line")
                with Horizontal(id="moves"):
                    yield PressButton("Sit (s)", id="sit")
                    yield PressButton("Stand (t)", id="stand")
                    yield PressButton("Stop (space)", id="stop", error=True)
                with Horizontal(id="holds"):
                    yield HoldButton("hold: up", Direction.UP, id="hold-up")
                    yield HoldButton("hold: down", Direction.DOWN, id="hold-down")
                yield Label("", id="presets")

    def _input(self, widget_id: str) -> Input:
        from textual.widgets import Input

        return self.query_one(f"#{widget_id}", Input)

    async def _mount_footer(self) -> None:
        from textual.widgets import Footer

        # The key bar is a dozen widgets of its own: it follows the first paint too.
        await self.mount(Footer())

    @work(group="build")
    async def _build_sections(self) -> None:
        # In a worker, so that keys pressed meanwhile are not held up by the app's queue.
        from textual.containers import VerticalScroll

        schedule = Vertical(
            Label("", id="phase"),
            Static("", id="timeline"),
            Horizontal(
                Button("Pause", id="pause"),
                Button("Resume", id="resume", disabled=True),
                classes="row",
            ),
        )
        from deskctl.tui.charts import StatsCharts

        stats = StatsCharts(self._stats_view)
        panes = {
            "schedule": schedule,
            "people": self._people_pane(),
            "stats": stats,
            "settings": self._settings_pane(),
        }
        switcher = self.query_one(ContentSwitcher)
        for name, pane in panes.items():
            await switcher.add_content(VerticalScroll(pane), id=f"{name}-section")
        self.built.set()
        self._show_section(self.query_one(SectionBar).active)
        self._refresh_people()
        self._fill_schedule()
        self._show_schedule()

    def _people_pane(self) -> Vertical:
        from textual.widgets import Input, Select

        rows = [
            Horizontal(
                Label(posture),
                Input(placeholder=example, id=f"{posture}-input"),
                Button("Capture", id=f"capture-{posture}"),
                classes="row",
            )
            for posture, example in (("sit", "72cm"), ("stand", "110cm"))
        ]
        return Vertical(
            Select[str]([], prompt="who is at the desk", id="who"),
            *rows,
            Horizontal(
                Label("body height"),
                Input(placeholder="175cm", id="body-input"),
                Button("Recommend", id="recommend"),
                classes="row",
            ),
            Button("Save heights", id="save-heights", variant="primary"),
            Static("", id="advice"),
            Horizontal(
                Label("new person"),
                Input(placeholder="name, like ana", id="new-name"),
                Button("Add", id="add-person"),
                classes="row",
            ),
        )

    def _settings_pane(self) -> Vertical:
        from textual.widgets import Input, Select, Switch

        from deskctl.tui.schedule_form import ScheduleForm

        return Vertical(
            Horizontal(
                Label("desk URL"),
                Input(self.url, id="url-input"),
                Button("Connect", id="connect"),
                Button("Scan", id="scan"),
                classes="row",
            ),
            Select[str]([], prompt="desks found by a Bluetooth scan", id="found"),
            Horizontal(
                Label("unit"),
                Select([(u.value, u.value) for u in Unit], value=self.unit.value, id="unit"),
                classes="row",
            ),
            Horizontal(
                Label("move by itself"),
                Switch(self.options.auto_move, id="auto"),
                classes="row",
            ),
            ScheduleForm(),
        )

    def on_mount(self) -> None:
        self.sub_title = self.url
        # Paint first; the desk, the other sections, the people and the schedule follow.
        self.call_after_refresh(self._connect)
        self.call_after_refresh(self._mount_footer)
        self.call_after_refresh(self._build_sections)

    # -- sections -----------------------------------------------------------------------------

    def action_section(self, section: str) -> None:
        self.query_one(SectionBar).active = section

    def on_section_bar_changed(self, event: SectionBar.Changed) -> None:
        if self.built.is_set():  # else the build shows it when done
            self._show_section(event.section)

    def _show_section(self, section: str) -> None:
        switcher = self.query_one(ContentSwitcher)
        switcher.current = f"{section}-section"
        # Keys go to what is shown: never to a field left focused in a hidden section.
        shown = switcher.get_child_by_id(f"{section}-section")
        focused = self.focused
        if focused is None or not (shown in focused.ancestors or isinstance(focused, SectionBar)):
            first = next((w for w in shown.query("*") if w.focusable), None)
            self.set_focus(None if section == "desk" else first)
        # The countdown ticks only while someone can see it.
        if self._countdown is not None:
            self._countdown.stop()
            self._countdown = None
        if section == "schedule":
            self._countdown = self.set_interval(COUNTDOWN_TICK_S, self._show_schedule)
            self._show_schedule()
        elif section == "people":
            self._refresh_people()

    # -- the desk -----------------------------------------------------------------------------

    @work(exclusive=True, group="connection")
    async def _connect(self) -> None:
        self._show_status(f"connecting to {self.url}...")
        try:
            async with self.open_desk(self.url, self.options.paths, self.unit) as desk:
                self.desk = desk
                self._desk_ready(desk)
                with desk.subscribe() as states:
                    self.post_message(DeskUpdate(desk.state))
                    async for state in states:
                        self.post_message(DeskUpdate(state))
        except DeskctlError as error:
            self.notify(str(error), title="the desk", severity="error", timeout=10)
            self._show_status(f"not connected: {error}")
        finally:
            self.ready.clear()
            self.desk = None
            self.runner = None

    def _desk_ready(self, desk: Desk) -> None:
        gauge = self.query_one(Gauge)
        gauge.low_mm, gauge.high_mm = desk.limits.min_mm, desk.limits.max_mm
        gauge.unit = self.unit
        self._apply_profile(desk)
        self._start_schedule(desk)
        self._show_presets(desk)
        self.ready.set()

    def _apply_profile(self, desk: Desk) -> None:
        profile = None
        if self.profile_name is not None:
            try:
                profile = self.profiles.load(self.profile_name)
            except DeskctlError as error:
                self.notify(str(error), title="profile", severity="error", timeout=10)
        if profile is not None:
            from deskctl.profiles.recommend import heights_for

            found = heights_for(profile, desk.limits, self.unit)
            for note in found.notes:
                self.notify(note, title="heights", severity="warning")
            self.sit_mm, self.stand_mm = found.sit_mm, found.stand_mm
            if profile.unit is not None:
                self.unit = profile.unit
        gauge = self.query_one(Gauge)
        gauge.sit_mm, gauge.stand_mm = self.sit_mm, self.stand_mm
        who = profile.title if profile is not None else "nobody (the config's heights)"
        self.query_one("#profile-line", Label).update(
            f"{who}: sit {self._h(self.sit_mm)}, stand {self._h(self.stand_mm)}"
        )

    @work(group="presets")
    async def _show_presets(self, desk: Desk) -> None:
        if not desk.capabilities.memory_presets:
            return
        try:
            presets = await desk.presets()
        except DeskctlError:
            return
        self.query_one("#presets", Label).update(presets_line(presets, self.unit))

    def action_presets(self, way: str) -> None:
        """``go`` to a memory preset or ``store`` the height in one, picked in a dialog."""
        desk = self.desk
        if isinstance(self.screen, PresetScreen):
            self.screen.dismiss(None)  # p and P switch between the two
        if desk is None:
            self.notify("the desk is not connected", severity="warning")
        elif not desk.capabilities.memory_presets:
            self.notify(f"{desk.info.family} desks have no memory presets", severity="warning")
        elif way == "store" and not desk.capabilities.can_save_presets:
            self.notify(f"{desk.info.family} desks store presets from their own keypad only")
        else:
            self._pick_preset(desk, store=way == "store")

    @work(group="preset-picker", exclusive=True)
    async def _pick_preset(self, desk: Desk, *, store: bool) -> None:
        try:
            presets = await desk.presets()
        except DeskctlError as error:
            self.notify(str(error), title="the desk", severity="error", timeout=8)
            return
        height = desk.state.height_mm if store else None
        can_store = desk.capabilities.can_save_presets
        picker = PresetScreen(presets, self.unit, store_mm=height, can_store=can_store)
        slot = await self.push_screen_wait(picker)
        if slot is None:
            return
        if height is None:
            self._head_for(presets.get(slot))
            self._command(lambda desk: desk.recall_preset(slot))
            return
        try:
            await desk.save_preset(slot)
        except DeskctlError as error:
            self.notify(str(error), title="the desk", severity="error", timeout=8)
            return
        self.notify(f"preset {slot} = {self._h(height)}")
        self._show_presets(desk)

    def on_desk_update(self, message: DeskUpdate) -> None:
        if not self.query("#height"):
            return  # the app is closing: a last state of a desk still moving has no screen
        state = message.state
        self._show_banner(state)
        self.query_one("#header", Label).update(self._header_text(state.link.value))
        self.query_one("#height", Digits).update(self._number(state.height_mm))
        self.query_one(Gauge).height_mm = state.height_mm
        if state.fault is not None:
            words = f"stopped: {state.fault.value}; clear the way, then Stop (space)"
        elif state.link is not Link.CONNECTED:
            words = state.link.value
        elif state.moving and state.speed_mm_s:
            way = "up" if state.speed_mm_s > 0 else "down"
            words = f"moving {way} {format_speed(abs(state.speed_mm_s), self.unit)}"
            words += self._progress(state.height_mm)
        elif state.moving:
            # The first frame of a move, before the desk reports a speed: the way it was sent.
            words = f"moving {self._heading}" if self._heading else "moving"
        else:
            words = "stopped"
        self._show_status(f"{self._h(state.height_mm)}  {words}  ({self.url})")

    def _header_text(self, link: str = "connecting") -> str:
        who = self.profile_name or "nobody's profile"
        return f"deskctl  desk {self.url}  person {who}  link {link}"

    def _show_banner(self, state: DeskState) -> None:
        """A fault or a lost link, in a bar that says what to do."""
        banner = self.query_one("#banner", Label)
        banner.set_classes("")
        if state.fault is not None:
            why = state.detail or f"the desk reports {state.fault.value}"
            banner.update(
                f"The desk stopped: {why}. Clear the way, then press Space to re-arm it; "
                "nothing moves until then."
            )
            banner.add_class("-fault")
        elif state.link in (Link.RECONNECTING, Link.LOST):
            banner.update(
                f"The link to the desk is {state.link.value}: move closer or check its power; "
                "the desk's own keys still work."
            )
            banner.add_class("-link")

    def _show_status(self, text: str) -> None:
        self.query_one("#status", Label).update(text)

    def _h(self, mm: float) -> str:
        return format_height(mm, self.unit)

    def _number(self, mm: float) -> str:
        return format_height(mm, self.unit).rsplit(" ", 1)[0]

    def _command(self, work: Callable[[Desk], object], *, exclusive: bool = True) -> None:
        """Run a desk command in a worker; errors become notifications."""
        desk = self.desk
        if desk is None:
            self.notify("the desk is not connected", severity="warning")
            return

        async def run() -> None:
            try:
                result = work(desk)
                if asyncio.iscoroutine(result):
                    await result
            except DeskctlError as error:
                self.notify(str(error), title="the desk", severity="error", timeout=8)

        self.run_worker(run(), group="move", exclusive=exclusive)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        from textual.widgets import Input

        # In a field, Space and the arrows are the field's: a space, the cursor.
        return not (isinstance(self.focused, Input) and action in ("stop", "hold"))

    def action_escape(self) -> None:
        self.action_stop()

    def action_stop(self) -> None:
        if isinstance(self.screen, PresetScreen):
            self.screen.dismiss(None)
        self._hold_direction = None
        self._hold_wake.set()
        self._command(lambda desk: desk.stop(), exclusive=True)

    def action_posture(self, posture: str) -> None:
        height = self.sit_mm if posture == "sit" else self.stand_mm
        self._head_for(height)
        self._command(lambda desk: desk.move_to(height))

    def _head_for(self, height_mm: float | None) -> None:
        """Where a move goes, for its status line: its way, its target, how far it is."""
        self._target = None
        if self.desk is not None and height_mm is not None:
            start = self.desk.state.height_mm
            self._heading = "up" if height_mm > start else "down"
            self._target = (start, height_mm)

    def _progress(self, height_mm: float) -> str:
        if self._target is None:
            return ""
        start, target = self._target
        if abs(target - start) < 1:
            return ""
        share = min(1.0, max(0.0, (height_mm - start) / (target - start)))
        return f" to {self._h(target)} ({share:.0%})"

    def move_to(self, height_mm: float) -> None:
        self._head_for(height_mm)
        self._command(lambda desk: desk.move_to(height_mm))

    def action_help(self) -> None:
        from deskctl.tui.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_hold(self, way: str) -> None:
        """A held key repeats: each repeat keeps the desk moving a little longer."""
        self._hold(Direction.UP if way == "up" else Direction.DOWN, time.monotonic() + KEY_HOLD_S)

    def _hold(self, direction: Direction, until: float) -> None:
        self._heading = "up" if direction is Direction.UP else "down"
        self._target = None
        self._hold_until = until
        self._hold_wake.set()
        if self._hold_direction is direction:
            return
        self._hold_direction = direction

        async def holding(desk: Desk) -> None:
            async with desk.hold(direction):
                while self._hold_direction is direction and time.monotonic() < self._hold_until:
                    self._hold_wake.clear()
                    left = self._hold_until - time.monotonic()
                    try:
                        async with asyncio.timeout(left):
                            await self._hold_wake.wait()
                    except TimeoutError:
                        pass
            if self._hold_direction is direction:
                self._hold_direction = None

        self._command(holding)

    @on(HoldButton.Held)
    def _mouse_hold(self, message: HoldButton.Held) -> None:
        if message.held:
            self._hold(message.direction, float("inf"))
        else:
            self._hold_direction = None
            self._hold_until = 0.0
            self._hold_wake.set()

    # -- the schedule -------------------------------------------------------------------------

    def _schedule_settings(self) -> Settings:
        """The engine's settings for whoever is at the desk, with what Settings changed."""
        make = self.options.settings
        from deskctl.policy.engine import Settings

        settings = make(self.profile_name) if make is not None else Settings()
        if self.profile_name is None and self._session_schedule is not None:
            from deskctl.policy.prefs import hours_of, rhythm_of

            prefs = self._session_schedule
            rhythm = rhythm_of(prefs, settings.rhythm.started)
            settings = dataclasses.replace(settings, rhythm=rhythm, hours=hours_of(prefs))
        from textual.widgets import Switch

        switches = self.query("#auto").results(Switch)
        if next((switch.value for switch in switches), self.options.auto_move):
            settings = dataclasses.replace(settings, auto_move=True)
        return settings

    def _reconfigure_schedule(self, desk: Desk) -> None:
        """Another person, rhythm or auto-move: the schedule goes on with it, its bout in
        progress too (a new schedule would end the old one's run as ``off``)."""
        from deskctl.policy.engine import Engine
        from deskctl.policy.runner import Heights, Runner

        runner = self.runner
        if isinstance(runner, Runner) and runner.desk is desk:
            runner.reconfigure(
                Engine(self._schedule_settings()), Heights(self.sit_mm, self.stand_mm)
            )
            self._show_schedule()
        else:
            # Following the agent's schedule: following it again with the new settings
            # reconfigures it there (the agent keeps its run and its history).
            self._start_schedule(desk)

    def _start_schedule(self, desk: Desk) -> None:
        from deskctl.agent.client import RemoteDesk
        from deskctl.policy.engine import Engine
        from deskctl.policy.runner import Heights, Runner

        settings = self._schedule_settings()
        heights = Heights(self.sit_mm, self.stand_mm)
        if isinstance(desk, RemoteDesk):
            # The agent runs the schedule and writes the history; this face follows it.
            from deskctl.agent.followed import FollowedSchedule

            session = self._session_schedule if self.profile_name is None else None
            self.runner = FollowedSchedule(
                desk,
                Engine(settings),
                heights=heights,
                show=self._show_action,
                profile=self.profile_name,
                schedule=None if session is None else session.model_dump(),
                stepped=self._schedule_stepped,
            )
        else:
            self.runner = Runner(
                desk,
                Engine(settings),
                self.history,
                heights=heights,
                show=self._show_action,
                clock=self.clock,
                stepped=self._schedule_stepped,
            )
        self.run_worker(self.runner.run(), group="schedule", exclusive=True)
        self._show_schedule()

    def _schedule_stepped(self, state: State) -> None:
        self.call_later(self._follow_schedule, state)

    def _follow_schedule(self, state: State) -> None:
        card = self._transition
        if card is not None and card.is_attached:
            card.follow(state.phase)
        if self.desktop is not None:
            self.desktop.stepped(state)
        self._show_schedule()
        if self.query_one(SectionBar).active == "stats":
            self._show_stats()  # a bout ended or began: the figures move while shown

    def _show_action(self, action: Action) -> None:
        self.post_message(EngineAction(action))

    def tell(self, event: Event) -> None:
        if self.runner is not None:
            self.runner.tell(event)
            self.call_later(self._show_schedule)

    def on_engine_action(self, message: EngineAction) -> None:
        from deskctl.policy.engine import Move, Notify, Prompt, ShowExercise
        from deskctl.tui.transition import TransitionScreen

        if isinstance(message.action, Move) and self.runner is not None:
            self._head_for(self.runner.heights.of(message.action.target))

        library = self.runner.engine.settings.library if self.runner else None
        if isinstance(message.action, Prompt) and library is not None:
            self._transition = TransitionScreen(
                message.action, library, self._answer, now=self.clock.now, bell=self.bell
            )
            self.push_screen(self._transition)
            self.bell()
            self._on_desktop(message.action)
        elif isinstance(message.action, ShowExercise):
            if self._transition is not None and self._transition.is_attached:
                self._transition.start_exercise(message.action.exercise_id)
        elif isinstance(message.action, Notify):
            self.notify(message.action.text, title="schedule", severity="warning", timeout=10)
        self._show_schedule()

    def _on_desktop(self, prompt: Prompt) -> None:
        """The prompt as a desktop notification too, whose buttons answer as the card's do."""
        if self.desktop is None:
            if not self.options.notify:
                return
            from deskctl.notify import PromptNotifications

            def clicked(answer: str) -> None:
                self.call_later(self._answer, answer)

            self.desktop = PromptNotifications(clicked, self._prompt_words)
        self.desktop.action(prompt)

    def _prompt_words(self, prompt: Prompt) -> tuple[str, str]:
        from deskctl.notify import prompt_words

        library = self.runner.engine.settings.library if self.runner else None
        exercise = library.get(prompt.exercise_id or "") if library else None
        height = self.stand_mm if prompt.target.value == "stand" else self.sit_mm
        return prompt_words(prompt, exercise.name if exercise else None, self._h(height))

    async def on_unmount(self) -> None:
        if self.desktop is not None:
            await self.desktop.aclose()  # no prompt left on the desktop

    def _answer(self, answer: str) -> bool:
        """Tells the schedule; False when it no longer asks for this answer."""
        from deskctl.policy.engine import Activity, Confirm, ExerciseDone, Phase, Skip, Snooze

        self.tell(Activity())
        exercise = self._transition.exercise if self._transition is not None else None
        exercising = self._transition is not None and self._transition.exercising
        if not exercising and (self.runner is None or self.runner.state.phase is not Phase.PROMPT):
            self.notify("that change is no longer asked for", title="schedule")
            return False
        if answer == "confirm" and (self._transition is None or not self._transition.exercising):
            self.tell(Confirm())
        elif answer == "snooze":
            self.tell(Snooze())
        elif answer == "skip" and (self._transition is None or not self._transition.exercising):
            self.tell(Skip())
        elif exercise is not None:
            self.tell(ExerciseDone(exercise.id, answer == "done"))
        return True

    def _show_schedule(self) -> None:
        runner = self.runner
        if runner is None or not self.query("#phase"):
            return  # no schedule yet, or its section is not built yet
        state = runner.state
        zone = runner.engine.settings.timezone
        wake = state.next_change
        when = "nothing planned"
        if wake is not None:
            when = f"next change {_countdown(self.clock.now(), wake, zone)}"
        paused = " (paused)" if self._paused else ""
        posture = "standing" if state.posture.value == "stand" else "sitting"
        self.query_one("#phase", Label).update(f"{state.phase.value}{paused}: {posture}, {when}")
        today = dt.datetime.fromtimestamp(self.clock.now(), zone).date()
        hours = "".join(f"{hour:02d}    " for hour in range(8, 19))
        from deskctl.history import timeline

        first = dt.datetime.combine(today, dt.time(8), zone).timestamp()
        now = self.clock.now()
        # What is done stops at now (the mark under way included), not at the day's end.
        done = "".join(
            mark if first + n * 600 <= now else " "
            for n, mark in enumerate(timeline(self.history, today, zone))
        )
        bouts = runner.engine.plan(state, now, first + 11 * 3600)
        planned = ""
        for n in range(len(done)):
            middle = first + (n + 0.5) * 600
            ahead = next((p for p, a, b in bouts if a <= middle < b), None)
            planned += " " if ahead is None else "#" if ahead.value == "stand" else "-"
        self.query_one("#timeline", Static).update(
            "today (# standing, - sitting, . away; 10 min a mark)\n"
            f"       {hours}\n  done {done}\n  plan {planned}"
        )

    @on(Button.Pressed, "#pause")
    def pause_schedule(self) -> None:
        from deskctl.policy.engine import Away

        self._paused = True
        self.tell(Away())
        for button in self.query("#pause").results(Button):
            button.disabled = True
        for button in self.query("#resume").results(Button):
            button.disabled = False
        self._show_schedule()

    @on(Button.Pressed, "#resume")
    def resume_schedule(self) -> None:
        from deskctl.policy.engine import Activity

        self._paused = False
        self.tell(Activity())
        for button in self.query("#pause").results(Button):
            button.disabled = False
        for button in self.query("#resume").results(Button):
            button.disabled = True
        self._show_schedule()

    # -- buttons ------------------------------------------------------------------------------

    @on(PressButton.Pressed, "#sit")
    def _sit(self) -> None:
        self.action_posture("sit")

    @on(PressButton.Pressed, "#stand")
    def _stand(self) -> None:
        self.action_posture("stand")

    @on(PressButton.Pressed, "#stop")
    def _stop(self) -> None:
        self.action_stop()

    # -- people -------------------------------------------------------------------------------

    def _refresh_people(self) -> None:
        if not self.query("#who"):
            return  # the section has not been built yet
        names = self.profiles.names()
        from textual.widgets import Select

        who: Select[str] = self.query_one("#who", Select)
        who.set_options([(name, name) for name in names])
        if self.profile_name in names:
            who.value = self.profile_name
        self._fill_heights()

    def _fill_heights(self) -> None:
        if self.query("#sit-input"):
            self._input("sit-input").value = self._h(self.sit_mm)
            self._input("stand-input").value = self._h(self.stand_mm)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "who":
            self._switch_person(event)
        elif event.select.id == "unit":
            self._unit(event)
        elif event.select.id == "found" and isinstance(event.value, str):
            self._input("url-input").value = event.value

    def _switch_person(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.switch_person(event.value)

    def switch_person(self, name: str) -> None:
        if name == self.profile_name:
            return
        self.profile_name = name
        from deskctl.drivers.registry import desk_key

        key = desk_key(self.url)
        try:
            self.profiles.use(key, name)
        except DeskctlError as error:
            self.notify(str(error), severity="error")
            return
        if self.desk is not None:
            self._apply_profile(self.desk)
            self._fill_heights()
            self._reconfigure_schedule(self.desk)
        self._fill_schedule()
        self._refresh_people()
        if self.desk is not None:
            self.query_one("#header", Label).update(self._header_text(self.desk.state.link.value))
        self.notify(f"{name} is at the desk now", title="people")

    @on(Button.Pressed, "#capture-sit")
    def _capture_sit(self) -> None:
        if self.desk is not None:
            self._input("sit-input").value = self._h(self.desk.state.height_mm)

    @on(Button.Pressed, "#capture-stand")
    def _capture_stand(self) -> None:
        if self.desk is not None:
            self._input("stand-input").value = self._h(self.desk.state.height_mm)

    @on(Button.Pressed, "#recommend")
    def _recommend(self) -> None:
        try:
            body = parse_height(self._input("body-input").value)
        except DeskctlError as error:
            self.notify(str(error), severity="error")
            return
        limits = self.desk.limits if self.desk is not None else None
        from deskctl.profiles.recommend import recommend

        advice = recommend(body, limits=limits, unit=self.unit)
        self.query_one("#advice", Static).update("\n".join(advice.explain(self.unit)))
        self._input("sit-input").value = self._h(advice.sit_mm)
        self._input("stand-input").value = self._h(advice.stand_mm)

    @on(Button.Pressed, "#save-heights")
    def _save_heights(self) -> None:
        try:
            sit = parse_height(self._input("sit-input").value)
            stand = parse_height(self._input("stand-input").value)
            self._check_heights(sit, stand)
            if self.profile_name is not None:
                profile = self.profiles.load(self.profile_name)
                changed = type(profile).model_validate(
                    profile.model_dump() | {"sit": sit, "stand": stand}
                )
                self.profiles.save(changed)
        except (DeskctlError, ValueError) as error:
            self.notify(str(error).splitlines()[0], severity="error")
            return
        self.sit_mm, self.stand_mm = sit, stand
        if self.desk is not None:
            self._apply_profile(self.desk)
            self._reconfigure_schedule(self.desk)
        self.notify("heights saved" if self.profile_name else "heights set for this session")

    def _check_heights(self, sit: float, stand: float) -> None:
        """The checks the command line makes: within the desk's range, stand above sit."""
        from deskctl.errors import BadInput

        if self.desk is not None:
            self.desk.limits.check(sit, self.unit)
            self.desk.limits.check(stand, self.unit)
        if stand <= sit:
            raise BadInput(f"stand {self._h(stand)} must be higher than sit {self._h(sit)}")

    @on(Button.Pressed, "#add-person")
    def _add_person(self) -> None:
        """A profile with the heights above (or the session's), then that person at the desk."""
        from pydantic import ValidationError
        from textual.widgets import Select

        from deskctl.profiles.model import Profile
        from deskctl.profiles.store import one_line

        name = self._input("new-name").value.strip()
        fields: dict[str, object] = {"name": name, "sit": self.sit_mm, "stand": self.stand_mm}
        for field, widget_id in (("sit", "sit-input"), ("stand", "stand-input")):
            fields[field] = self._input(widget_id).value.strip() or fields[field]
        if body := self._input("body-input").value.strip():
            fields["body_height"] = body
        if self._session_schedule is not None:
            fields["schedule"] = self._session_schedule.model_dump()
        try:
            self.profiles.save(Profile.model_validate(fields), new=True)
        except ValidationError as error:
            self.notify(one_line(error), severity="error")
            return
        except DeskctlError as error:
            self.notify(str(error).splitlines()[0], severity="error")
            return
        self._input("new-name").value = ""
        self._refresh_people()
        self.query_one("#who", Select).value = name  # and so to _switch_person

    # -- the schedule's settings --------------------------------------------------------------

    def _schedule_prefs(self) -> SchedulePrefs:
        """The active person's schedule, else the one set for this session, else the default."""
        from deskctl.profiles.model import SchedulePrefs

        if self.profile_name is not None:
            try:
                return self.profiles.load(self.profile_name).schedule
            except DeskctlError as error:
                self.notify(str(error), title="profile", severity="error", timeout=10)
        return self._session_schedule or SchedulePrefs()

    def _fill_schedule(self, prefs: SchedulePrefs | None = None) -> None:
        """Shows ``prefs`` (default: whatever applies now) in Settings, once it is built."""
        from deskctl.tui.schedule_form import ScheduleForm

        for form in self.query(ScheduleForm).results(ScheduleForm):
            form.fill(prefs if prefs is not None else self._schedule_prefs())

    def on_schedule_form_saved(self, message: ScheduleForm.Saved) -> None:
        if self.profile_name is None:
            self._session_schedule = message.prefs
        else:
            try:
                profile = self.profiles.load(self.profile_name)
                self.profiles.save(profile.model_copy(update={"schedule": message.prefs}))
            except DeskctlError as error:
                self.notify(str(error), title="profile", severity="error", timeout=10)
                return
        self._fill_schedule(message.prefs)  # just saved: no need to read it back
        if self.desk is not None:
            self._reconfigure_schedule(self.desk)
        saved = f"saved for {self.profile_name}" if self.profile_name else "set for this session"
        self.notify(f"the schedule is {saved}", title="settings")

    # Enter in a field presses its form's button.
    SUBMITS: ClassVar[dict[str, str]] = {
        "sit-input": "save-heights",
        "stand-input": "save-heights",
        "body-input": "recommend",
        "new-name": "add-person",
        "url-input": "connect",
        "sit-minutes": "save-schedule",
        "stand-minutes": "save-schedule",
        "hours-input": "save-schedule",
    }

    def on_input_submitted(self, event: Input.Submitted) -> None:
        button = self.SUBMITS.get(event.input.id or "")
        if button is not None:
            event.stop()
            self.query_one(f"#{button}", Button).press()

    # -- stats and settings -------------------------------------------------------------------

    def _show_stats(self) -> None:
        from deskctl.tui.charts import StatsCharts

        for charts in self.query(StatsCharts).results(StatsCharts):
            charts.refresh_charts()

    def _stats_view(self) -> StatsView:
        from deskctl.chart_data import stats_view
        from deskctl.policy.engine import Settings

        settings = self.runner.engine.settings if self.runner is not None else Settings()
        return stats_view(self.history, settings, self.clock.now())

    @on(Button.Pressed, "#connect")
    def _reconnect(self) -> None:
        url = self._input("url-input").value.strip()
        try:
            from deskctl.drivers.registry import parse_desk_url

            parse_desk_url(url)
        except DeskctlError as error:
            self.notify(str(error), severity="error")
            return
        self.url = url
        self.sub_title = url
        self._connect()

    @on(Button.Pressed, "#scan")
    @work(exclusive=True, group="scan")
    async def _scan(self) -> None:
        from textual.widgets import Select

        from deskctl.drivers.scan import scan

        seconds = self.options.scan_s
        self.notify(f"scanning for Bluetooth desks for {seconds:g} s...", title="settings")
        try:
            desks = await scan(seconds)
        except DeskctlError as error:
            self.notify(str(error), title="scan", severity="error", timeout=10)
            return
        found: Select[str] = self.query_one("#found", Select)
        found.set_options([(f"{d.name or d.address}  {d.rssi} dBm", d.url) for d in desks])
        self.notify(f"found {len(desks)} desk{'s' if len(desks) != 1 else ''}", title="scan")

    def _unit(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.unit.value:
            self.unit = Unit(event.value)
            self._save_unit(self.unit)
            if self.desk is not None:
                self.post_message(DeskUpdate(self.desk.state))
                self._apply_profile(self.desk)
                self._fill_heights()

    def _save_unit(self, unit: Unit) -> None:
        """The unit is the person's: it goes into their profile."""
        if self.profile_name is None:
            return
        try:
            profile = self.profiles.load(self.profile_name)
            if profile.unit is not unit:
                self.profiles.save(profile.model_copy(update={"unit": unit}))
        except DeskctlError as error:
            self.notify(str(error), title="profile", severity="error", timeout=10)

    def on_switch_changed(self, event: Switch.Changed) -> None:
        if self.desk is not None:
            self._reconfigure_schedule(self.desk)
        way = "moves by itself when you are here" if event.value else "asks before moving"
        self.notify(f"the schedule {way}", title="settings")


def _countdown(now: float, then: float, zone: dt.tzinfo) -> str:
    """``in 15 min, at 09:35``: whole minutes on the clock's face, so that the two agree."""
    at = dt.datetime.fromtimestamp(then, zone)
    minutes = math.floor(then / 60) - math.floor(now / 60)
    if minutes < 1:
        return f"within a minute, at {at:%H:%M}"
    if minutes < 60:
        return f"in {minutes} min, at {at:%H:%M}"
    return f"in {minutes // 60} h {minutes % 60:02d} min, at {at:%H:%M}"


def _registry_opener(url: str, paths: Paths, unit: Unit) -> AbstractAsyncContextManager[Desk]:
    from deskctl.drivers.registry import open_desk

    return open_desk(url, paths, unit)
