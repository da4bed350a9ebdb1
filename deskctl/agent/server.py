"""The agent process: a local socket, the clients on it, and the desks it holds.

Only the user who runs the agent may talk to it: the socket's folder is 0700, the socket
0600, and each peer's uid is checked (SO_PEERCRED).  Every line is validated against
``messages`` before anything is done; a bad one gets an error answer and the agent goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import struct
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from deskctl import __version__, runtime
from deskctl.agent import messages as m
from deskctl.agent import protocol
from deskctl.agent.held import HeldDesk
from deskctl.errors import BadInput, DeskBusy, DeskctlError, Interrupted
from deskctl.lock import STOP_SIGNAL, DeskLock, holder_pid
from deskctl.model import Direction

if TYPE_CHECKING:
    from deskctl.desk import Desk
    from deskctl.history import History
    from deskctl.paths import Paths
    from deskctl.policy.tuning import Tuner

log = logging.getLogger(__name__)

# A client that reads nothing while this much waits for it is stuck: it is let go.
_MAX_BUFFERED = 1024 * 1024
# How much of an oversized line is read past before answering it (then the line closes).
_DRAIN_S = 2.0
_DRAIN_CHUNKS = 256


@dataclass(frozen=True)
class AgentSettings:
    idle_exit_s: float | None = None
    """Exit after this long with no client, no desk and no schedule (None: never)."""
    keep_open_s: float = 60.0
    """Keep a desk connected this long after its last client left."""
    presence: str = "none"
    """Where the schedules learn whether the person is there (``[presence] source``)."""


def socket_path() -> Path:
    path = runtime.runtime_dir() / protocol.SOCKET_NAME
    if len(os.fsencode(path)) >= 104:  # sun_path's size, less its terminator, on every system
        raise DeskctlError(f"the agent's socket path {path} is too long; set XDG_RUNTIME_DIR")
    return path


class Agent:
    def __init__(self, paths: Paths, settings: AgentSettings | None = None) -> None:
        self.paths = paths
        self.settings = settings or AgentSettings()
        self.desks: dict[str, HeldDesk] = {}
        self.sessions: set[Session] = set()
        self.done = asyncio.Event()
        self._history: History | None = None
        self._tuners: dict[str, Tuner] = {}
        self._idle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def serve(self, ready: Callable[[], None] = lambda: None) -> None:
        """Listen until :meth:`shutdown`; ``ready`` is called once clients can connect."""
        path = socket_path()
        lock = DeskLock(path.with_name("agent.lock"), "the deskctl agent", "deskctl agent")
        try:
            lock.acquire()
        except DeskBusy:
            pid = holder_pid(lock.path)
            raise DeskBusy(f"a deskctl agent runs already (pid {pid})") from None
        try:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # a socket left by an agent that was killed
            server = await asyncio.start_unix_server(
                self._accept, path=str(path), limit=protocol.MAX_LINE + 1
            )
            os.chmod(path, 0o600)
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(STOP_SIGNAL, self._stop_moving_desks)
            log.info("listening on %s", path)
            ready()
            self._consider_idle()
            try:
                await self.done.wait()
            finally:
                loop.remove_signal_handler(STOP_SIGNAL)
                server.close()
                for session in list(self.sessions):
                    session.abort()
                await asyncio.gather(*(held.close() for held in list(self.desks.values())))
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                if self._history is not None:
                    self._history.close()
        finally:
            lock.release()

    def shutdown(self) -> None:
        self.done.set()

    def history(self) -> History:
        """The user's history, opened once: the agent is its only writer."""
        if self._history is None:
            from deskctl.history import History

            self._history = History(self.paths.data_dir / "history.sqlite3")
            self._history.close_dangling()
        return self._history

    def tuner(self, key: str) -> Tuner:
        """The desk's watch for fine-tunes; it outlives the desk's connection, so that a
        nudge after the desk was let go and taken again is still seen."""
        tuner = self._tuners.get(key)
        if tuner is None:
            from deskctl.clock import EpochClock
            from deskctl.policy.tuning import Tuner

            tuner = self._tuners[key] = Tuner(self.history, key, EpochClock().now)
        return tuner

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def held(self, key: str, url: Any) -> HeldDesk:
        held = self.desks.get(key)
        if held is None:
            held = self.desks[key] = HeldDesk(self, url, key)
        return held

    def forget(self, held: HeldDesk) -> None:
        if self.desks.get(held.key) is held:
            del self.desks[held.key]
        self._consider_idle()

    def _stop_moving_desks(self) -> None:
        """A stop signal (from a process that could not reach the socket): every desk
        that moves stops.  A fault latch stays: only an explicit stop re-arms a desk."""
        for held in self.desks.values():
            desk = held.desk
            if desk is not None and desk.state.moving:
                self.spawn(desk.stop() if desk.latched is None else desk.release())

    # -- clients ------------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not _same_user(writer):
            writer.close()
            return
        session = Session(self, reader, writer)
        self.sessions.add(session)
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            self._consider_idle()

    def _consider_idle(self) -> None:
        delay = self.settings.idle_exit_s
        if delay is None or self.sessions or self.desks or self._idle is not None:
            return
        self._idle = asyncio.get_running_loop().call_later(delay, self._idle_exit)

    def _idle_exit(self) -> None:
        self._idle = None
        if not self.sessions and not self.desks:
            log.info("idle: exiting")
            self.shutdown()


