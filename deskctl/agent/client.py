"""The client's end: a line to the agent, and :class:`RemoteDesk`, the same ``Desk`` API
with the agent holding the real desk, so the command line, the interface and the bridge
keep their code.  Nothing here imports a driver, Bluetooth or pydantic."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from deskctl.agent import protocol
from deskctl.clock import LoopClock
from deskctl.desk import SETTLE_S, Desk
from deskctl.errors import DeskctlError, DeskUnavailable, Unsupported
from deskctl.model import Capabilities, DeskInfo, DeskState, Direction, Limits, Link
from deskctl.motion import CoastModel
from deskctl.purpose import MOVING_FOR
from deskctl.units import Unit

log = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]

# A hold is a lease the client renews: a client that hangs lets go of the desk.
HOLD_LEASE_S = 1.0


def _purpose() -> dict[str, Any]:
    """The purpose of the move being asked for, when it goes to the person's height."""
    purpose = MOVING_FOR.get()
    return {} if purpose is None else {"purpose": purpose.to_wire()}


class AgentGone(DeskUnavailable):
    """The agent went away; a move it was making was stopped."""


class AgentConnection:
    """Requests and their answers, and events by desk, over one socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: dict[str, set[Listener]] = {}
        self.lost: DeskctlError | None = None
        self._reading = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, path: Path) -> AgentConnection:
        """Raises OSError (FileNotFoundError, ConnectionRefusedError) when no agent listens."""
        reader, writer = await asyncio.open_unix_connection(str(path), limit=protocol.MAX_LINE + 1)
        return cls(reader, writer)

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """The operation's result; the agent's error as the same ``DeskctlError``.

        Cancelling the call withdraws the request: the agent stops what it started."""
        ident, answer = self._send(op, fields)
        try:
            return await asyncio.shield(answer)
        except asyncio.CancelledError:
            if not answer.done() and self.lost is None:
                self._send("cancel", {"request": ident})
                with contextlib.suppress(DeskctlError, TimeoutError, asyncio.CancelledError):
                    async with asyncio.timeout(SETTLE_S):
                        await answer
            raise

    def tell(self, op: str, **fields: Any) -> asyncio.Future[dict[str, Any]]:
        """Send without waiting; the future holds the answer."""
        return self._send(op, fields)[1]

    def _send(self, op: str, fields: dict[str, Any]) -> tuple[int, asyncio.Future[dict[str, Any]]]:
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if self.lost is not None:
            answer.set_exception(self.lost)
            answer.exception()  # noted, so an unread answer is no warning
            return 0, answer
        ident = next(self._ids)
        self._pending[ident] = answer
        self._writer.write(protocol.encode({"id": ident, "op": op, **fields}))
        return ident, answer

    def listen(self, desk: str, listener: Listener) -> None:
        self._listeners.setdefault(desk, set()).add(listener)

    def unlisten(self, desk: str, listener: Listener) -> None:
        self._listeners.get(desk, set()).discard(listener)

    async def _read(self) -> None:
        try:
            while True:
                try:
                    line = await self._reader.readuntil(b"\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                except asyncio.LimitOverrunError:
                    log.warning("the agent sent a line over %d bytes", protocol.MAX_LINE)
                    break
                try:
                    self._dispatch(protocol.decode(line))
                except (protocol.ProtocolViolation, KeyError, TypeError, ValueError) as error:
                    log.warning("a message from the agent that makes no sense: %s", error)
        finally:
            self._lose(AgentGone("the deskctl agent went away; the desk was stopped"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "event" in message:
            for listener in list(self._listeners.get(str(message.get("desk")), ())):
                listener(message)
            for listener in list(self._listeners.get("*", ())):
                listener(message)
            return
        answer = self._pending.pop(message["id"], None)
        if answer is None or answer.done():
            return
        if message.get("ok"):
            answer.set_result(message.get("result") or {})
        else:
            answer.set_exception(protocol.error_from_wire(message.get("error") or {}))

    def _lose(self, error: DeskctlError) -> None:
        if self.lost is not None:
            return
        self.lost = error
        for answer in self._pending.values():
            if not answer.done():
                answer.set_exception(error)
                answer.exception()
        self._pending.clear()
        for listeners in list(self._listeners.values()):
            for listener in list(listeners):
                listener({"event": "lost", "message": str(error)})

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading


class RemoteDesk(Desk):
    """A desk the agent holds; every call is a request, every state an event."""

    def __init__(self, connection: AgentConnection, url: str, unit: Unit = Unit.CM) -> None:
        super().__init__(
            info=DeskInfo(family="unknown", address=url),
            limits=Limits(1.0, 2.0),  # replaced by the desk's own when it opens
            capabilities=Capabilities(native_move_to=True),
        )
        self.connection = connection
        self.url = url
        self.unit = unit
        self.key = ""
        self.events: set[Listener] = set()
        """Called with every event of this desk besides its states (the schedule's)."""

    # -- lifecycle ----------------------------------------------------------------------------

    async def _open(self) -> None:
        result = await self.connection.request("open", url=self.url)
        self.key = str(result["desk"])
        self.info, self.limits, self.capabilities = protocol.desk_from_wire(result)
        self.strategy.tolerance_mm = float(result.get("tolerance_mm", self.strategy.tolerance_mm))
        self.clock = LoopClock(float(result.get("clock_speed", 1.0)))
        self.connection.listen(self.key, self._on_event)
        self._hub.publish(protocol.state_from_wire(result["state"], self.clock.now()))

    async def close(self) -> None:
        if self.state.link is Link.DISCONNECTED:
            return
        try:
            await self._close()
        finally:
            self._hub.publish(self.state.but(link=Link.DISCONNECTED, moving=False))
            self._hub.close()

    async def _close(self) -> None:
        if self.key:
            self.connection.unlisten(self.key, self._on_event)
            with contextlib.suppress(DeskctlError):
                await self.connection.request("close", desk=self.key)

    def _on_event(self, message: dict[str, Any]) -> None:
        kind = message.get("event")
        if kind == "state":
            self._hub.publish(protocol.state_from_wire(message["state"], self.clock.now()))
        elif kind == "lost":
            self._hub.publish(
                self.state.but(link=Link.LOST, moving=False, detail=str(message["message"]))
            )
            self._hub.close()
        for listener in list(self.events):
            listener(message)

    # -- motion -------------------------------------------------------------------------------

    async def move_to(self, height_mm: float) -> DeskState:
        self.limits.check(height_mm, self.unit)  # at once, with nothing sent
        return await self._state_of("move", height_mm=height_mm, **_purpose())

    async def move_to_roughly(self, height_mm: float) -> DeskState:
        self.limits.check(height_mm, self.unit)
        return await self._state_of("move", height_mm=height_mm, roughly=True)

    async def stop(self) -> DeskState:
        return await self._state_of("stop")

    @contextlib.asynccontextmanager
    async def hold(self, direction: Direction) -> AsyncIterator[None]:
        way = "up" if direction is Direction.UP else "down"
        await self.connection.request("hold", desk=self.key, direction=way, lease_s=HOLD_LEASE_S)

        async def renew() -> None:
            while True:
                await asyncio.sleep(HOLD_LEASE_S / 3)  # real time, as the agent's lease
                await self.connection.request("hold_renew", desk=self.key)

        renewing = asyncio.create_task(renew())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError, DeskctlError):
                await renewing
            ended: dict[str, Any] = {}
            with contextlib.suppress(AgentGone):
                ended = await asyncio.shield(self.connection.request("hold_end", desk=self.key))
        if "state" in ended:
            rest = protocol.state_from_wire(ended["state"], self.clock.now())
            if rest.fault is not None:
                # It hit something (or overheated) while held: that ends a hold as a move.
                raise self._fault_error(rest)

    async def presets(self) -> dict[int, float | None]:
        result = await self.connection.request("presets", desk=self.key)
        return {int(slot): mm for slot, mm in result["presets_mm"].items()}

    async def recall_preset(self, slot: int) -> DeskState:
        return await self._state_of("recall", slot=slot, **_purpose())

    async def save_preset(self, slot: int) -> None:
        await self.connection.request("save_preset", desk=self.key, slot=slot)

    async def calibrate(self) -> CoastModel:
        result = await self.connection.request("calibrate", desk=self.key)
        return CoastModel(
            latency_s=result["latency_s"],
            decel_mm_s2=result["decel_mm_s2"],
            top_speed_mm_s=result["top_speed_mm_s"],
        )

    async def _state_of(self, op: str, **fields: Any) -> DeskState:
        result = await self.connection.request(op, desk=self.key, **fields)
        return protocol.state_from_wire(result["state"], self.clock.now())

    # -- the driver's primitives: the agent's desk has them, not this one ----------------------

    async def send_target(self, height_mm: float) -> None:
        raise Unsupported("a desk held by the agent moves with move_to")

    async def press(self, direction: Direction) -> None:
        raise Unsupported("a desk held by the agent moves with hold")

    async def release(self) -> None:
        raise Unsupported("a desk held by the agent stops with stop")
