"""A desk's schedule in the agent: it runs while any face follows it (``deskctl run``,
the interface, the MQTT bridge), shows its prompts on every one of them, and takes the
first answer from any.  The agent is the history's only writer."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from deskctl.errors import DeskctlError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from deskctl.agent.held import HeldDesk
    from deskctl.agent.server import Session
    from deskctl.desk import Desk
    from deskctl.policy.dnd import DoNotDisturb
    from deskctl.policy.engine import Action, Event, Settings, State
    from deskctl.policy.runner import Heights, Runner
    from deskctl.profiles.model import Profile


class Schedule:
    def __init__(self, held: HeldDesk) -> None:
        self.held = held
        self.followers: set[Session] = set()
        self.runner: Runner | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._dnd: DoNotDisturb | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def follow(
        self,
        session: Session,
        desk: Desk,
        *,
        profile: str | None,
        auto: bool,
        heights: Heights,
        schedule: dict[str, Any] | None = None,
    ) -> None:
        """Start the schedule, or give the running one this face's person and heights
        (without ending the bout in progress)."""
        from deskctl.policy.engine import Engine
        from deskctl.policy.runner import Runner

        if self._stopping is not None:
            await self._stopping
        if self._dnd is None:
            from deskctl.policy.dnd import followed

            self._dnd = await followed(self._disturbance_changed)
        engine = Engine(self._settings(profile, auto, schedule))
        self.followers.add(session)
        if self.runner is not None and self.running:
            self.runner.profile = profile
            self.runner.reconfigure(engine, heights)
        else:
            runner = self.runner = Runner(
                desk,
                engine,
                self.held.agent.history(),
                heights=heights,
                show=self._show,
                stepped=self._stepped,
                presence=self.held.agent.settings.presence,
                tuner=self.held.agent.tuner(self.held.key),
                profile=profile,
            )
            self._task = asyncio.create_task(runner.run())
            started = asyncio.create_task(runner.started.wait())
            await asyncio.wait([started, self._task], return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            if self._task.done():
                self._task.result()  # what kept the schedule from starting
        session.send(self._schedule_event(self.runner.state))

    def _settings(
        self, profile: str | None, auto: bool, schedule: dict[str, Any] | None
    ) -> Settings:
        from pydantic import ValidationError

        from deskctl.clock import local_timezone
        from deskctl.errors import BadInput
        from deskctl.policy.prefs import settings_for
        from deskctl.profiles.model import SchedulePrefs
        from deskctl.profiles.store import ProfileStore

        person = None
        if profile is not None:
            person = ProfileStore(self.held.agent.paths.profiles_dir).load(profile)
        prefs = None
        if schedule is not None:
            try:
                prefs = SchedulePrefs.model_validate(schedule)
            except ValidationError as error:
                raise BadInput(f"the schedule: {error.errors()[0]['msg']}") from None
        history = self.held.agent.history()
        zone = local_timezone()
        started = history.first_day(zone) or dt.date.today()
        settings = settings_for(person, started, schedule=prefs, timezone=zone, auto_move=auto)
        return self._with_meetings(settings, person)

    def _with_meetings(self, settings: Settings, person: Profile | None) -> Settings:
        """The person's calendars: a calendar that cannot be read is said on every face."""
        from deskctl.policy.calendars import with_calendars
        from deskctl.policy.engine import Notify

        def warn(line: str) -> None:
            log.warning("%s", line)
            self._show(Notify(line))

        state_dir = self.held.agent.paths.state_dir
        if self._dnd is not None:
            settings = dataclasses.replace(settings, do_not_disturb=self._dnd)
        return with_calendars(settings, person, state_dir=state_dir, warn=warn)

    def _disturbance_changed(self) -> None:
        """Do-not-disturb turned on or off: the schedule looks again (a change it held
        back is asked for now)."""
        from deskctl.policy.engine import Tick

        if self.runner is not None and self.running:
            self.runner.tell(Tick())

    def unfollow(self, session: Session) -> None:
        if session not in self.followers:
            return
        self.followers.discard(session)
        if not self.followers and self._stopping is None:
            self._stopping = asyncio.create_task(self.stop())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, DeskctlError):
                await task
        self.runner = None
        self._stopping = None
        if self._dnd is not None:
            self._dnd.close()
            self._dnd = None
        self.held.broadcast({"event": "schedule", "state": None})
        self.held.consider_closing()

    def tell(self, event: Event) -> None:
        if self.runner is None:
            from deskctl.errors import BadInput

            raise BadInput("the schedule is not running at this desk; 'deskctl run' starts it")
        self.runner.tell(event)

    def _show(self, action: Action) -> None:
        from deskctl.agent.schedule_wire import action_to_wire

        wire = action_to_wire(action)
        if wire is not None:
            self.held.broadcast({"event": "action", "action": wire})

    def _stepped(self, state: State) -> None:
        self.held.broadcast(self._schedule_event(state))

    def _schedule_event(self, state: State) -> dict[str, object]:
        from deskctl.agent.schedule_wire import state_to_wire

        return {"event": "schedule", "state": state_to_wire(state)}