def _same_user(writer: asyncio.StreamWriter) -> bool:
    sock = writer.get_extra_info("socket")
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return True  # platforms without it rely on the folder's and socket's modes
    credentials = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    if uid != os.getuid():
        log.warning("refused a client of uid %d", uid)
        return False
    return True


class Session:
    """One connected client: its requests run concurrently, and whatever it started (a
    move, a hold) ends when it goes away, as with a dead man's handle."""

    def __init__(
        self, agent: Agent, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.agent = agent
        self.reader = reader
        self.writer = writer
        self.name = "a client"
        self.desks: dict[str, HeldDesk] = {}
        self.requests: dict[int, asyncio.Task[None]] = {}

    async def run(self) -> None:
        try:
            while True:
                try:
                    line = await self.reader.readuntil(b"\n")
                except asyncio.IncompleteReadError:
                    return  # the client went away
                except asyncio.LimitOverrunError:
                    await self._drop_rest_of_line()
                    self._refuse(None, f"a line over {protocol.MAX_LINE} bytes; closing")
                    return
                except ConnectionError:
                    return
                self._take(line)
        finally:
            await self._end()

    async def _drop_rest_of_line(self) -> None:
        """Read past an oversized line (boundedly), so that closing after the answer does not
        reset the connection before the client has read it."""
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(_DRAIN_S):
                for _ in range(_DRAIN_CHUNKS):
                    chunk = await self.reader.read(protocol.MAX_LINE)
                    if not chunk or b"\n" in chunk:
                        return

    def _take(self, line: bytes) -> None:
        ident: int | None = None
        try:
            message = protocol.decode(line)
            raw_id = message.get("id")
            ident = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
            request = m.REQUEST.validate_python(message)
        except protocol.ProtocolViolation as error:
            self._refuse(ident, str(error))
            return
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            self._refuse(ident, f"bad request: {where}: {first['msg']}")
            return
        if request.id in self.requests:
            self._refuse(request.id, f"request id {request.id} is still in use")
            return
        task = asyncio.create_task(self._answer(request))
        self.requests[request.id] = task
        task.add_done_callback(lambda _: self.requests.pop(request.id, None))

    async def _answer(self, request: m.Request) -> None:
        try:
            result = await self._handle(request)
        except DeskctlError as error:
            self.send({"id": request.id, "ok": False, "error": protocol.error_to_wire(error)})
        except asyncio.CancelledError:
            self.send(
                {
                    "id": request.id,
                    "ok": False,
                    "error": protocol.error_to_wire(Interrupted("cancelled; the desk was stopped")),
                }
            )
            raise
        except Exception as error:  # a bug: the client hears of it, the agent goes on
            log.exception("request %s failed", request.op)
            problem = DeskctlError(f"the agent failed: {type(error).__name__}: {error}")
            self.send({"id": request.id, "ok": False, "error": protocol.error_to_wire(problem)})
        else:
            self.send({"id": request.id, "ok": True, "result": result})

    def _refuse(self, ident: int | None, problem: str) -> None:
        error = protocol.ProtocolViolation(problem)
        error_wire = protocol.error_to_wire(error) | {"exit_code": BadInput.exit_code}
        self.send({"id": ident, "ok": False, "error": error_wire})

    def send(self, message: dict[str, Any]) -> None:
        if self.writer.is_closing():
            return
        transport = self.writer.transport
        if transport.get_write_buffer_size() > _MAX_BUFFERED:
            log.warning("%s reads nothing; letting it go", self.name)
            self.abort()
            return
        self.writer.write(protocol.encode(message))

    def notice(self, text: str) -> None:
        self.send({"event": "notice", "text": text})

    def abort(self) -> None:
        self.writer.transport.abort()

    async def _end(self) -> None:
        """The client is gone: what it started stops, and its desks are let go."""
        tasks = list(self.requests.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for held in self.desks.values():
            held.leave(self)
        self.desks.clear()
        self.writer.close()

    # -- the operations -----------------------------------------------------------------------

    def _desk(self, key: str) -> tuple[HeldDesk, Desk]:
        held = self.desks.get(key)
        if held is None or held.desk is None:
            raise BadInput(f"open {key} first")
        return held, held.desk

    async def _handle(self, request: m.Request) -> dict[str, Any]:
        operation: Callable[[Any], Awaitable[dict[str, Any]]] = getattr(self, f"_op_{request.op}")
        return await operation(request)

    async def _op_hello(self, request: m.Hello) -> dict[str, Any]:
        self.name = request.client or self.name
        return {"agent_pid": os.getpid(), "version": __version__}

    async def _op_open(self, request: m.Open) -> dict[str, Any]:
        return await self._open(request.url)

    async def _op_close(self, request: m.Close) -> dict[str, Any]:
        held = self.desks.pop(request.desk, None)
        if held is not None:
            held.leave(self)
        return {}

    async def _op_move(self, request: m.Move) -> dict[str, Any]:
        held, desk = self._desk(request.desk)
        move = desk.move_to_roughly if request.roughly else desk.move_to
        state = await held.followed(request.purpose, lambda: move(request.height_mm))
        return {"state": protocol.state_to_wire(state)}

    async def _op_stop(self, request: m.Stop) -> dict[str, Any]:
        _, desk = self._desk(request.desk)
        return {"state": protocol.state_to_wire(await desk.stop())}

    async def _op_hold(self, request: m.Hold) -> dict[str, Any]:
        held, desk = self._desk(request.desk)
        way = Direction.UP if request.direction == "up" else Direction.DOWN
        await held.start_hold(self, desk, way, request.lease_s)
        return {}

    async def _op_hold_renew(self, request: m.HoldRenew) -> dict[str, Any]:
        held, _ = self._desk(request.desk)
        if not held.renew_hold(self):
            raise Interrupted("the hold ended: the desk was stopped")
        return {}

    async def _op_hold_end(self, request: m.HoldEnd) -> dict[str, Any]:
        held, desk = self._desk(request.desk)
        held.end_hold(self)
        return {"state": protocol.state_to_wire(await desk.settled())}

    async def _op_presets(self, request: m.Presets) -> dict[str, Any]:
        _, desk = self._desk(request.desk)
        presets = await desk.presets()
        return {"presets_mm": {str(slot): mm for slot, mm in presets.items()}}

    async def _op_recall(self, request: m.Recall) -> dict[str, Any]:
        held, desk = self._desk(request.desk)
        state = await held.followed(request.purpose, lambda: desk.recall_preset(request.slot))
        return {"state": protocol.state_to_wire(state)}

    async def _op_save_preset(self, request: m.SavePreset) -> dict[str, Any]:
        _, desk = self._desk(request.desk)
        await desk.save_preset(request.slot)
        return {"state": protocol.state_to_wire(desk.state)}

    async def _op_calibrate(self, request: m.Calibrate) -> dict[str, Any]:
        from deskctl.calibrate import calibrate

        _, desk = self._desk(request.desk)
        coast = await calibrate(desk)
        return {
            "latency_s": coast.latency_s,
            "decel_mm_s2": coast.decel_mm_s2,
            "top_speed_mm_s": coast.top_speed_mm_s,
        }

    async def _op_cancel(self, request: m.Cancel) -> dict[str, Any]:
        task = self.requests.get(request.request)
        if task is not None:
            task.cancel()
        return {}

    async def _op_follow(self, request: m.Follow) -> dict[str, Any]:
        from deskctl.policy.runner import Heights

        held, desk = self._desk(request.desk)
        desk.limits.check(request.sit_mm, desk.unit)
        desk.limits.check(request.stand_mm, desk.unit)
        if request.sit_mm >= request.stand_mm:
            raise BadInput("the sitting height must be below the standing height")
        heights = Heights(request.sit_mm, request.stand_mm)
        await held.schedule.follow(
            self,
            desk,
            profile=request.profile,
            auto=request.auto,
            heights=heights,
            schedule=request.schedule,
        )
        return {}

    async def _op_unfollow(self, request: m.Unfollow) -> dict[str, Any]:
        held, _ = self._desk(request.desk)
        held.schedule.unfollow(self)
        return {}

    async def _op_answer(self, request: m.Answer) -> dict[str, Any]:
        held, _ = self._desk(request.desk)
        held.schedule.tell(_event_of(request))
        return {}

    async def _op_shutdown(self, request: m.Shutdown) -> dict[str, Any]:
        self.agent.shutdown()
        return {}

    async def _open(self, url_text: str) -> dict[str, Any]:
        from deskctl.drivers.registry import parse_desk_url, physical_key

        url = parse_desk_url(url_text)
        key = physical_key(url)
        kept = self.agent.desks.get(key)
        if kept is not None and kept.idle and kept.url.options != url.options:
            await kept.close()  # nobody uses it: open it the way this URL says
        elif kept is not None and kept.closing:
            await kept.closed.wait()  # its lock is let go before the desk is opened again
        held = self.agent.held(key, url)
        held.join(self)
        try:
            desk = await held.open()
        except BaseException:
            held.leave(self)
            raise
        self.desks[key] = held
        return {
            "desk": key,
            **protocol.desk_to_wire(desk.info, desk.limits, desk.capabilities),
            "state": protocol.state_to_wire(desk.state),
            "tolerance_mm": desk.strategy.tolerance_mm,
            # A simulated desk may run faster than real time: the client keeps its pace.
            "clock_speed": getattr(desk.clock, "speed", 1.0),
        }


def _event_of(request: m.Answer) -> Any:
    from deskctl.policy import engine

    answers = {
        "confirm": engine.Confirm(),
        "snooze": engine.Snooze(),
        "skip": engine.Skip(),
        "activity": engine.Activity(),
        "away": engine.Away(),
    }
    if request.answer in answers:
        return answers[request.answer]
    if request.exercise is None:
        raise BadInput("an exercise answer names the exercise")
    return engine.ExerciseDone(request.exercise, request.answer == "done")


async def run_agent(
    paths: Paths, settings: AgentSettings, ready: Callable[[], None] = lambda: None
) -> None:
    """``deskctl agent``: serve until SIGTERM, SIGINT or idleness."""
    agent = Agent(paths, settings)
    loop = asyncio.get_running_loop()
    for stop in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop, agent.shutdown)
    await agent.serve(ready)
