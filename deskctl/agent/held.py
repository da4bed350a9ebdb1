"""One physical desk held by the agent: its connection, the clients that use it, the
holds they keep, and its schedule.

The connection is opened by the first client that asks for the desk and kept while any
client uses it or its schedule runs, then for ``keep_open_s`` more, so that commands in
a row share it; then it is closed, and other programs may have the desk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from deskctl.agent import protocol
from deskctl.agent.schedule import Schedule
from deskctl.desk import Desk
from deskctl.errors import DeskctlError
from deskctl.model import Direction

if TYPE_CHECKING:
    from deskctl.agent import messages as m
    from deskctl.agent.server import Agent, Session
    from deskctl.drivers.registry import DeskURL
    from deskctl.model import DeskState

log = logging.getLogger(__name__)


class HeldDesk:
    def __init__(self, agent: Agent, url: DeskURL, key: str) -> None:
        self.agent = agent
        self.url = url
        self.key = key
        self.desk: Desk | None = None
        self.sessions: set[Session] = set()
        self.schedule = Schedule(self)
        self._stack = AsyncExitStack()
        self._opening: asyncio.Task[Desk] | None = None
        self._closing: asyncio.TimerHandle | None = None
        self._hold: _Hold | None = None
        self.closing = False
        self.closed = asyncio.Event()
        """Set once the connection is closed and the desk's lock let go."""

    # -- the connection -----------------------------------------------------------------------

    async def open(self) -> Desk:
        """The desk, connected; concurrent callers share one connection attempt."""
        if self.desk is not None:
            return self.desk
        if self._opening is None:
            self._opening = asyncio.create_task(self._connect())
        try:
            return await asyncio.shield(self._opening)
        except DeskctlError:
            self._opening = None
            raise

    async def _connect(self) -> Desk:
        from deskctl.drivers.registry import open_desk

        opener = open_desk(self.url.text, self.agent.paths, holder="deskctl agent", stoppable=False)
        try:
            desk = await self._stack.enter_async_context(opener)
        except BaseException:
            await self._stack.aclose()
            raise
        self.desk = desk
        forward = asyncio.create_task(self._forward(desk))
        self._stack.push_async_callback(_cancelled, forward)
        log.info("holding %s", self.key)
        return desk

    async def _forward(self, desk: Desk) -> None:
        """Every state of the desk, to every client that has it open; and every rest to
        the watch for fine-tunes."""
        tuner = self.agent.tuner(self.key)
        with desk.subscribe() as states:
            if not desk.state.moving:
                tuner.saw(desk.state.height_mm)
            async for state in states:
                # A fine-tune is in the history before the faces hear of the rest, so
                # that one looking for suggestions then finds it.
                if not state.moving and state.fault is None:
                    try:
                        tuner.rested(state.height_mm)
                    except DeskctlError as error:  # the history: the desk goes on regardless
                        log.warning("a fine-tune went unrecorded: %s", error)
                self.broadcast({"event": "state", "state": protocol.state_to_wire(state)})

    async def followed(
        self, purpose: m.Purpose | None, move: Callable[[], Awaitable[DeskState]]
    ) -> DeskState:
        """Make ``move``; one to the person's height (``purpose``) is watched for
        fine-tunes after it."""
        if purpose is None:
            return await move()
        from deskctl.purpose import Purpose

        told = Purpose(purpose.kind, purpose.posture, purpose.target_mm, purpose.profile)
        return await self.agent.tuner(self.key).follow(told, move)

    def broadcast(self, message: dict[str, Any]) -> None:
        message = {**message, "desk": self.key}
        for session in list(self.sessions):
            session.send(message)

    def join(self, session: Session) -> None:
        self.sessions.add(session)
        if self._closing is not None:
            self._closing.cancel()
            self._closing = None

    def leave(self, session: Session) -> None:
        """A client is done with the desk (or gone): a hold it kept ends with it."""
        self.sessions.discard(session)
        if self._hold is not None and self._hold.session is session:
            self.end_hold(session)
        self.schedule.unfollow(session)
        self.consider_closing()

    @property
    def idle(self) -> bool:
        """Nobody uses the desk: no client has it open and its schedule does not run."""
        return not self.sessions and not self.schedule.running

    def consider_closing(self) -> None:
        if not self.idle or self._closing is not None or self.closing:
            return
        delay = self.agent.settings.keep_open_s
        self._closing = asyncio.get_running_loop().call_later(
            delay, lambda: self.agent.spawn(self.close())
        )

    async def close(self) -> None:
        """Stop the schedule and any motion, disconnect, and forget this desk."""
        if self.closing:
            await self.closed.wait()
            return
        self.closing = True
        if self._closing is not None:
            self._closing.cancel()
            self._closing = None
        try:
            await self.schedule.stop()
            if self._hold is not None:
                self._hold.cancel()
            self.desk = None
            self._opening = None
            await self._stack.aclose()
        finally:
            self.agent.forget(self)
            self.closed.set()
        log.info("released %s", self.key)

    # -- holding a direction ------------------------------------------------------------------

    async def start_hold(
        self, session: Session, desk: Desk, direction: Direction, lease_s: float
    ) -> None:
        """Hold ``direction`` for ``session``; raises what keeps the desk from moving."""
        if self._hold is not None:
            self._hold.cancel()
        hold = self._hold = _Hold(session, desk, direction, lease_s, self._hold_ended)
        await hold.started

    def renew_hold(self, session: Session) -> bool:
        hold = self._hold
        if hold is None or hold.session is not session:
            return False
        hold.renew()
        return True

    def end_hold(self, session: Session) -> bool:
        hold = self._hold
        if hold is None or hold.session is not session:
            return False
        hold.cancel()
        return True

    def _hold_ended(self, hold: _Hold) -> None:
        if self._hold is hold:
            self._hold = None


class _Hold:
    """A direction held for a client: it ends when the client lets go, stops renewing its
    lease (a hung client), or goes away."""

    def __init__(
        self,
        session: Session,
        desk: Desk,
        direction: Direction,
        lease_s: float,
        ended: Callable[[_Hold], None],
    ) -> None:
        self.session = session
        self.lease_s = lease_s
        self._renewed = asyncio.Event()
        self._ended = ended
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._run(desk, direction))

    async def _run(self, desk: Desk, direction: Direction) -> None:
        try:
            async with desk.hold(direction):
                self.started.set_result(None)
                while True:
                    self._renewed.clear()
                    try:
                        async with asyncio.timeout(self.lease_s):
                            await self._renewed.wait()
                    except TimeoutError:
                        log.warning("a hold was not renewed in time: the desk stops")
                        return
        except DeskctlError as error:
            if not self.started.done():
                self.started.set_exception(error)
        finally:
            if not self.started.done():
                self.started.cancel()
            self._ended(self)

    def renew(self) -> None:
        self._renewed.set()

    def cancel(self) -> None:
        self.task.cancel()


async def _cancelled(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
