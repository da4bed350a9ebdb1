"""The :class:`Desk` interface every driver implements, with the logic all desks share.

A driver supplies a handful of primitives (connect, close, send a target,
press a direction, release, stop); this class turns them into safe moves:
targets outside the limits are refused before a byte is sent, only one motion
runs at a time, a cancelled move stops the desk, collisions and thermal
cut-outs become typed errors, and the motor's duty cycle is respected.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from deskctl.clock import Clock, LoopClock
from deskctl.duty import DutyCycle
from deskctl.errors import (
    Collision,
    ConnectionLost,
    DeskctlError,
    DeskFault,
    Interrupted,
    MoveFailed,
    Overheated,
    Unsupported,
)
from deskctl.model import Capabilities, DeskInfo, DeskState, Direction, Fault, Limits, Link
from deskctl.motion import CoastModel, HoldAndWatch, MotionStrategy, NativeMoveTo
from deskctl.stream import StateHub, Subscription
from deskctl.units import Unit, format_height

# Time a move needs beyond distance / speed: ramps, reaction, the final report.
_MOVE_OVERHEAD_S = 2.0
# How long a stopped desk may take to come to rest (coasting, a controller's soft stop).
SETTLE_S = 3.0
# Faults that only the user can clear (with stop); a hot motor clears itself.
LATCHING = (Fault.COLLISION, Fault.CONTROLLER)


class Desk(ABC):
    """A height-adjustable desk.

    Use it as an async context manager::

        async with desk:
            await desk.move_to(1100.0)

    Heights are millimetres.  ``unit`` only shapes the wording of errors.
    """

    report_interval_s: float = 0.1
    target_repeat_s: float | None = None
    press_repeat_s: float = 0.5

    def __init__(
        self,
        *,
        info: DeskInfo,
        limits: Limits,
        capabilities: Capabilities,
        strategy: MotionStrategy | None = None,
        clock: Clock | None = None,
        duty: DutyCycle | None = None,
    ) -> None:
        self.info = info
        self.limits = limits
        self.capabilities = capabilities
        self.strategy: MotionStrategy = strategy or NativeMoveTo()
        self.clock: Clock = clock or LoopClock()
        self.duty = duty or DutyCycle()
        self.unit = Unit.CM
        self._hub = StateHub(DeskState(height_mm=limits.min_mm, link=Link.DISCONNECTED))
        self._motion: asyncio.Task[Any] | None = None
        self._motion_error: DeskctlError | None = None
        self.latched: DeskState | None = None
        """The state in which the desk stopped on a collision or controller fault: no move
        until an explicit :meth:`stop`, whatever the controller says meanwhile (closing a
        link or a controller forgetting its own lock does not clear it)."""

    # -- what drivers provide -----------------------------------------------------------------

    @abstractmethod
    async def _open(self) -> None:
        """Connect and publish the first state."""

    @abstractmethod
    async def _close(self) -> None:
        """Disconnect; the desk is already stopped."""

    @abstractmethod
    async def send_target(self, height_mm: float) -> None:
        """Ask a controller with a native move-to to drive to ``height_mm``."""

    @abstractmethod
    async def press(self, direction: Direction) -> None:
        """Press (or keep pressing) up or down."""

    @abstractmethod
    async def release(self) -> None:
        """Let go of up/down, or of a native target."""

    async def _halt(self) -> None:
        """Stop at once and clear a collision latch; defaults to a release."""
        await self.release()

    async def _read_presets(self) -> dict[int, float | None]:
        raise Unsupported(f"{self.info.family} desks do not report memory presets")

    async def _recall_preset(self, slot: int) -> DeskState:
        height = (await self.presets()).get(slot)
        if height is None:
            raise Unsupported(f"memory preset {slot} is empty on this desk")
        return await self.move_to(height)

    async def _save_preset(self, slot: int) -> None:
        raise Unsupported(f"{self.info.family} desks cannot store memory presets from deskctl")

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        self._publish(self.state.but(link=Link.CONNECTING))
        await self._open()

    async def close(self) -> None:
        """Stop any motion and disconnect.  Safe to call more than once.

        Only the motion is stopped: a collision latch stays, for the user to clear."""
        if self.state.link is Link.DISCONNECTED:
            return
        try:
            await self._end_motion()
            if self.state.moving:
                await self.release()
        finally:
            await self._close()
            self._publish(self.state.but(link=Link.DISCONNECTED, moving=False, speed_mm_s=0.0))
            self._hub.close()

    # -- state --------------------------------------------------------------------------------

    @property
    def coast(self) -> CoastModel | None:
        """What hold-and-watch moves have learned of how this desk coasts, if it moves so."""
        return self.strategy.coast if isinstance(self.strategy, HoldAndWatch) else None

    @property
    def state(self) -> DeskState:
        return self._hub.latest

    def subscribe(self) -> Subscription:
        """Follow every state change: ``with desk.subscribe() as states: async for s in states``."""
        return self._hub.subscribe()

    def _publish(self, state: DeskState) -> None:
        """Drivers call this with every observation of the desk."""
        if state.fault in LATCHING and self.latched is None:
            self.latched = state
        elif self.latched is not None and state.fault is None:
            state = state.but(fault=self.latched.fault, detail=self.latched.detail)
        if state.moving:
            self.duty.start(state.timestamp)
        else:
            self.duty.stop(state.timestamp)
        self._hub.publish(state)

    # -- motion -------------------------------------------------------------------------------

    async def move_to(self, height_mm: float) -> DeskState:
        """Drive to ``height_mm`` and return the state the desk stopped in.

        Cancelling the call stops the desk.  A later ``move_to``, ``hold`` or
        ``stop`` ends this move, which then raises :class:`Interrupted`.
        """
        self.limits.check(height_mm, self.unit)
        self._check_ready()
        if abs(self.state.height_mm - height_mm) <= self.strategy.tolerance_mm:
            return self.state
        self._check_duty(abs(height_mm - self.state.height_mm))
        final = await self._run_motion(lambda: self.strategy.run(self, height_mm))
        if final.fault is not None:
            raise self._fault_error(final)
        if abs(final.height_mm - height_mm) > self.strategy.tolerance_mm:
            raise MoveFailed(
                f"the desk stopped at {format_height(final.height_mm, self.unit)} instead of "
                f"{format_height(height_mm, self.unit)}; check for obstructions and try again"
            )
        return final

    async def move_to_roughly(self, height_mm: float) -> DeskState:
        """Like :meth:`move_to`, but ending short of the target is no error (for calibration)."""
        self.limits.check(height_mm, self.unit)
        self._check_ready()
        self._check_duty(abs(height_mm - self.state.height_mm))
        final = await self._run_motion(lambda: self.strategy.run(self, height_mm))
        if final.fault is not None:
            raise self._fault_error(final)
        return final

    async def stop(self) -> DeskState:
        """Stop at once; also re-arms a desk that stopped on a collision.

        Returns the state the desk came to rest in."""
        await self._halt()
        await self._end_motion()
        if self.latched is not None:
            self.latched = None
            self._publish(self.state.but(fault=None, detail=""))
        return await self.settled()

    async def settled(self, timeout: float = SETTLE_S) -> DeskState:  # noqa: ASYNC109
        """The state once the desk has come to rest (or after ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        with self.subscribe() as states:
            state = self.state
            deadline = loop.time() + timeout
            while state.moving and state.link is Link.CONNECTED:
                left = deadline - loop.time()
                following = await states.next(left) if left > 0 else None
                if following is None:
                    break
                state = following
            return state

    @contextlib.asynccontextmanager
    async def hold(self, direction: Direction) -> AsyncIterator[None]:
        """Move while the block runs; leaving it (or an error) stops the desk.

        The desk also stops at its limits and when the motor's duty cycle runs out.
        """
        self._check_ready()
        self._check_duty(0.0)
        await self._end_motion()

        async def keep_pressing() -> None:
            while self.duty.remaining(self.clock.now()) > 0:
                await self.press(direction)
                await self.clock.sleep(self.press_repeat_s)
            await self.release()

        self._motion = asyncio.create_task(keep_pressing())
        try:
            yield
        finally:
            await asyncio.shield(self._end_motion())
            await asyncio.shield(self.release())
        if self.state.fault is not None:
            # It hit something (or overheated) while held: that ends a hold as it ends a move.
            raise self._fault_error(self.state)

    async def _run_motion(self, work: Callable[[], Awaitable[DeskState]]) -> DeskState:
        await self._end_motion()

        async def guarded() -> DeskState:
            try:
                return await work()
            except BaseException:
                # Stop the desk; one that can no longer be reached is told nothing more.
                with contextlib.suppress(ConnectionLost):
                    await asyncio.shield(self._halt())
                raise

        task = asyncio.create_task(guarded())
        self._motion = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, DeskctlError):
                    await task
                raise
            error, self._motion_error = self._motion_error, None
            raise error or Interrupted(
                "the move was stopped before it reached its target"
            ) from None
        finally:
            if self._motion is task:
                self._motion = None

    def _fail_motion(self, error: DeskctlError) -> None:
        """End the motion in progress with ``error`` (drivers call this when the link drops).

        The move is not resumed later: whoever asked for it decides again.
        """
        if self._motion is not None and not self._motion.done():
            self._motion_error = error
            self._motion.cancel()

    async def _end_motion(self) -> None:
        task, self._motion = self._motion, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, DeskctlError):
                await task

    # -- presets ------------------------------------------------------------------------------

    async def presets(self) -> dict[int, float | None]:
        """Memory presets by slot number (1-based); None for an empty slot."""
        if self.capabilities.memory_presets == 0:
            raise Unsupported(f"{self.info.family} desks have no memory presets")
        return await self._read_presets()

    async def recall_preset(self, slot: int) -> DeskState:
        self._check_slot(slot)
        self._check_ready()
        return await self._recall_preset(slot)

    async def save_preset(self, slot: int) -> None:
        """Store the current height in memory preset ``slot``."""
        self._check_slot(slot)
        if not self.capabilities.can_save_presets:
            raise Unsupported(f"{self.info.family} desks cannot store memory presets from deskctl")
        await self._save_preset(slot)

    def _check_slot(self, slot: int) -> None:
        count = self.capabilities.memory_presets
        if count == 0:
            raise Unsupported(f"{self.info.family} desks have no memory presets")
        if not 1 <= slot <= count:
            raise Unsupported(f"this desk has memory presets 1 to {count}, not {slot}")

    # -- safety checks ------------------------------------------------------------------------

    def _check_ready(self) -> None:
        state = self.state
        if state.link is not Link.CONNECTED:
            raise ConnectionLost(f"the desk is {state.link.value}; nothing was sent")
        if self.latched is not None:
            raise self._fault_error(self.latched)
        if state.fault is not None:
            raise self._fault_error(state)

    def _check_duty(self, distance_mm: float) -> None:
        needed = distance_mm / self.capabilities.nominal_speed_mm_s
        if distance_mm:
            needed += _MOVE_OVERHEAD_S
        now = self.clock.now()
        if self.duty.remaining(now) <= needed:
            wait = self.duty.wait_for(now, needed + 1.0)
            raise Overheated(
                f"the motor has run {self.duty.on_time(now):.0f} s of its "
                f"{self.duty.on_s:.0f} s per {self.duty.window_s / 60:.0f} min; "
                f"let it rest {max(1, round(wait / 60))} min before this move"
            )

    def _fault_error(self, state: DeskState) -> DeskFault:
        at = format_height(state.height_mm, self.unit)
        if state.fault is Fault.COLLISION:
            return Collision(
                f"the desk hit something and stopped near {at}; clear the way, "
                "then run 'deskctl stop' to re-arm it"
            )
        if state.fault is Fault.OVERHEATED:
            return Overheated(
                "the motor is hot and the desk will not move until it has rested "
                "(about 18 minutes after 2 minutes of running)"
            )
        return DeskFault(state.detail or "the desk controller reported an error; see its display")
