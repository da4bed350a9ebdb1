"""Noticing fine-tunes: the person moves the desk a little soon after it went to one of
their heights (a scheduled change, ``deskctl sit`` or ``stand``, a preset).

A :class:`Tuner` watches one desk.  It is told of each move to a person's height (a
*followed move*: where it was meant to go and where it landed) and of every height the
desk comes to rest at.  A rest within :data:`WINDOW_S` of the followed move, and within
:data:`LARGEST_MM` of its target, is an adjustment, written to the history (a second
nudge updates it: what counts is where the person settled).  Anything further is a change
of posture, and ends the watch.  The history keeps the followed move too, so that
``deskctl up`` in another process (direct mode) finds it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from deskctl.errors import DeskctlError
from deskctl.policy.learning import Adjustment
from deskctl.purpose import Purpose

if TYPE_CHECKING:
    from deskctl.desk import Desk
    from deskctl.history import History
    from deskctl.model import DeskState

log = logging.getLogger(__name__)

WINDOW_S = 300.0
"""A rest this soon after a followed move may be a fine-tune of it."""
LARGEST_MM = 100.0
"""Further than this from the move's target is another posture, not a fine-tune."""
MOVED_MM = 1.0
"""A rest closer than this to the previous one is the desk staying where it was."""

KINDS = ("schedule", "sit", "stand", "preset")


@dataclass(frozen=True)
class FollowedMove:
    id: int
    t: float
    desk: str
    profile: str | None
    posture: str
    kind: str
    target_mm: float
    landed_mm: float


def judge(move: FollowedMove, height_mm: float, now: float) -> Literal["adjusted", "ended"]:
    """What a rest at ``height_mm`` (the desk having moved since its last rest) says of
    ``move``: a fine-tune of it, or the end of watching it."""
    if now - move.t > WINDOW_S or abs(height_mm - move.target_mm) > LARGEST_MM:
        return "ended"
    return "adjusted"


class Tuner:
    """One desk's followed moves and the rests after them."""

    def __init__(self, history: Callable[[], History], desk: str, now: Callable[[], float]):
        self._history = history
        self.desk = desk
        self.now = now
        self._move: FollowedMove | None = None
        self._loaded = False
        self._moving = 0
        self._rest: float | None = None

    def saw(self, height_mm: float) -> None:
        """The desk rests here (known before a move this process makes)."""
        self._rest = height_mm

    async def follow(self, purpose: Purpose, move: Callable[[], Awaitable[DeskState]]) -> DeskState:
        """Make the move to the person's height, and watch for fine-tunes after it.  The
        rests while it runs are its own, not the person's."""
        self._moving += 1
        try:
            state = await move()
        except BaseException:
            self._forget()
            raise
        finally:
            self._moving -= 1
        try:
            self.followed(purpose, state.height_mm)
        except DeskctlError as error:  # the history: the move itself went well
            log.warning("a move to the %s height went unrecorded: %s", purpose.posture, error)
        return state

    def followed(self, purpose: Purpose, landed_mm: float) -> None:
        """A move for ``purpose`` came to rest at ``landed_mm`` just now."""
        now = self.now()
        history = self._history()
        ident = history.note_followed(now, self.desk, purpose, landed_mm)
        self._move = FollowedMove(
            ident, now, self.desk, purpose.profile, purpose.posture, purpose.kind,
            purpose.target_mm, landed_mm,
        )  # fmt: skip
        self._loaded = True
        self._rest = landed_mm

    def rested(self, height_mm: float) -> Adjustment | None:
        """The desk came to rest at ``height_mm``; the adjustment it makes, if any."""
        if self._moving:
            return None
        previous, self._rest = self._rest, height_mm
        if previous is None or abs(height_mm - previous) < MOVED_MM:
            return None
        move = self._current()
        if move is None:
            return None
        now = self.now()
        if judge(move, height_mm, now) == "ended":
            self._forget()
            return None
        return self._history().note_adjustment(move, now, height_mm)

    def _current(self) -> FollowedMove | None:
        if not self._loaded:
            self._move = self._history().last_followed(self.desk)
            self._loaded = True
        return self._move

    def _forget(self) -> None:
        """The desk went elsewhere: later rests fine-tune nothing."""
        move = self._current()
        if move is not None:
            self._history().end_followed(move.id)
        self._move = None
        self._loaded = True


async def watch(desk: Desk, tuner: Tuner) -> None:
    """Tell ``tuner`` of every rest of ``desk`` (a task's whole life; cancel it to end)."""
    with desk.subscribe() as states:
        if not desk.state.moving:
            tuner.saw(desk.state.height_mm)
        async for state in states:
            if not state.moving and state.fault is None:
                tuner.rested(state.height_mm)
