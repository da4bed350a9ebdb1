"""One desk on the broker: its state out, its commands in, its schedule running.

The node keeps the desk open for as long as the bridge runs, and opens it
again (with a growing pause) when it cannot be reached or another process
holds it.  A command is carried out at once or refused with a reason on the
desk's event topic: nothing waits for a desk or a broker to come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from deskctl.bridge.backoff import Backoff
from deskctl.bridge.commands import (
    Answer,
    Command,
    CommandRefused,
    GoTo,
    MoveRation,
    MoveTo,
    RecallPreset,
    Stop,
    UseProfile,
    moves_the_desk,
    parse_command,
)
from deskctl.bridge.discovery import DeskDescription, device_config
from deskctl.bridge.refusals import RefusalLog
from deskctl.bridge.topics import DeskTopics
from deskctl.clock import EpochClock
from deskctl.config import DeskEntry, MqttConfig
from deskctl.desk import Desk
from deskctl.drivers import registry
from deskctl.errors import DeskctlError
from deskctl.history import History
from deskctl.model import DeskState, Link
from deskctl.paths import Paths
from deskctl.policy.engine import (
    Action,
    Confirm,
    Engine,
    Event,
    Notify,
    Phase,
    Prompt,
    Skip,
    Snooze,
    State,
)
from deskctl.policy.exercises import Posture
from deskctl.policy.runner import Heights, Runner
from deskctl.units import Unit, to_unit

if TYPE_CHECKING:
    from deskctl.agent.followed import FollowedSchedule
    from deskctl.profiles.model import Profile
    from deskctl.profiles.store import ProfileStore

log = logging.getLogger("deskctl.serve")

Publish = Callable[[str, str, bool], None]
"""``publish(topic, payload, retain)``: hand a message to the broker link."""
STOP_WAIT_S = 5.0
"""How long a leaving bridge waits for a moving desk to stop."""
DeskOpener = Callable[[str, Paths, Unit], AbstractAsyncContextManager[Desk]]


class DeskNode:
    def __init__(
        self,
        entry: DeskEntry,
        topics: DeskTopics,
        *,
        paths: Paths,
        mqtt: MqttConfig,
        unit: Unit,
        publish: Publish,
        open_desk: DeskOpener | None = None,
        clock: EpochClock | None = None,
        retry: Backoff | None = None,
        refusals: RefusalLog | None = None,
        standing_tick_s: float = 60.0,
    ) -> None:
        self.entry = entry
        self.topics = topics
        self.paths = paths
        self.mqtt = mqtt
        self.unit = unit
        self.publish = publish
        self.open_desk = open_desk or registry.open_desk
        self.clock = clock or EpochClock()
        self.retry = retry or Backoff(2.0, 60.0)
        self.ration = MoveRation(mqtt.moves_per_minute)
        self.desk: Desk | None = None
        self.runner: Runner | FollowedSchedule | None = None
        self.profile: str | None = None
        self._person: Profile | None = None
        """The profile named ``profile``, once it has loaded."""
        self.heights = Heights(entry.sit_mm, entry.stand_mm)
        self._standing_s = 0.0
        self._schedule: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._history: History | None = None
        self.refusals = refusals or RefusalLog()
        self.standing_tick_s = standing_tick_s
        """How often the standing figure is brought up to date while the person stands."""
        self._standing_timer: asyncio.TimerHandle | None = None

    # -- the desk's session -------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the desk open and on the broker until cancelled."""
        problem = ""
        self._availability(online=False)
        while True:
            try:
                async with self.open_desk(self.entry.url, self.paths, self.unit) as desk:
                    self.retry.reset()
                    problem = ""
                    log.info("%s: connected to %s", self.topics.desk, self.entry.url)
                    await self._attend(desk)
            except DeskctlError as error:
                if str(error) != problem:  # say it once, not at every retry
                    log.warning("%s: %s; trying again", self.topics.desk, error)
                    problem = str(error)
            finally:
                await self._leave()
            await asyncio.sleep(self.retry.next())

    async def _attend(self, desk: Desk) -> None:
        self.desk = desk
        self._take_person(desk)
        self.announce()
        self._start_schedule(desk)
        with desk.subscribe() as states:
            self._publish_state(desk.state)
            async for state in states:
                if not state.moving:
                    self._standing_s = self._standing_today()
                self._publish_state(state)
                self._pace_standing(state)

    async def _leave(self) -> None:
        self._pace_standing(None)
        for task in self._tasks:
            task.cancel()
        await self._stop_schedule()
        self.desk = None
        self.runner = None
        self._availability(online=False)

    async def at_rest(self) -> str | None:
        """The desk's state payload once it rests: the bridge is leaving, and a move it
        leaves running would be shown as moving for good."""
        desk = self.desk
        if desk is None:
            return None
        if desk.state.moving:
            with contextlib.suppress(DeskctlError, TimeoutError):
                async with asyncio.timeout(STOP_WAIT_S):
                    await desk.stop()
        return json.dumps(self.state_data(desk.state))

    async def close(self) -> None:
        await self._stop_schedule()
        if self._history is not None:
            self._history.close()

    async def _stop_schedule(self) -> None:
        """Stop the schedule and let it record the end of its posture."""
        task, self._schedule = self._schedule, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- who is at the desk, and the schedule -------------------------------------------------

    def _take_person(self, desk: Desk) -> None:
        from deskctl.profiles.at_desk import ActiveProfiles

        key = registry.desk_key(self.entry.url)
        self.profile = ActiveProfiles(self.paths.profiles_dir).at(key)
        self._person = None
        self.heights = Heights(self.entry.sit_mm, self.entry.stand_mm)
        if self.profile is None:
            return
        from deskctl.profiles.recommend import heights_for

        try:
            self._person = self._profiles().load(self.profile)
        except DeskctlError as error:
            log.warning("%s: %s; using the config's heights", self.topics.desk, error)
            return
        found = heights_for(self._person, desk.limits, self.unit)
        for note in found.notes:
            log.info("%s: %s", self.topics.desk, note)
        self.heights = Heights(found.sit_mm, found.stand_mm)

    def _profiles(self) -> ProfileStore:
        from deskctl.profiles.store import ProfileStore

        return ProfileStore(self.paths.profiles_dir)

    def _start_schedule(self, desk: Desk) -> None:
        from deskctl.agent.client import RemoteDesk
        from deskctl.clock import local_timezone
        from deskctl.policy.prefs import settings_for

        history = self._open_history(shared=isinstance(desk, RemoteDesk))
        zone = local_timezone()
        started = history.first_day(zone) or dt.date.today()
        # Nobody answers at the bridge's terminal: the schedule moves only on a confirm.
        engine = Engine(settings_for(self._person, started, timezone=zone))
        if isinstance(desk, RemoteDesk):
            # The agent runs the schedule and writes the history; the broker is one more face.
            from deskctl.agent.followed import FollowedSchedule

            self.runner = FollowedSchedule(
                desk,
                engine,
                heights=self.heights,
                show=self._show,
                profile=self.profile,
                stepped=self._stepped,
            )
        else:
            self.runner = Runner(
                desk,
                engine,
                history,
                heights=self.heights,
                show=self._show,
                clock=self.clock,
                stepped=self._stepped,  # its first step publishes the figures
            )
        self._schedule = asyncio.create_task(self.runner.run())

    def _open_history(self, *, shared: bool) -> History:
        """The user's history, which the agent writes (read here for the figures), or in
        direct mode the bridge's own for this desk."""
        if self._history is None:
            if shared:
                path = self.paths.data_dir / "history.sqlite3"
            else:
                path = (
                    self.paths.data_dir
                    / "bridge"
                    / f"{self.topics.bridge.node}-{self.topics.desk}.sqlite3"
                )
            self._history = History(path)
        return self._history

    def _standing_today(self) -> float:
        if self._history is None or self.runner is None:
            return self._standing_s
        zone = self.runner.engine.settings.timezone
        now = self.clock.now()
        today = dt.datetime.fromtimestamp(now, zone).date()
        return self._history.day(today, zone, 0.0, now).standing_s

    def _pace_standing(self, state: DeskState | None) -> None:
        """While the person stands the figure grows: a timer at a minute's pace, only then."""
        standing = (
            state is not None
            and not state.moving
            and state.link is Link.CONNECTED
            and self.heights.posture_of(state.height_mm) is Posture.STAND
        )
        if standing and self._standing_timer is None:
            loop = asyncio.get_running_loop()
            self._standing_timer = loop.call_later(self.standing_tick_s, self._standing_tick)
        elif not standing and self._standing_timer is not None:
            self._standing_timer.cancel()
            self._standing_timer = None

    def _standing_tick(self) -> None:
        self._standing_timer = None
        if self.desk is None:
            return
        self._standing_s = self._standing_today()
        self._publish_state(self.desk.state)
        self._pace_standing(self.desk.state)

    def _stepped(self, state: State) -> None:
        self._standing_s = self._standing_today()
        if self.desk is not None:
            self._publish_state(self.desk.state)

    def _show(self, action: Action) -> None:
        if isinstance(action, Prompt):
            self._event(
                "prompt",
                target=action.target.value,
                exercise=action.exercise_id,
                snoozes_left=action.snoozes_left,
            )
        elif isinstance(action, Notify):
            self._event("notice", text=action.text)

    # -- what goes out ------------------------------------------------------------------------

    def announce(self) -> None:
        """Discovery, availability and state: after a connect, and when Home Assistant starts."""
        desk = self.desk
        if desk is None:
            self._availability(online=False)
            return
        description = DeskDescription(
            title=desk.info.name or f"Desk {self.entry.name}",
            info=desk.info,
            limits=desk.limits,
            capabilities=desk.capabilities,
            profiles=tuple(self._profiles().names()),
            unit=self.unit,
        )
        self.publish(
            self.topics.discovery, json.dumps(device_config(self.topics, description)), True
        )
        self._publish_state(desk.state)

    def _availability(self, *, online: bool) -> None:
        self.publish(self.topics.availability, "online" if online else "offline", True)

    def _publish_state(self, state: DeskState) -> None:
        self._availability(online=state.link is Link.CONNECTED)
        self.publish(self.topics.state, json.dumps(self.state_data(state)), True)

    def state_data(self, state: DeskState) -> dict[str, Any]:
        engine = self.runner.state if self.runner is not None else None
        due = None if engine is None else engine.next_change
        standing = self.heights.posture_of(state.height_mm) is Posture.STAND
        return {
            "height_mm": round(state.height_mm, 1),
            f"height_{self.unit.value}": round(to_unit(state.height_mm, self.unit), 2),
            "moving": state.moving,
            "speed_mm_s": round(state.speed_mm_s, 1),
            "posture": "standing" if standing else "sitting",
            "link": state.link.value,
            "fault": None if state.fault is None else state.fault.value,
            "profile": self.profile,
            "phase": None if engine is None else engine.phase.value,
            "next_change": None
            if due is None
            else dt.datetime.fromtimestamp(due, dt.UTC).isoformat(timespec="seconds"),
            "standing_today_min": round(self._standing_s / 60, 1),
        }

    def _event(self, event: str, **data: Any) -> None:
        self.publish(self.topics.event, json.dumps({"event": event, **data}), False)

    def _refuse(self, what: str, reason: str) -> None:
        self.refusals.refused(self.topics.desk, what, reason)
        self._event("refused", command=what, reason=reason)

    # -- what comes in ------------------------------------------------------------------------

    def handle(self, kind: str, payload: bytes, *, retained: bool) -> None:
        """A message on one of this desk's command topics."""
        what = f"{kind} {payload[:40].decode('utf-8', 'replace')!r}"
        if retained:
            # A retained command would be carried out at every reconnect: old news, never.
            self._refuse(what, "commands are never retained or replayed; publish it unretained")
            return
        try:
            command = parse_command(kind, payload, self.unit)
            self._check(command)
        except CommandRefused as refusal:
            self._refuse(what, str(refusal))
            return
        self._carry_out(command, what)

    def _check(self, command: Command) -> None:
        """Refuse what cannot or may not be done; a move takes from the allowance only
        once everything else about it is right."""
        moves = moves_the_desk(command)
        if moves and not self.mqtt.remote_moves:
            raise CommandRefused(
                "remote moves are off; set remote_moves = true in the config's [mqtt]"
            )
        desk = self.desk
        if desk is None or desk.state.link is not Link.CONNECTED:
            raise CommandRefused("the desk is not connected; nothing was sent")
        if isinstance(command, Stop) and self._rearms(desk) and not self.mqtt.remote_moves:
            fault = desk.state.fault.value if desk.state.fault else "fault"
            raise CommandRefused(
                f"the desk stopped on a {fault} and stays put: a stop now would re-arm it, so "
                "from the broker it needs remote_moves = true (or run 'deskctl stop' at the desk)"
            )
        if isinstance(command, MoveTo):
            try:
                desk.limits.check(command.height_mm, self.unit)
            except DeskctlError as error:
                raise CommandRefused(str(error)) from None
        if isinstance(command, RecallPreset) and command.slot > desk.capabilities.memory_presets:
            raise CommandRefused(f"this desk has no memory preset {command.slot}")
        if isinstance(command, UseProfile) and not self._profiles().exists(command.name):
            raise CommandRefused(f"there is no profile {command.name!r}")
        if isinstance(command, Answer):
            if self.runner is None:
                raise CommandRefused("the schedule is not running")
            if self.runner.state.phase is not Phase.PROMPT:
                raise CommandRefused(f"no prompt is waiting for an answer ({command.answer})")
        if moves and not self.ration.take(self.clock.now()):
            raise CommandRefused(
                f"too many moves: this desk takes {self.mqtt.moves_per_minute} a minute; "
                f"wait {self.ration.wait_s():.0f} s"
            )

    @staticmethod
    def _rearms(desk: Desk) -> bool:
        """Whether a stop would clear a latched fault (even while the desk backs off from
        what it hit, which it ends by itself)."""
        return desk.state.fault is not None

    def _carry_out(self, command: Command, what: str) -> None:
        desk = self.desk
        assert desk is not None  # checked
        if isinstance(command, Stop):
            self._spawn(desk.stop(), what)
        elif isinstance(command, MoveTo):
            self._spawn(desk.move_to(command.height_mm), what)
        elif isinstance(command, GoTo):
            self._spawn(desk.move_to(self.heights.of(Posture(command.posture))), what)
        elif isinstance(command, RecallPreset):
            self._spawn(desk.recall_preset(command.slot), what)
        elif isinstance(command, Answer) and self.runner is not None:
            answers: dict[str, Event] = {"confirm": Confirm(), "snooze": Snooze(), "skip": Skip()}
            self.runner.tell(answers[command.answer])
        elif isinstance(command, UseProfile):
            self._spawn(self._switch_person(desk, command.name), what)

    async def _switch_person(self, desk: Desk, name: str) -> None:
        self._profiles().use(registry.desk_key(self.entry.url), name)
        await self._stop_schedule()
        self._take_person(desk)
        self._start_schedule(desk)
        self.announce()

    def _spawn(self, work: Awaitable[object], what: str) -> None:
        async def run() -> None:
            try:
                await work
            except DeskctlError as error:
                log.warning("%s: %s failed: %s", self.topics.desk, what, error)
                self._event("error", command=what, reason=str(error))

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
