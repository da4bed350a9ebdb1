"""The agent's schedule for a desk, as a face sees it: the surface of ``Runner`` (``run``,
``tell``, ``state``, ``engine``), so that the interface and the bridge show a schedule the
same way whether it runs in the agent or in their own process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from deskctl.agent.schedule_wire import action_from_wire, state_from_wire
from deskctl.policy.engine import (
    Activity,
    Away,
    Confirm,
    Engine,
    Event,
    ExerciseDone,
    Skip,
    Snooze,
    State,
)
from deskctl.policy.runner import Heights, Show

if TYPE_CHECKING:
    from deskctl.agent.client import RemoteDesk

_ANSWERS: dict[type, str] = {
    Confirm: "confirm",
    Snooze: "snooze",
    Skip: "skip",
    Activity: "activity",
    Away: "away",
}


class FollowedSchedule:
    def __init__(
        self,
        desk: RemoteDesk,
        engine: Engine,
        *,
        heights: Heights,
        show: Show,
        profile: str | None,
        schedule: dict[str, Any] | None = None,
        stepped: Callable[[State], None] = lambda _: None,
    ) -> None:
        self.desk = desk
        self.engine = engine
        """The same settings as the agent's: for the plan of the day and the exercises."""
        self.heights = heights
        self.show = show
        self.profile = profile
        self.schedule = schedule
        self.stepped = stepped
        self.state = State(posture=heights.posture_of(desk.state.height_mm))
        self.started = asyncio.Event()

    async def run(self) -> None:
        """Follow the schedule until the desk's connection ends (which unfollows it)."""
        lost = asyncio.Event()

        def on_event(message: dict[str, Any]) -> None:
            kind = message.get("event")
            if kind == "schedule" and message.get("state") is not None:
                self.state = state_from_wire(message["state"])
                self.stepped(self.state)
            elif kind == "action":
                action = action_from_wire(message["action"])
                if action is not None:
                    self.show(action)
            elif kind == "lost":
                lost.set()

        self.desk.events.add(on_event)
        try:
            fields: dict[str, Any] = {"schedule": self.schedule} if self.schedule else {}
            await self.desk.connection.request(
                "follow",
                desk=self.desk.key,
                profile=self.profile,
                auto=self.engine.settings.auto_move,
                sit_mm=self.heights.sit_mm,
                stand_mm=self.heights.stand_mm,
                **fields,
            )
            self.started.set()
            await lost.wait()
        finally:
            self.desk.events.discard(on_event)

    def tell(self, event: Event) -> None:
        """The person's answer, sent to the agent (the first answer from any face wins)."""
        if isinstance(event, ExerciseDone):
            answer, fields = ("done" if event.done else "skipped"), {"exercise": event.exercise_id}
        elif type(event) in _ANSWERS:
            answer, fields = _ANSWERS[type(event)], {}
        else:
            return  # what the desk and the clock tell, the agent sees for itself
        self.desk.connection.tell("answer", desk=self.desk.key, answer=answer, **fields)
