"""The interface's part in heights that learn from the hands (``deskctl.policy.tuning``).

Its own sit, stand and preset moves say what they are for, as the command line's do.
Through the agent the purpose travels with the move and the agent, which sees every rest
of the desk, records the fine-tunes after it; in direct mode this face holds the desk, so
it watches the rests itself.  The suggestions are found, applied and dismissed by the same
functions as ``deskctl profile suggest``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from deskctl.errors import BadInput, DeskctlError
from deskctl.purpose import Purpose, moving_for

if TYPE_CHECKING:
    from deskctl.desk import Desk
    from deskctl.history import History
    from deskctl.model import DeskState
    from deskctl.paths import Paths
    from deskctl.policy.learning import Suggestion
    from deskctl.policy.tuning import Tuner
    from deskctl.profiles.store import ProfileStore

log = logging.getLogger(__name__)

NOBODY_APPLIES = (
    "nobody's profile is active at this desk: add a person in People (3) for heights "
    "that learn, or set the height in the config"
)
"""Applying with nobody's profile is refused, as ``deskctl profile suggest --apply`` does."""


def desk_key(url: str) -> str:
    """The desk as the history knows it (one physical desk, whatever its URL's options)."""
    from deskctl.drivers.registry import parse_desk_url, physical_key

    return physical_key(parse_desk_url(url))


class FineTunes:
    """One desk's followed moves and suggestions, for the interface."""

    def __init__(self, paths: Paths, history: Callable[[], History], now: Callable[[], float]):
        self.paths = paths
        self._history = history
        self._now = now
        self.tuner: Tuner | None = None
        """In direct mode: the watch on this desk's rests (through the agent: None)."""
        self.key = ""

    def attach(self, desk: Desk, url: str) -> None:
        """A desk was connected: watch its rests here unless the agent does."""
        from deskctl.agent.client import RemoteDesk

        self.key = desk_key(url)
        if isinstance(desk, RemoteDesk):
            self.tuner = None
            return
        from deskctl.policy.tuning import Tuner

        self.tuner = Tuner(self._history, self.key, self._now)
        if not desk.state.moving:
            self.tuner.saw(desk.state.height_mm)

    async def follow(
        self, purpose: Purpose | None, move: Callable[[], Awaitable[DeskState]]
    ) -> DeskState:
        """Make ``move``, which goes to the person's height for ``purpose`` (if any)."""
        if purpose is not None and self.tuner is not None:
            return await self.tuner.follow(purpose, move)
        with moving_for(purpose):  # through the agent: it goes with the request
            return await move()

    def rested(self, state: DeskState) -> bool:
        """The desk shows ``state``; True when it came to rest (a fine-tune may have been
        recorded: by this face in direct mode, by the agent before it told us)."""
        if state.moving or state.fault is not None:
            return False
        if self.tuner is not None:
            try:
                self.tuner.rested(state.height_mm)
            except DeskctlError as error:  # the history: the desk goes on regardless
                log.warning("a fine-tune went unrecorded: %s", error)
        return True

    def found(
        self, profile: str | None, current: dict[str, float], limits: tuple[float, float]
    ) -> list[Suggestion]:
        from deskctl.policy.suggestions import Answers, suggestions

        return suggestions(
            self._history(),
            desk=self.key,
            profile=profile,
            current=current,
            limits=limits,
            answers=Answers.in_folder(self.paths.state_dir),
        )

    def apply(self, profiles: ProfileStore, name: str | None, suggestion: Suggestion) -> None:
        from deskctl.policy.suggestions import Answers, apply

        if name is None:
            raise BadInput(NOBODY_APPLIES)
        apply(profiles, profiles.load(name), suggestion, Answers.in_folder(self.paths.state_dir))

    def dismiss(self, suggestion: Suggestion) -> None:
        from deskctl.policy.suggestions import Answers, dismiss

        dismiss(suggestion, Answers.in_folder(self.paths.state_dir))
