"""``deskctl`` with no command: the desk, the schedule, the people and the day, in a terminal.

The app owns the desk and the schedule; each section is a widget of its own (``sections/``)
that shows what the app gives it and asks for things with messages.  Desk I/O runs in
workers on the app's loop, so nothing a desk does (or fails to do) blocks the interface;
errors become notifications.  The schedule's engine runs here too, through the same runner
as ``deskctl run``, or in the agent, which this face then follows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import ContentSwitcher, Label

from deskctl.clock import EpochClock
from deskctl.errors import DeskctlError
from deskctl.model import DeskState, Direction, Link
from deskctl.paths import Paths
from deskctl.purpose import Purpose
from deskctl.tui.fine_tunes import FineTunes
from deskctl.tui.presets import PresetScreen, presets_line
from deskctl.tui.sections.desk import DeskSection
from deskctl.tui.theme import remember_theme, remembered_theme
from deskctl.tui.widgets import SectionBar
from deskctl.units import Unit, format_height, parse_height

if TYPE_CHECKING:
    # The schedule, the history, the profiles and the other sections load after the first
    # paint.
    from textual.command import Provider
    from textual.theme import Theme
    from textual.widgets import Input

    from deskctl.agent.followed import FollowedSchedule
    from deskctl.chart_data import StatsView
    from deskctl.desk import Desk
    from deskctl.history import History
    from deskctl.notify import PromptNotifications
    from deskctl.policy.engine import Action, Event, Prompt, Settings, State
    from deskctl.policy.learning import Suggestion
    from deskctl.policy.runner import Runner
    from deskctl.profiles.model import SchedulePrefs
    from deskctl.profiles.store import ProfileStore
    from deskctl.tui.schedule_form import ScheduleForm
    from deskctl.tui.sections.people import PeopleSection
    from deskctl.tui.sections.schedule import ScheduleSection
    from deskctl.tui.sections.settings import SettingsSection
    from deskctl.tui.sections.stats import StatsSection
    from deskctl.tui.sections.suggested import SuggestedHeights
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
    presence: str = "none"
    """Which of the desktop's presence sources a schedule run here asks (``[presence]
    source``); through the agent, the agent's own choice counts."""


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
    #banner { display: none; width: 1fr; height: auto; padding: 0 1; text-style: bold; }
    #banner.-fault { display: block; background: $error; color: $text; }
    #banner.-link { display: block; background: $warning; color: $text; }
    #section { height: 1fr; }
    #section > VerticalScroll > Vertical { height: auto; }
    .row { height: auto; margin-bottom: 1; }
    .row Label { width: 16; padding-top: 1; }
    .row Input { width: 18; }
    .row #new-name { width: 24; }
    .row #url-input { width: 1fr; min-width: 30; }
    .row #hours-input { width: 32; }
    .row Select { width: 16; }
    #found { width: 1fr; max-width: 60; }
    #timeline { height: auto; }
    #week { height: auto; }
    /* The focus in every theme: the theme's accent on whatever has it. */
    Input:focus, Switch:focus, Select:focus > SelectCurrent { border: tall $accent; }
    Input.-invalid:focus { border: tall $error; }
    Button:focus, PressButton:focus { border-top: tall $accent; border-bottom: tall $accent; }
    #section > VerticalScroll:focus { background-tint: $accent 10%; scrollbar-color: $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        # Space stops from anywhere (but types a space in a field). Esc stops a moving desk
        # first, whatever has the focus; else it closes what is open (a dialog, the command
        # palette, a dropdown), leaves a field, and stops when there is nothing to leave.
        Binding("space", "stop", "Stop", priority=True),
        Binding("escape", "stop_moving", "Stop", show=False, priority=True),
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
        self.auto_move = options.auto_move
        self.desk: Desk | None = None
        self.runner: Runner | FollowedSchedule | None = None
        self.sit_mm, self.stand_mm = options.sit_mm, options.stand_mm
        self._hold_direction: Direction | None = None
        self._hold_until = 0.0
        self._hold_wake = asyncio.Event()
        self._transition: TransitionScreen | None = None
        self._paused = False
        self._session_schedule: SchedulePrefs | None = None
        """The schedule set in Settings while nobody's profile is at the desk."""
        self.desktop: PromptNotifications | None = None
        """The prompts on the desktop, from the first prompt on."""
        self.ready = asyncio.Event()
        """Set while the desk is connected and the schedule runs."""
        self.built = asyncio.Event()
        """Set once every section has been built (after the first paint)."""
        # The sections built after the first paint (None until then: nothing to show yet).
        self._schedule: ScheduleSection | None = None
        self._people: PeopleSection | None = None
        self._stats: StatsSection | None = None
        self._settings: SettingsSection | None = None
        self.fine_tunes = FineTunes(options.paths, lambda: self.history, self.clock.now)
        self.suggested: dict[str, Suggestion] = {}
        """The heights suggested from the person's fine-tunes, by posture."""
        self._was_moving = False
        self._theme_kept = remembered_theme(options.paths)
        if self._theme_kept in self.available_themes:
            self.theme = self._theme_kept

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
            yield DeskSection()

    async def _mount_footer(self) -> None:
        from textual.widgets import Footer

        # The key bar is a dozen widgets of its own: it follows the first paint too.
        await self.mount(Footer())

    @work(group="build")
    async def _build_sections(self) -> None:
        # In a worker, so that keys pressed meanwhile are not held up by the app's queue.
        from deskctl.tui.sections.people import PeopleSection
        from deskctl.tui.sections.schedule import ScheduleSection
        from deskctl.tui.sections.settings import SettingsSection
        from deskctl.tui.sections.stats import StatsSection

        schedule = ScheduleSection(now=self.clock.now, history=lambda: self.history)
        people, stats = PeopleSection(), StatsSection(self._stats_view)
        settings = SettingsSection(self.url, self.unit, auto_move=self.auto_move)
        switcher = self.query_one(ContentSwitcher)
        for section in (schedule, people, stats, settings):
            await switcher.add_content(section)
        # Known to the app only once mounted: what it shows them then has somewhere to go.
        self._schedule, self._people, self._stats = schedule, people, stats
        self._settings = settings
        self.built.set()
        self._show_section(self.query_one(SectionBar).active)
        self._refresh_people()
        self._fill_schedule()
        self._show_schedule()
        self._show_suggested()

    def on_mount(self) -> None:
        self.sub_title = self.url
        self.theme_changed_signal.subscribe(self, self._keep_theme)
        # Paint first; the desk, the other sections, the people and the schedule follow.
        self.call_after_refresh(self._connect)
        self.call_after_refresh(self._mount_footer)
        self.call_after_refresh(self._build_sections)

    def _keep_theme(self, theme: Theme) -> None:
        """A theme chosen in the palette is the one the next start opens with."""
        if theme.name == self._theme_kept:
            return
        try:
            remember_theme(self.options.paths, theme.name)
        except DeskctlError as error:
            self.notify(str(error), title="theme", severity="warning")
            return
        self._theme_kept = theme.name

    @property
    def desk_section(self) -> DeskSection:
        return self.query_one(DeskSection)

    def _input(self, widget_id: str) -> Input:
        from textual.widgets import Input

        return self.query_one(f"#{widget_id}", Input)

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
        # The stats charts fetch their figures themselves when they come into view.
        if section == "people":
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
                        # A fine-tune is recorded before the section looks for suggestions.
                        self.fine_tunes.rested(state)
                        self.post_message(DeskUpdate(state))
        except DeskctlError as error:
            self.notify(str(error), title="the desk", severity="error", timeout=10)
            self._show_status(f"not connected: {error}")
        finally:
            self.ready.clear()
            self.desk = None
            self.runner = None

    def _desk_ready(self, desk: Desk) -> None:
        self.desk_section.show_limits(desk.limits, self.unit)
        self.fine_tunes.attach(desk, self.url)
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
        who = profile.title if profile is not None else "nobody (the config's heights)"
        self.desk_section.show_person(who, self.sit_mm, self.stand_mm, self.unit)
        self._show_suggested()  # for this person, at these heights

    @work(group="presets")
    async def _show_presets(self, desk: Desk) -> None:
        if not desk.capabilities.memory_presets:
            return
        try:
            presets = await desk.presets()
        except DeskctlError:
            return
        self.desk_section.show_presets(presets_line(presets, self.unit))

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
            purpose = self._preset_purpose(slot)
            self._command(
                lambda desk: self.fine_tunes.follow(purpose, lambda: desk.recall_preset(slot))
            )
            return
        try:
            await desk.save_preset(slot)
        except DeskctlError as error:
            self.notify(str(error), title="the desk", severity="error", timeout=8)
            return
        self.notify(f"preset {slot} = {self._h(height)}")
        self._show_presets(desk)

    def _preset_purpose(self, slot: int) -> Purpose | None:
        """A preset that holds the person's sitting or standing height (their profile's
        ``[presets]``) goes to that height; any other is just a move."""
        if self.profile_name is None:
            return None
        try:
            presets = self.profiles.load(self.profile_name).presets
        except DeskctlError:
            return None
        if slot not in (presets.sit, presets.stand):
            return None
        posture = "sit" if slot == presets.sit else "stand"
        height = self.sit_mm if posture == "sit" else self.stand_mm
        return Purpose("preset", posture, height, self.profile_name)

    def on_desk_update(self, message: DeskUpdate) -> None:
        state = message.state
        try:
            self._show_banner(state)
            self.query_one("#header", Label).update(self._header_text(state.link.value))
            self.desk_section.show_state(state, self.unit)
        except NoMatches:
            return  # the app is closing: a last state of a desk still moving has no screen
        came_to_rest = self._was_moving and not state.moving
        self._was_moving = state.moving
        if came_to_rest:
            self._show_suggested()  # a fine-tune may have made a suggestion

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
        self.desk_section.show_status(text)

    def _h(self, mm: float) -> str:
        return format_height(mm, self.unit)

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

        if action == "stop_moving":
            return self.moving  # else Esc goes on to what is open, or to action_escape
        # In a field, Space and the arrows are the field's: a space, the cursor.
        return not (isinstance(self.focused, Input) and action in ("stop", "hold"))

    @property
    def moving(self) -> bool:
        """The desk moves, or this face has sent it a move or a hold that is under way."""
        if self.desk is None:
            return False
        sent = any(worker.group == "move" and worker.is_running for worker in self.workers)
        return self.desk.state.moving or self._hold_direction is not None or sent

    def action_stop_moving(self) -> None:
        self.action_stop()

    def action_escape(self) -> None:
        """Out of a field into its section (whose keys then work again); else stop."""
        from textual.widgets import Input

        focused = self.focused
        section = self.query_one(ContentSwitcher).visible_content
        if isinstance(focused, Input) and section is not None and section.can_focus:
            section.focus()
        elif isinstance(focused, Input):
            self.set_focus(None)
        else:
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
        # Said what it is for: a fine-tune after it is noticed, as after ``deskctl stand``.
        purpose = Purpose(posture, posture, height, self.profile_name)
        self._command(lambda desk: self.fine_tunes.follow(purpose, lambda: desk.move_to(height)))

    def _head_for(self, height_mm: float | None) -> None:
        """Where a move goes, for its status line: its way, its target, how far it is."""
        if self.desk is not None and height_mm is not None:
            start = self.desk.state.height_mm
            self.desk_section.expect("up" if height_mm > start else "down", (start, height_mm))

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
        self.desk_section.expect("up" if direction is Direction.UP else "down")
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

    # -- the Desk section's buttons ------------------------------------------------------------

    def on_desk_section_move(self, message: DeskSection.Move) -> None:
        self.action_posture(message.posture)

    def on_desk_section_stop(self, message: DeskSection.Stop) -> None:
        self.action_stop()

    def on_desk_section_hold(self, message: DeskSection.Hold) -> None:
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
        if self.auto_move:
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
            runner.profile = self.profile_name  # whose heights its moves go to
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
                tuner=self.fine_tunes.tuner,
                profile=self.profile_name,
                presence=self.options.presence,
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
        self._show_suggested()

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
        section = self._schedule
        if section is not None:
            section.show(self.runner, paused=self._paused)

    def on_schedule_section_pause(self, message: ScheduleSection.Pause) -> None:
        if message.paused:
            self.pause_schedule()
        else:
            self.resume_schedule()

    def pause_schedule(self) -> None:
        from deskctl.policy.engine import Away

        self._paused = True
        self.tell(Away())
        self._show_schedule()

    def resume_schedule(self) -> None:
        from deskctl.policy.engine import Activity

        self._paused = False
        self.tell(Activity())
        self._show_schedule()

    # -- people -------------------------------------------------------------------------------

    def _refresh_people(self) -> None:
        section = self._people
        if section is not None:
            section.show_people(self.profiles.names(), self.profile_name)
            self._fill_heights()

    def _fill_heights(self) -> None:
        section = self._people
        if section is not None:
            section.fill_heights(self._h(self.sit_mm), self._h(self.stand_mm))
        self._show_suggested()  # other heights in use, or another person's

    # -- heights suggested from the fine-tunes -------------------------------------------------

    def _show_suggested(self) -> None:
        """Looks for suggestions (after a rest, a step of the schedule, another person or
        height) and shows them: a line on the Desk section, the evidence in People."""
        desk = self.desk
        if desk is None:
            return
        limits = (desk.limits.min_mm, desk.limits.max_mm)
        current = {"sit": self.sit_mm, "stand": self.stand_mm}
        try:
            found = self.fine_tunes.found(self.profile_name, current, limits)
        except DeskctlError as error:
            self.notify(str(error), title="suggestions", severity="warning", timeout=8)
            found = []
        self.suggested = {s.posture: s for s in found}
        from deskctl.cli_suggest import evidence
        from deskctl.clock import local_timezone
        from deskctl.policy.suggestions import describe

        zone = self.runner.engine.settings.timezone if self.runner else local_timezone()
        if self._people is not None:
            self._people.show_suggested(
                {
                    s.posture: (
                        describe(s, self._h, zone),
                        [evidence(a, self._h, zone) for a in s.evidence],
                    )
                    for s in found
                }
            )
        said = ", ".join(
            f"{s.posture} {self._h(s.suggested_mm)} (now {self._h(s.current_mm)})" for s in found
        )
        self.desk_section.show_suggested(f"suggested: {said}; 3 People to answer" if found else "")

    def on_suggested_heights_answered(self, message: SuggestedHeights.Answered) -> None:
        self.answer_suggestion(message.posture, apply=message.apply)

    def answer_suggestion(self, posture: str, *, apply: bool) -> None:
        """Apply (into the profile, as ``deskctl profile suggest --apply``) or dismiss the
        suggested height for ``posture``; either way it does not come back."""
        suggestion = self.suggested.get(posture)
        if suggestion is None:
            self.notify(f"no {posture} height is suggested now", title="suggestions")
            return
        try:
            if apply:
                self.fine_tunes.apply(self.profiles, self.profile_name, suggestion)
            else:
                self.fine_tunes.dismiss(suggestion)
        except DeskctlError as error:
            self.notify(str(error).splitlines()[0], title="suggestions", severity="error")
            return
        was, new = self._h(suggestion.current_mm), self._h(suggestion.suggested_mm)
        if apply:
            if self.desk is not None:
                self._apply_profile(self.desk)  # the session's heights and the gauge
                self._reconfigure_schedule(self.desk)
            self.notify(f"{self.profile_name}: {posture} = {new} (was {was})", title="people")
        else:
            self.notify(f"{posture} stays at {was}", title="people")
        section = self._people
        if section is not None and self.focused is not None and section in self.focused.ancestors:
            section.focus()  # the buttons pressed are gone with the suggestion
        self._fill_heights()

    def on_people_section_chosen(self, message: PeopleSection.Chosen) -> None:
        self.switch_person(message.name)

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

    def on_people_section_capture(self, message: PeopleSection.Capture) -> None:
        section = self._people
        if self.desk is not None and section is not None:
            section.set_height(message.posture, self._h(self.desk.state.height_mm))

    def on_people_section_recommend(self, message: PeopleSection.Recommend) -> None:
        try:
            body = parse_height(message.body)
        except DeskctlError as error:
            self.notify(str(error), severity="error")
            return
        limits = self.desk.limits if self.desk is not None else None
        from deskctl.profiles.recommend import recommend

        advice = recommend(body, limits=limits, unit=self.unit)
        section = self._people
        if section is not None:
            explained = "\n".join(advice.explain(self.unit))
            section.show_advice(explained, self._h(advice.sit_mm), self._h(advice.stand_mm))

    def on_people_section_save_heights(self, message: PeopleSection.SaveHeights) -> None:
        try:
            sit = parse_height(message.sit)
            stand = parse_height(message.stand)
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

    def on_people_section_add(self, message: PeopleSection.Add) -> None:
        """A profile with the heights typed (or the session's), then that person at the desk."""
        from pydantic import ValidationError

        from deskctl.profiles.model import Profile
        from deskctl.profiles.store import one_line

        name = message.name
        fields: dict[str, object] = {
            "name": name,
            "sit": message.sit or self.sit_mm,
            "stand": message.stand or self.stand_mm,
        }
        if message.body:
            fields["body_height"] = message.body
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
        section = self._people
        if section is not None:
            section.clear_new_name()
        self.switch_person(name)

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
        section = self._settings
        if section is not None:
            section.fill_schedule(prefs if prefs is not None else self._schedule_prefs())

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

    # -- stats and settings -------------------------------------------------------------------

    def _show_stats(self) -> None:
        if self._stats is not None:
            self._stats.show()

    def _stats_view(self) -> StatsView:
        from deskctl.chart_data import stats_view
        from deskctl.policy.engine import Settings

        settings = self.runner.engine.settings if self.runner is not None else Settings()
        return stats_view(self.history, settings, self.clock.now())

    def on_settings_section_connect(self, message: SettingsSection.Connect) -> None:
        try:
            from deskctl.drivers.registry import parse_desk_url

            parse_desk_url(message.url)
        except DeskctlError as error:
            self.notify(str(error), severity="error")
            return
        self.url = message.url
        self.sub_title = message.url
        self._connect()

    def on_settings_section_scan(self, message: SettingsSection.Scan) -> None:
        self._scan()

    @work(exclusive=True, group="scan")
    async def _scan(self) -> None:
        from deskctl.drivers.scan import scan

        seconds = self.options.scan_s
        self.notify(f"scanning for Bluetooth desks for {seconds:g} s...", title="settings")
        try:
            desks = await scan(seconds)
        except DeskctlError as error:
            self.notify(str(error), title="scan", severity="error", timeout=10)
            return
        section = self._settings
        if section is not None:
            section.show_found([(f"{d.name or d.address}  {d.rssi} dBm", d.url) for d in desks])
        self.notify(f"found {len(desks)} desk{'s' if len(desks) != 1 else ''}", title="scan")

    def on_settings_section_unit_chosen(self, message: SettingsSection.UnitChosen) -> None:
        if message.unit is not self.unit:
            self.unit = message.unit
            self._save_unit(self.unit)
            if self.desk is not None:
                self.post_message(DeskUpdate(self.desk.state))
                self._apply_profile(self.desk)
                self._fill_heights()  # and the suggestions, in the new unit

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

    def on_settings_section_auto_move(self, message: SettingsSection.AutoMove) -> None:
        self.auto_move = message.on
        if self.desk is not None:
            self._reconfigure_schedule(self.desk)
        way = "moves by itself when you are here" if message.on else "asks before moving"
        self.notify(f"the schedule {way}", title="settings")


def _registry_opener(url: str, paths: Paths, unit: Unit) -> AbstractAsyncContextManager[Desk]:
    from deskctl.drivers.registry import open_desk

    return open_desk(url, paths, unit)
